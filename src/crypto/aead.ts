/**
 * ChaCha20-Poly1305 (RFC 8439) through native `node:crypto`: Tailscale's control
 * channel, and the reference the wasm AEAD (aead_wasm.ts, which WireGuard uses) is
 * tested and benchmarked against.
 *
 * Measured on this project's machines (1420-byte packets, one core, shared
 * with other work): a raw `Uint8Array` key with a reused nonce buffer and a
 * shared options object sealed about 160k packets/s (≈1.8 Gbit/s); a
 * `KeyObject` from `createSecretKey` was about 10 % slower and a fresh nonce
 * per packet about 12 % slower, so the key is kept as bytes. node:crypto
 * cannot write into a caller's buffer, so `sealInto`/`openInto` copy once.
 *
 * @module
 */
import { createCipheriv, createDecipheriv } from "node:crypto";
import { CHACHA_TAG_LENGTH, checkDst, checkKey } from "./_aead_checks.ts";
import { ChaChaPolyBase } from "./_aead_base.ts";

export { CHACHA_KEY_LENGTH, CHACHA_NONCE_LENGTH, CHACHA_TAG_LENGTH } from "./_aead_checks.ts";
export { beNonce, wgNonce } from "./nonce.ts";

const ALGORITHM = "chacha20-poly1305";
// Shared so each call does not allocate a fresh options object.
const OPTIONS = { authTagLength: CHACHA_TAG_LENGTH } as const;

/**
 * A ChaCha20-Poly1305 key ready to seal and open many messages.
 *
 * @example
 * ```ts
 * const aead = new ChaChaPoly(new Uint8Array(32));
 * const sealed = aead.seal(wgNonce(0), new TextEncoder().encode("hi"));
 * console.assert(new TextDecoder().decode(aead.open(wgNonce(0), sealed)!) === "hi");
 * ```
 */
export class ChaChaPoly extends ChaChaPolyBase {
  #key: Uint8Array;

  /** Wraps a 32-byte key; the bytes are copied so later changes to `key` do not leak in. */
  constructor(key: Uint8Array) {
    super();
    checkKey(key);
    this.#key = key.slice();
  }

  /** See {@link ChaChaPolyBase.sealInto}. */
  override sealInto(
    nonce: Uint8Array,
    plaintext: Uint8Array,
    dst: Uint8Array,
    dstOffset: number,
    ad?: Uint8Array,
  ): number {
    const total = plaintext.length + CHACHA_TAG_LENGTH;
    checkDst("seal", plaintext.length, total, dst, dstOffset);
    const cipher = createCipheriv(ALGORITHM, this.#key, nonce, OPTIONS);
    if (ad !== undefined && ad.length > 0) cipher.setAAD(ad, { plaintextLength: plaintext.length });
    const ct = cipher.update(plaintext);
    const tail = cipher.final();
    dst.set(ct, dstOffset);
    if (tail.length > 0) dst.set(tail, dstOffset + ct.length);
    dst.set(cipher.getAuthTag(), dstOffset + plaintext.length);
    return total;
  }

  /** See {@link ChaChaPolyBase.openInto}. */
  override openInto(
    nonce: Uint8Array,
    sealed: Uint8Array,
    dst: Uint8Array,
    dstOffset: number,
    ad?: Uint8Array,
  ): number {
    const ptLen = sealed.length - CHACHA_TAG_LENGTH;
    if (ptLen < 0) return -1;
    checkDst("open", ptLen, ptLen, dst, dstOffset);
    const decipher = createDecipheriv(ALGORITHM, this.#key, nonce, OPTIONS);
    decipher.setAuthTag(sealed.subarray(ptLen));
    if (ad !== undefined && ad.length > 0) decipher.setAAD(ad, { plaintextLength: ptLen });
    let pt: Uint8Array;
    try {
      pt = decipher.update(sealed.subarray(0, ptLen));
      decipher.final();
    } catch {
      return -1;
    }
    dst.set(pt, dstOffset);
    return ptLen;
  }
}
