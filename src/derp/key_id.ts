/**
 * Map keys for 32-byte node keys: a 32-character binary string, cheaper to make
 * and hash than hex on the per-packet path.
 *
 * @module
 */

/** Returns a string usable as a Map key for the given key bytes. */
export function keyId(key: Uint8Array): string {
  return String.fromCharCode.apply(null, key as unknown as number[]);
}

/** Recovers the key bytes from a {@link keyId}. */
export function keyFromId(id: string): Uint8Array {
  const out = new Uint8Array(id.length);
  for (let i = 0; i < id.length; i++) out[i] = id.charCodeAt(i);
  return out;
}

/** The short form of a key for logs (as node_key.ts `shortKey`), from its {@link keyId}. */
export function shortKeyOfId(id: string): string {
  return `[${btoa(id.slice(0, 4)).slice(0, 5)}]`;
}
