/**
 * Noise CipherState (Noise spec §5.1) for ChaChaPoly: a key and a nonce
 * counter, encoded as WireGuard and the spec do (4 zero bytes, then the
 * counter as u64 little-endian).
 *
 * @module
 */
import { WasmChaChaPoly } from "../crypto/aead_wasm.ts";
import { wgNonce } from "../crypto/nonce.ts";

/** The highest counter the spec allows; 2^64 − 1 is reserved, and JS numbers stop far earlier. */
const MAX_NONCE = Number.MAX_SAFE_INTEGER;

/**
 * A Noise cipher state: `key` may be unset, in which case encryption is the
 * identity (as in the first handshake tokens before any DH).
 *
 * @example
 * ```ts
 * const c = new CipherState(new Uint8Array(32));
 * const ct = c.encryptWithAd(new Uint8Array(0), new Uint8Array([1, 2]));
 * console.assert(ct.length === 18 && c.n === 1);
 * ```
 */
export class CipherState {
  // The wasm AEAD: node:crypto's would load node:crypto into every WireGuard node.
  #aead: WasmChaChaPoly | null = null;
  #key: Uint8Array | null = null;
  #nonce = new Uint8Array(12);
  /** Next nonce counter. */
  n = 0;

  /** Creates a cipher state, keyed when `key` is given. */
  constructor(key?: Uint8Array) {
    if (key !== undefined) this.initializeKey(key);
  }

  /** Sets a new key and resets the nonce to zero (Noise `InitializeKey`). */
  initializeKey(key: Uint8Array): void {
    this.#aead?.dispose();
    this.#aead = new WasmChaChaPoly(key);
    this.#key = key.slice();
    this.n = 0;
  }

  /** Returns an independent copy (same key and nonce). */
  clone(): CipherState {
    const c = new CipherState(this.#key ?? undefined);
    c.n = this.n;
    return c;
  }

  /** Whether a key is set (Noise `HasKey`). */
  hasKey(): boolean {
    return this.#aead !== null;
  }

  /** Encrypts with the current nonce and advances it; returns `pt` unchanged when unkeyed. */
  encryptWithAd(ad: Uint8Array, pt: Uint8Array): Uint8Array {
    if (this.#aead === null) return pt;
    const ct = this.#aead.seal(this.#nextNonce(), pt, ad);
    this.n++;
    return ct;
  }

  /**
   * Decrypts with the current nonce and advances it only on success; returns
   * `ct` unchanged when unkeyed. Throws Error when authentication fails.
   */
  decryptWithAd(ad: Uint8Array, ct: Uint8Array): Uint8Array {
    if (this.#aead === null) return ct;
    const pt = this.#aead.open(this.#nextNonce(), ct, ad);
    if (pt === null) {
      throw new Error(`Noise decrypt failed: ${ct.length}-byte ciphertext did not authenticate`);
    }
    this.n++;
    return pt;
  }

  #nextNonce(): Uint8Array {
    if (this.n >= MAX_NONCE) throw new RangeError(`Noise nonce ${this.n} is exhausted`);
    return wgNonce(this.n, this.#nonce);
  }
}
