/**
 * Key types and their text forms (protocol doc §1): `nodekey:`, `mkey:`,
 * `discokey:` public keys, `privkey:` private keys, and the log-only short form.
 *
 * Keys are raw 32-byte X25519 values held in a Uint8Array. The text form is the
 * prefix followed by exactly 64 hex characters; encoders emit lowercase, the
 * parser accepts either case.
 *
 * @module
 */

import { x25519Wasm } from "../crypto/x25519_wasm.ts";
import { fromHex, toHex } from "../bytes/hex.ts";

/** Length in bytes of every long-term key. */
export const KEY_LEN = 32;

/** Text prefix of a node (WireGuard/DERP) public key. */
export const NODE_PUBLIC_PREFIX = "nodekey:";
/** Text prefix of a machine public key. */
export const MACHINE_PUBLIC_PREFIX = "mkey:";
/** Text prefix of a disco public key. */
export const DISCO_PUBLIC_PREFIX = "discokey:";
/** Text prefix of any private key (node or machine). */
export const PRIVATE_PREFIX = "privkey:";

/** The kinds of key text form this module reads and writes. */
export type KeyKind = "node" | "machine" | "disco" | "private";

const PREFIXES: Record<KeyKind, string> = {
  node: NODE_PUBLIC_PREFIX,
  machine: MACHINE_PUBLIC_PREFIX,
  disco: DISCO_PUBLIC_PREFIX,
  private: PRIVATE_PREFIX,
};

/**
 * Formats a 32-byte key in its text form for the given kind.
 *
 * @example
 * ```ts
 * formatKey("node", new Uint8Array(32)); // "nodekey:0000…"
 * ```
 * @throws {RangeError} if the key is not 32 bytes
 */
export function formatKey(kind: KeyKind, key: Uint8Array): string {
  checkLen(key);
  return PREFIXES[kind] + toHex(key);
}

/**
 * Parses a key text form of the given kind (prefix + 64 hex characters).
 *
 * @throws {SyntaxError} if the prefix or hex is wrong
 */
export function parseKey(kind: KeyKind, text: string): Uint8Array {
  const prefix = PREFIXES[kind];
  if (!text.startsWith(prefix)) {
    throw new SyntaxError(`Cannot parse ${kind} key "${text.slice(0, 80)}": want prefix ${prefix}`);
  }
  return fromHex(text.slice(prefix.length), KEY_LEN);
}

/** Formats a node public key as `nodekey:<hex>`. */
export function formatNodePublic(key: Uint8Array): string {
  return formatKey("node", key);
}

/** Parses `nodekey:<hex>`. */
export function parseNodePublic(text: string): Uint8Array {
  return parseKey("node", text);
}

/** Formats a machine public key as `mkey:<hex>`. */
export function formatMachinePublic(key: Uint8Array): string {
  return formatKey("machine", key);
}

/** Parses `mkey:<hex>`. */
export function parseMachinePublic(text: string): Uint8Array {
  return parseKey("machine", text);
}

/** Formats a disco public key as `discokey:<hex>`. */
export function formatDiscoPublic(key: Uint8Array): string {
  return formatKey("disco", key);
}

/** Parses `discokey:<hex>`. */
export function parseDiscoPublic(text: string): Uint8Array {
  return parseKey("disco", text);
}

/** Formats a private key as `privkey:<hex>`. */
export function formatPrivate(key: Uint8Array): string {
  return formatKey("private", key);
}

/** Parses `privkey:<hex>`. */
export function parsePrivate(text: string): Uint8Array {
  return parseKey("private", text);
}

/**
 * Parses a node public key given either as `nodekey:<hex>` or as bare hex
 * (derper's `Derp-Public-Key` header carries the bare form, Headscale the prefixed one).
 */
export function parseNodePublicLoose(text: string): Uint8Array {
  const t = text.trim();
  return t.startsWith(NODE_PUBLIC_PREFIX) ? parseNodePublic(t) : fromHex(t, KEY_LEN);
}

/**
 * Clamps a 32-byte X25519 private key in place per RFC 7748 and returns it.
 * Node and disco keys are clamped because they are also used in NaCl boxes.
 */
export function clamp(priv: Uint8Array): Uint8Array {
  checkLen(priv);
  priv[0] &= 248;
  priv[31] = (priv[31] & 127) | 64;
  return priv;
}

// X25519's base point u = 9. The wasm X25519 replaced @noble/curves here, whose loading (npm's
// module machinery and the whole curve library, for one public key per start) cost every
// process RSS (`deno task bench:memory`).
const BASE_POINT = Uint8Array.of(9, ...new Uint8Array(31));

/** Generates a fresh clamped node (or disco) private key. */
export function generateNodePrivate(): Uint8Array {
  return clamp(crypto.getRandomValues(new Uint8Array(KEY_LEN)));
}

/** Derives the X25519 public key of a private key. */
export function publicFromPrivate(priv: Uint8Array): Uint8Array {
  checkLen(priv);
  return x25519Wasm(priv, BASE_POINT);
}

/**
 * The log-only short form `[abcde]`: the first five base64 characters of the key.
 * Never put it on the wire.
 */
export function shortKey(key: Uint8Array): string {
  return `[${btoa(String.fromCharCode(...key.subarray(0, 4))).slice(0, 5)}]`;
}

/** Reports whether a key is all zero bytes. */
export function isZeroKey(key: Uint8Array): boolean {
  let d = 0;
  for (const b of key) d |= b;
  return d === 0;
}

function checkLen(key: Uint8Array): void {
  if (key.length !== KEY_LEN) {
    throw new RangeError(`Key must be ${KEY_LEN} bytes, got ${key.length}`);
  }
}
