/**
 * Noise SymmetricState (Noise spec §5.2) with BLAKE2s and ChaChaPoly: the
 * chaining key `ck`, the transcript hash `h` and the current cipher key.
 *
 * @module
 */
import { blake2s } from "../crypto/blake2s.ts";
import { noiseKdf } from "../crypto/noise_kdf.ts";
import { CipherState } from "./cipher_state.ts";

const HASH_LEN = 32;
const EMPTY = new Uint8Array(0);

/**
 * Hash/key schedule shared by both sides of a Noise handshake.
 *
 * @example
 * ```ts
 * const ss = new SymmetricState("Noise_IK_25519_ChaChaPoly_BLAKE2s");
 * ss.mixHash(new TextEncoder().encode("prologue"));
 * ss.mixKey(new Uint8Array(32));
 * const ct = ss.encryptAndHash(new Uint8Array(0));
 * console.assert(ct.length === 16);
 * ```
 */
export class SymmetricState {
  /** Chaining key. */
  ck: Uint8Array;
  /** Handshake transcript hash. */
  h: Uint8Array;
  #cipher = new CipherState();

  /**
   * Starts from a protocol name: names of at most 32 bytes are zero-padded,
   * longer ones hashed (WireGuard's 37-byte construction is hashed).
   */
  constructor(protocolName: string) {
    const name = new TextEncoder().encode(protocolName);
    if (name.length <= HASH_LEN) {
      this.h = new Uint8Array(HASH_LEN);
      this.h.set(name);
    } else {
      this.h = blake2s(name);
    }
    this.ck = this.h.slice();
  }

  /** Returns an independent copy, so a caller can try a message without spoiling this state. */
  clone(): SymmetricState {
    const c = new SymmetricState("");
    c.ck = this.ck.slice();
    c.h = this.h.slice();
    c.#cipher = this.#cipher.clone();
    return c;
  }

  /** h = HASH(h ‖ data). */
  mixHash(data: Uint8Array): void {
    const buf = new Uint8Array(this.h.length + data.length);
    buf.set(this.h);
    buf.set(data, this.h.length);
    this.h = blake2s(buf);
  }

  /** (ck, k) = HKDF(ck, ikm, 2); the cipher is rekeyed with nonce 0. */
  mixKey(ikm: Uint8Array): void {
    const [ck, k] = noiseKdf(this.ck, ikm, 2);
    this.ck = ck;
    this.#cipher.initializeKey(k);
  }

  /** (ck, t, k) = HKDF(ck, psk, 3); MixHash(t); the cipher is rekeyed (the psk token). */
  mixKeyAndHash(psk: Uint8Array): void {
    const [ck, t, k] = noiseKdf(this.ck, psk, 3);
    this.ck = ck;
    this.mixHash(t);
    this.#cipher.initializeKey(k);
  }

  /** Whether a cipher key has been mixed in yet. */
  hasKey(): boolean {
    return this.#cipher.hasKey();
  }

  /** Encrypts with h as associated data (plaintext passes through before any key), then mixes the result into h. */
  encryptAndHash(pt: Uint8Array): Uint8Array {
    const ct = this.#cipher.encryptWithAd(this.h, pt);
    this.mixHash(ct);
    return ct;
  }

  /** Decrypts with h as associated data, then mixes the ciphertext into h; throws Error on auth failure. */
  decryptAndHash(ct: Uint8Array): Uint8Array {
    const pt = this.#cipher.decryptWithAd(this.h, ct);
    this.mixHash(ct);
    return pt;
  }

  /** Returns the two transport keys (initiator→responder, responder→initiator). */
  split(): [Uint8Array, Uint8Array] {
    const [k1, k2] = noiseKdf(this.ck, EMPTY, 2);
    return [k1, k2];
  }
}
