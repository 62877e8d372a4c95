/**
 * HKDF (RFC 5869) over SHA-256 or HMAC-BLAKE2s. SHA-256 goes through `node:crypto`, which
 * no node process loads for this: the Noise/WireGuard KDF is in noise_kdf.ts (re-exported
 * here), on warren's own HMAC-BLAKE2s.
 *
 * @module
 */
import { createHmac } from "node:crypto";
import { hmacBlake2s } from "./blake2s.ts";

export { noiseKdf } from "./noise_kdf.ts";

/** Hash functions that `hkdf` accepts. */
export type HkdfHash = "sha256" | "blake2s";

/** HMAC output length for both supported hashes. */
const HASH_LENGTH = 32;
const ZERO = new Uint8Array(0);

function hmac(hash: HkdfHash, key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  if (hash === "blake2s") return hmacBlake2s(key, ...parts);
  const mac = createHmac("sha256", key);
  for (const part of parts) mac.update(part);
  return new Uint8Array(mac.digest());
}

/**
 * Derives `length` bytes with RFC 5869 HKDF (extract then expand).
 *
 * An empty salt means HashLen zero bytes, as RFC 5869 §2.2 says (HMAC pads
 * either to the same block, so passing it empty is equivalent).
 *
 * @example
 * ```ts
 * const okm = hkdf("sha256", new Uint8Array(0), new Uint8Array(22).fill(0x0b), new Uint8Array(0), 42);
 * console.assert(okm.length === 42);
 * ```
 */
export function hkdf(
  hash: HkdfHash,
  salt: Uint8Array,
  ikm: Uint8Array,
  info: Uint8Array,
  length: number,
): Uint8Array {
  if (hash !== "sha256" && hash !== "blake2s") {
    throw new TypeError(`Cannot run HKDF: unsupported hash ${JSON.stringify(hash)}`);
  }
  if (!Number.isInteger(length) || length < 0 || length > 255 * HASH_LENGTH) {
    throw new RangeError(
      `Cannot run HKDF: output length ${length} is not in 0..${255 * HASH_LENGTH}`,
    );
  }
  const prk = hmac(hash, salt.length === 0 ? new Uint8Array(HASH_LENGTH) : salt, ikm);
  const out = new Uint8Array(length);
  let t: Uint8Array = ZERO;
  const counter = new Uint8Array(1);
  for (let off = 0, i = 1; off < length; i++) {
    counter[0] = i;
    t = hmac(hash, prk, t, info, counter);
    out.set(t.subarray(0, Math.min(HASH_LENGTH, length - off)), off);
    off += HASH_LENGTH;
  }
  return out;
}
