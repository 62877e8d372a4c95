/**
 * BLAKE2s (RFC 7693) and HMAC-BLAKE2s, the hash and MAC of WireGuard's Noise
 * construction, mac1/mac2 and cookies.
 *
 * The unkeyed 32-byte digest and the HMAC go through native `node:crypto`;
 * keyed and shortened digests (which node does not expose) use `@noble/hashes`.
 * Results are plain `Uint8Array` copies (not pooled node Buffers) so callers
 * can compare them and use `.buffer` safely; 32-byte copies cost nothing.
 *
 * @module
 */
import { createHash, createHmac } from "node:crypto";
import { blake2s as nobleBlake2s } from "@noble/hashes/blake2.js";

/**
 * Hashes `data` with BLAKE2s, optionally keyed (BLAKE2s MAC mode, not HMAC) and
 * with a digest of 1–32 bytes. WireGuard uses keyed 16-byte digests for
 * mac1/mac2 and the 32-byte unkeyed digest everywhere else.
 *
 * @example
 * ```ts
 * const d = blake2s(new TextEncoder().encode("abc"));
 * console.assert(d[0] === 0x50 && d.length === 32);
 * ```
 */
export function blake2s(data: Uint8Array, outLen = 32, key?: Uint8Array): Uint8Array {
  if (!Number.isInteger(outLen) || outLen < 1 || outLen > 32) {
    throw new RangeError(`Cannot compute BLAKE2s: output length ${outLen} is not in 1..32`);
  }
  if (key !== undefined && (key.length < 1 || key.length > 32)) {
    throw new RangeError(`Cannot compute BLAKE2s: key length ${key.length} is not in 1..32`);
  }
  if (outLen === 32 && (key === undefined || key.length === 0)) {
    return new Uint8Array(createHash("blake2s256").update(data).digest());
  }
  return nobleBlake2s(data, { dkLen: outLen, key });
}

/**
 * Computes HMAC-BLAKE2s (RFC 2104 over BLAKE2s-256) of the concatenation of
 * `parts`, the PRF under Noise's HKDF.
 *
 * @example
 * ```ts
 * const mac = hmacBlake2s(new Uint8Array(32), new Uint8Array([1]));
 * console.assert(mac.length === 32);
 * ```
 */
export function hmacBlake2s(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const mac = createHmac("blake2s256", key);
  for (const part of parts) mac.update(part);
  return new Uint8Array(mac.digest());
}
