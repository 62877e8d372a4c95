/**
 * The controlbase record layer (protocol doc §2.4 "Transport records"): one
 * direction's ChaCha20-Poly1305 key with a big-endian nonce counter, sealing
 * plaintext into ≤4096-byte record frames and opening them. Pure, no I/O.
 *
 * @module
 */
// The wasm AEAD the data plane already holds: node:crypto's would load node:crypto into every
// tailnet node for these few records a minute (~0.8 MB of its own memory on an idle Deno).
import { WasmChaChaPoly } from "../../crypto/aead_wasm.ts";
import { beNonce } from "../../crypto/nonce.ts";
import { HEADER_LEN, MAX_PLAINTEXT_SIZE, MSG_TYPE_RECORD, TAG_LEN } from "./constants.ts";

// Counters stop at 2^53 here (JS safe integers), far before the spec's 2^64 − 1.
const MAX_COUNTER = Number.MAX_SAFE_INTEGER;

/**
 * Seals outgoing records. A write of any size becomes one or more record
 * frames of at most 4077 plaintext bytes each.
 *
 * @example
 * ```ts
 * const s = new RecordSealer(new Uint8Array(32));
 * s.seal(new Uint8Array(5000)).length; // 2 frames: 3+4077+16 + 3+923+16 = 5038
 * ```
 */
export class RecordSealer {
  #aead: WasmChaChaPoly;
  #nonce = new Uint8Array(12);
  #counter = 0;

  /** Wraps a 32-byte transport key. */
  constructor(key: Uint8Array) {
    this.#aead = new WasmChaChaPoly(key);
  }

  /** Records sealed so far (the next nonce). */
  get counter(): number {
    return this.#counter;
  }

  /** Seals `plaintext` into concatenated record frames (empty input → no frames). */
  seal(plaintext: Uint8Array): Uint8Array {
    const records = Math.ceil(plaintext.length / MAX_PLAINTEXT_SIZE);
    const out = new Uint8Array(plaintext.length + records * (HEADER_LEN + TAG_LEN));
    let off = 0;
    for (let i = 0; i < plaintext.length; i += MAX_PLAINTEXT_SIZE) {
      const chunk = plaintext.subarray(i, i + MAX_PLAINTEXT_SIZE);
      if (this.#counter >= MAX_COUNTER) {
        throw new RangeError("controlbase: send nonce exhausted; reconnect");
      }
      const len = chunk.length + TAG_LEN;
      out[off] = MSG_TYPE_RECORD;
      out[off + 1] = len >>> 8;
      out[off + 2] = len & 0xff;
      this.#aead.sealInto(beNonce(this.#counter++, this.#nonce), chunk, out, off + HEADER_LEN);
      off += HEADER_LEN + len;
    }
    return out;
  }
}

/** Opens incoming record payloads in order; any failure means the connection is dead. */
export class RecordOpener {
  #aead: WasmChaChaPoly;
  #nonce = new Uint8Array(12);
  #counter = 0;

  /** Wraps a 32-byte transport key. */
  constructor(key: Uint8Array) {
    this.#aead = new WasmChaChaPoly(key);
  }

  /** Records opened so far (the next nonce). */
  get counter(): number {
    return this.#counter;
  }

  /**
   * Decrypts one record payload (ciphertext ‖ tag).
   *
   * @throws {Error} if it does not authenticate (the caller must drop the connection)
   */
  open(payload: Uint8Array): Uint8Array {
    if (this.#counter >= MAX_COUNTER) {
      throw new RangeError("controlbase: receive nonce exhausted; reconnect");
    }
    const pt = this.#aead.open(beNonce(this.#counter, this.#nonce), payload);
    if (pt === null) {
      throw new Error(
        `controlbase: record ${this.#counter} (${payload.length} bytes) did not authenticate`,
      );
    }
    this.#counter++;
    return pt;
  }
}
