/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha) for WireGuard cookie replies,
 * whose 24-byte random nonce needs the extended construction. Rare, so the
 * pure-JS `@noble/ciphers` implementation is fast enough.
 *
 * @module
 */
import { xchacha20poly1305 } from "@noble/ciphers/chacha.js";

/**
 * Encrypts `pt` under a 32-byte key and 24-byte nonce; returns ciphertext ‖ 16-byte tag.
 *
 * @example
 * ```ts
 * const ct = xseal(new Uint8Array(32), new Uint8Array(24), new Uint8Array(16), new Uint8Array(16));
 * console.assert(ct.length === 32);
 * ```
 */
export function xseal(
  key: Uint8Array,
  nonce24: Uint8Array,
  pt: Uint8Array,
  ad?: Uint8Array,
): Uint8Array {
  checkSizes(key, nonce24);
  return xchacha20poly1305(key, nonce24, ad).encrypt(pt);
}

/**
 * Decrypts ciphertext ‖ tag; returns null when authentication fails or `ct` is
 * shorter than a tag.
 *
 * @example
 * ```ts
 * const key = new Uint8Array(32), n = new Uint8Array(24);
 * console.assert(xopen(key, n, xseal(key, n, new Uint8Array(3)))!.length === 3);
 * ```
 */
export function xopen(
  key: Uint8Array,
  nonce24: Uint8Array,
  ct: Uint8Array,
  ad?: Uint8Array,
): Uint8Array | null {
  checkSizes(key, nonce24);
  if (ct.length < 16) return null;
  try {
    return xchacha20poly1305(key, nonce24, ad).decrypt(ct);
  } catch {
    return null;
  }
}

function checkSizes(key: Uint8Array, nonce: Uint8Array): void {
  if (key.length !== 32) {
    throw new RangeError(`Cannot use XChaCha20-Poly1305 key: expected 32 bytes, got ${key.length}`);
  }
  if (nonce.length !== 24) {
    throw new RangeError(
      `Cannot use XChaCha20-Poly1305 nonce: expected 24 bytes, got ${nonce.length}`,
    );
  }
}
