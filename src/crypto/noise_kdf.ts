/**
 * The Noise HKDF (WireGuard's KDF_n) on warren's own HMAC-BLAKE2s, with no `node:crypto`
 * in its module graph (see blake2s.ts for why).
 *
 * @module
 */
import { hmacBlake2s } from "./blake2s.ts";

/**
 * The Noise HKDF (Noise spec §4.3, WireGuard's KDF_n): HMAC-BLAKE2s keyed by
 * the chaining key, returning `n` 32-byte outputs.
 *
 * @example
 * ```ts
 * const [ck, k] = noiseKdf(new Uint8Array(32), new Uint8Array(32), 2);
 * console.assert(ck.length === 32 && k.length === 32);
 * ```
 */
export function noiseKdf(chainingKey: Uint8Array, input: Uint8Array, n: 1 | 2 | 3): Uint8Array[] {
  if (n !== 1 && n !== 2 && n !== 3) {
    throw new RangeError(`Cannot run the Noise KDF: output count ${n} is not 1, 2 or 3`);
  }
  const prk = hmacBlake2s(chainingKey, input);
  const one = new Uint8Array([1]);
  const out1 = hmacBlake2s(prk, one);
  if (n === 1) return [out1];
  const out2 = hmacBlake2s(prk, out1, new Uint8Array([2]));
  if (n === 2) return [out1, out2];
  return [out1, out2, hmacBlake2s(prk, out2, new Uint8Array([3]))];
}
