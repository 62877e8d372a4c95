/**
 * Reading the fields of a client's JSON request (register or map request):
 * keys in their canonical text form, Go times, and objects.
 *
 * @module
 */

import { formatKey, isZeroKey, type KeyKind, parseKey } from "../../src/key/node_key.ts";
import type { Json } from "./types.ts";

/** Parses a key text of a kind and returns its canonical form; "" for a zero key. */
export function canonicalKey(kind: KeyKind, v: unknown): string {
  if (typeof v !== "string") throw new TypeError(`want a ${kind} key string, got ${typeof v}`);
  const k = parseKey(kind, v);
  return isZeroKey(k) ? "" : formatKey(kind, k);
}

/** A Go time string as a Date; undefined for Go's zero time, "" or anything unparsable. */
export function parseTime(v: unknown): Date | undefined {
  if (typeof v !== "string" || v === "" || v.startsWith("0001-01-01")) return undefined;
  const t = Date.parse(v);
  return Number.isNaN(t) ? undefined : new Date(t);
}

/** Whether v is a JSON object (not null, not an array). */
export function isObject(v: unknown): v is Json {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}
