/**
 * What both ChaCha20-Poly1305 implementations (native `aead.ts`, wasm
 * `aead_wasm.ts`) share above their primitives: the allocating `seal`/`open`
 * in terms of `sealInto`/`openInto`, so the two cannot drift apart.
 *
 * @module
 */
import { CHACHA_TAG_LENGTH } from "./_aead_checks.ts";

/** A ChaCha20-Poly1305 key ready to seal and open many messages. */
export abstract class ChaChaPolyBase {
  /**
   * Encrypts `plaintext` into `dst` at `dstOffset` (ciphertext then tag) and
   * returns the number of bytes written, `plaintext.length + 16`. `dst` may be
   * the buffer `plaintext` views, at the same offset, for in-place encryption.
   */
  abstract sealInto(
    nonce: Uint8Array,
    plaintext: Uint8Array,
    dst: Uint8Array,
    dstOffset: number,
    ad?: Uint8Array,
  ): number;

  /**
   * Decrypts `sealed` into `dst` at `dstOffset` and returns the plaintext
   * length, or -1 if it is shorter than a tag or fails authentication (then
   * `dst` is untouched). `dst` may overlap `sealed` at the same offset.
   */
  abstract openInto(
    nonce: Uint8Array,
    sealed: Uint8Array,
    dst: Uint8Array,
    dstOffset: number,
    ad?: Uint8Array,
  ): number;

  /** Encrypts `plaintext` and returns ciphertext followed by the 16-byte tag. */
  seal(nonce: Uint8Array, plaintext: Uint8Array, ad?: Uint8Array): Uint8Array {
    const out = new Uint8Array(plaintext.length + CHACHA_TAG_LENGTH);
    this.sealInto(nonce, plaintext, out, 0, ad);
    return out;
  }

  /** Decrypts `sealed` (ciphertext ‖ tag); returns null if it is too short or fails authentication. */
  open(nonce: Uint8Array, sealed: Uint8Array, ad?: Uint8Array): Uint8Array | null {
    if (sealed.length < CHACHA_TAG_LENGTH) return null;
    const out = new Uint8Array(sealed.length - CHACHA_TAG_LENGTH);
    return this.openInto(nonce, sealed, out, 0, ad) < 0 ? null : out;
  }
}
