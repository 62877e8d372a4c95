/**
 * XChaCha20-Poly1305 (draft-irtf-cfrg-xchacha) for WireGuard cookie replies,
 * whose 24-byte random nonce needs the extended construction: HChaCha20 of
 * the key and the nonce's first 16 bytes (here, in TypeScript: rare, and 20
 * rounds over 16 words) gives a subkey for the wasm ChaCha20-Poly1305 under
 * 4 zero bytes ‖ the nonce's last 8. It replaced `@noble/ciphers`, whose
 * loading cost every process RSS (`deno task bench:memory`).
 *
 * @module
 */
import { WasmChaChaPoly } from "./aead_wasm.ts";

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
  using aead = new WasmChaChaPoly(hchacha20(key, nonce24));
  return aead.seal(innerNonce(nonce24), pt, ad);
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
  using aead = new WasmChaChaPoly(hchacha20(key, nonce24));
  return aead.open(innerNonce(nonce24), ct, ad);
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

/** The ChaCha20-Poly1305 nonce of XChaCha20: 4 zero bytes, then nonce24[16, 24). */
function innerNonce(nonce24: Uint8Array): Uint8Array {
  const n = new Uint8Array(12);
  n.set(nonce24.subarray(16, 24), 4);
  return n;
}

/**
 * HChaCha20 (draft-irtf-cfrg-xchacha §2.2) of a 32-byte key and nonce24[0, 16):
 * the ChaCha20 block function without the final addition, words 0–3 and 12–15.
 */
export function hchacha20(key: Uint8Array, nonce24: Uint8Array): Uint8Array {
  const le = (b: Uint8Array, i: number) =>
    (b[i] | b[i + 1] << 8 | b[i + 2] << 16 | b[i + 3] << 24) >>> 0;
  const x = new Uint32Array(16);
  x.set([0x61707865, 0x3320646e, 0x79622d32, 0x6b206574]);
  for (let i = 0; i < 8; i++) x[4 + i] = le(key, 4 * i);
  for (let i = 0; i < 4; i++) x[12 + i] = le(nonce24, 4 * i);
  const q = (a: number, b: number, c: number, d: number) => {
    x[a] += x[b];
    x[d] = rotl(x[d] ^ x[a], 16);
    x[c] += x[d];
    x[b] = rotl(x[b] ^ x[c], 12);
    x[a] += x[b];
    x[d] = rotl(x[d] ^ x[a], 8);
    x[c] += x[d];
    x[b] = rotl(x[b] ^ x[c], 7);
  };
  for (let r = 0; r < 10; r++) {
    q(0, 4, 8, 12);
    q(1, 5, 9, 13);
    q(2, 6, 10, 14);
    q(3, 7, 11, 15);
    q(0, 5, 10, 15);
    q(1, 6, 11, 12);
    q(2, 7, 8, 13);
    q(3, 4, 9, 14);
  }
  const out = new Uint8Array(32);
  const dv = new DataView(out.buffer);
  for (let i = 0; i < 4; i++) {
    dv.setUint32(4 * i, x[i], true);
    dv.setUint32(16 + 4 * i, x[12 + i], true);
  }
  return out;
}

function rotl(v: number, n: number): number {
  return (v << n) | (v >>> (32 - n));
}
