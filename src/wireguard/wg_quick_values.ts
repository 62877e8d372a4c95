/**
 * Value parsers for wg-quick config keys (lists, tables, marks, bounded integers, DNS), each
 * throwing a SyntaxError or RangeError whose message names the key and the value.
 *
 * @module
 */

import type { WgTable } from "./wg_quick.ts";
import { parseIp } from "../net/ip.ts";

/** Table ids and firewall marks are u32 (table 0 means "unspecified" to the kernel). */
const MAX_U32 = 0xffffffff;
/** Table id of "main", the only table name warren accepts besides numbers. */
const RT_TABLE_MAIN = 254;

/** A value quoted for a message. */
export function q(s: string): string {
  return JSON.stringify(s);
}

/** Splits a comma list, refusing empty entries. */
export function listItems(value: string, key: string): string[] {
  if (value === "") return [];
  const items = value.split(",").map((s) => s.trim());
  if (items.some((s) => s === "")) {
    throw new SyntaxError(`Cannot parse ${key} ${q(value)}: empty entry in the list`);
  }
  return items;
}

/** Runs a net/ip parser and names the config key in its message instead of "prefix"/"endpoint". */
export function renamed<T>(parse: () => T, key: string): T {
  try {
    return parse();
  } catch (e) {
    if (e instanceof Error) {
      e.message = e.message.replace(/^Cannot parse (prefix|endpoint) /, `Cannot parse ${key} `);
    }
    throw e;
  }
}

/**
 * `auto`, `off`, `main` or a table id, as wg-quick passes it on to `ip route … table`; empty
 * is `auto`, as in wg-quick.
 */
export function parseTable(value: string): WgTable {
  const lower = value.toLowerCase();
  if (lower === "auto" || lower === "") return "auto";
  if (lower === "off") return "off";
  if (lower === "main") return RT_TABLE_MAIN;
  const want = `want "auto", "off", "main" or a table number 1-${MAX_U32}`;
  if (!/^[0-9]{1,10}$/.test(value)) {
    throw new SyntaxError(`Cannot parse Table ${q(value)}: ${want}`);
  }
  const v = Number(value);
  if (v < 1 || v > MAX_U32) {
    throw new RangeError(`Cannot parse Table ${q(value)}: out of range 1-${MAX_U32}`);
  }
  return v;
}

/** `off`, or a 32-bit mark in decimal or `0x` hex, as wg(8) reads FwMark; 0 is off. */
export function parseFwMark(value: string): number {
  if (value.toLowerCase() === "off") return 0;
  let v = NaN;
  if (/^0x[0-9a-f]+$/i.test(value)) v = parseInt(value.slice(2), 16);
  else if (/^[0-9]+$/.test(value)) v = Number(value);
  if (Number.isNaN(v)) {
    throw new SyntaxError(
      `Cannot parse FwMark ${q(value)}: want "off", a number 0-${MAX_U32} or 0x and hex digits`,
    );
  }
  if (v > MAX_U32) {
    throw new RangeError(`Cannot parse FwMark ${q(value)}: out of range 0-${MAX_U32}`);
  }
  return v;
}

/** A whole number in [min, max]; hints add an alternative and a reason to the messages. */
export function parseIntIn(
  value: string,
  key: string,
  min: number,
  max: number,
  hints: { alt?: string; why?: string } = {},
): number {
  if (!/^[0-9]{1,6}$/.test(value)) {
    throw new SyntaxError(
      `Cannot parse ${key} ${q(value)}: want ${hints.alt ?? ""}a number ${min}-${max}`,
    );
  }
  const v = Number(value);
  if (v < min || v > max) {
    throw new RangeError(
      `Cannot parse ${key} ${q(value)}: out of range ${min}-${max}${hints.why ?? ""}`,
    );
  }
  return v;
}

/** wg-quick's `DNS`: name servers (IP addresses) and search domains (anything else). */
export interface WgDns {
  /** Name server addresses, in order. */
  servers: string[];
  /** Search domains, in order. */
  search: string[];
}

/** Adds one `DNS` line's entries to dns: IP literals are servers, host names search domains. */
export function parseDnsInto(value: string, dns: WgDns): void {
  for (const item of listItems(value, "DNS")) {
    let isIp = false;
    try {
      parseIp(item);
      isIp = true;
    } catch {
      // not an address: a search domain
    }
    if (isIp) dns.servers.push(item);
    else if (
      /^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?(\.[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?)*\.?$/
        .test(item)
    ) {
      dns.search.push(item.replace(/\.$/, ""));
    } else {
      throw new SyntaxError(`Cannot parse DNS ${q(item)}: want an IP address or a domain name`);
    }
  }
}
