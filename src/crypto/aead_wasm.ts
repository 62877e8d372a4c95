/**
 * ChaCha20-Poly1305 (RFC 8439) in WebAssembly (SIMD128), for the data plane.
 *
 * Same API as `ChaChaPoly` in aead.ts, plus WireGuard-shaped in-place entry
 * points (`sealInPlace` / `openInPlace`) that take the 64-bit counter instead
 * of a nonce. When the buffer views the wasm memory (a packet buffer from
 * `allocPacketBuffer` in wasm/arena.ts) they run with no copy and no allocation; other buffers go through a scratch
 * area (one copy in, one out). node:crypto, by contrast, creates a cipher
 * object and fresh Buffers per packet, which dominated the per-packet cost.
 *
 * Keys live in 32-byte slots in wasm memory, zeroed on `dispose()` (or when
 * the object is garbage-collected). If all 4095 slots are taken a key falls
 * back to one shared slot it refreshes on each call. Messages larger than the
 * 128 KiB scratch area, or associated data over 16 KiB, that are not in wasm
 * memory go through a temporary packet-arena buffer (a power of two, so the
 * arena reuses it); no `node:crypto`, whose loading cost every node ~3 MB.
 *
 * @module
 */
import { ChaChaPolyBase } from "./_aead_base.ts";
import { wgNonce } from "./nonce.ts";
import { allocPacketBuffer, freePacketBuffer } from "./wasm/arena.ts";
import {
  badCounter,
  CHACHA_NONCE_LENGTH,
  CHACHA_TAG_LENGTH,
  checkDst,
  checkKey,
} from "./_aead_checks.ts";
import { type CryptoWasm, cryptoWasm } from "./wasm/instance.ts";

const TAG = CHACHA_TAG_LENGTH;
const TWO_32 = 0x1_0000_0000;
const DISPOSED = -1;
const SHARED = -2;

// Key slot bookkeeping; slot 0 is the shared fallback and never handed out.
const freeSlots: number[] = [];
let nextSlot = 1;

function takeSlot(w: CryptoWasm): number {
  const s = freeSlots.pop();
  if (s !== undefined) return s;
  return nextSlot < w.keySlotCount ? nextSlot++ : 0;
}

function releaseSlot(slot: number): void {
  const w = cryptoWasm();
  w.bytes.fill(0, w.keySlots + 32 * slot, w.keySlots + 32 * slot + 32);
  freeSlots.push(slot);
}

// Frees the slot of a key object that was dropped without dispose().
const finalizer = new FinalizationRegistry<number>(releaseSlot);

function nonceWord(n: Uint8Array, i: number): number {
  return n[i] | (n[i + 1] << 8) | (n[i + 2] << 16) | (n[i + 3] << 24);
}

function checkNonce(what: string, nonce: Uint8Array): void {
  if (nonce.length !== CHACHA_NONCE_LENGTH) {
    throw new RangeError(`Cannot ${what}: expected a 12-byte nonce, got ${nonce.length} bytes`);
  }
}

function overlaps(a: number, aLen: number, b: number, bLen: number): boolean {
  return a < b + bLen && b < a + aLen;
}

/**
 * A ChaCha20-Poly1305 key held in wasm memory, ready to seal and open many
 * messages.
 *
 * @example
 * ```ts
 * import { WasmChaChaPoly } from "./aead_wasm.ts";
 * import { allocPacketBuffer, freePacketBuffer } from "./wasm/arena.ts";
 * const aead = new WasmChaChaPoly(new Uint8Array(32));
 * const buf = allocPacketBuffer(64);
 * buf.set(new TextEncoder().encode("hi"));
 * const n = aead.sealInPlace(7, buf, 0, 2); // 18: ciphertext then tag
 * console.assert(aead.openInPlace(7, buf, 0, n) === 2 && buf[0] === 104);
 * aead.dispose();
 * freePacketBuffer(buf);
 * ```
 */
export class WasmChaChaPoly extends ChaChaPolyBase {
  readonly #w: CryptoWasm;
  // Address of this key's own wasm slot, or SHARED (slot 0, refilled from
  // #key on each call) or DISPOSED.
  #keyPtr: number;
  #slot: number;
  #key: Uint8Array;

  /** Copies a 32-byte key into a wasm key slot; later changes to `key` do not leak in. */
  constructor(key: Uint8Array) {
    super();
    checkKey(key);
    const w = this.#w = cryptoWasm();
    this.#key = key.slice();
    this.#slot = takeSlot(w);
    this.#keyPtr = this.#slot === 0 ? SHARED : w.keySlots + 32 * this.#slot;
    if (this.#slot !== 0) {
      w.bytes.set(key, this.#keyPtr);
      finalizer.register(this, this.#slot, this);
    }
  }

  /**
   * A copy of the key, for moving a session to another thread's device (the key slots are per
   * thread).
   *
   * @throws {Error} after {@linkcode WasmChaChaPoly.dispose}
   */
  exportKey(): Uint8Array {
    if (this.#keyPtr === DISPOSED) throw new Error("WasmChaChaPoly: key disposed");
    return this.#key.slice();
  }

  /** Zeroes the key (in wasm memory and in JS) and frees its slot; later calls throw. */
  dispose(): void {
    if (this.#keyPtr === DISPOSED) return;
    if (this.#slot !== 0) {
      finalizer.unregister(this);
      releaseSlot(this.#slot);
    }
    this.#keyPtr = DISPOSED;
    this.#key.fill(0);
  }

  /** Same as {@link dispose}, for `using`. */
  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * Encrypts buf[offset, offset+len) in place under WireGuard's nonce for
   * `counter` (4 zero bytes, then the counter as 64-bit little-endian) and
   * writes the tag after it; returns `len + 16`. No copy when `buf` views
   * wasm memory.
   */
  sealInPlace(counter: number, buf: Uint8Array, offset: number, len: number): number {
    const lo = counter >>> 0;
    const hi = (counter - lo) / TWO_32;
    // Rejects fractions, negatives, NaN and anything above 2^53 - 1 in one test.
    if ((hi >>> 0) !== hi || hi >= 0x20_0000) throw badCounter(counter);
    if ((offset >>> 0) !== offset || (len >>> 0) !== len || offset + len + TAG > buf.length) {
      throw new RangeError(
        `Cannot seal ${len} bytes at offset ${offset} in place: buffer is ${buf.length} bytes`,
      );
    }
    const key = this.#keyAddr();
    const w = this.#w;
    if (buf.buffer === w.buffer) {
      const p = buf.byteOffset + offset;
      w.fn.aead_seal(key, 0, lo, hi, 0, 0, p, len, p);
    } else if (len + TAG <= w.msgScratchSize) {
      const s = w.msgScratch;
      w.bytes.set(buf.subarray(offset, offset + len), s);
      w.fn.aead_seal(key, 0, lo, hi, 0, 0, s, len, s);
      buf.set(w.bytes.subarray(s, s + len + TAG), offset);
    } else {
      const pt = buf.slice(offset, offset + len);
      this.#viaArena(true, wgNonce(counter), pt, buf, offset);
    }
    return len + TAG;
  }

  /**
   * Decrypts buf[offset, offset+sealedLen) (ciphertext then tag) in place
   * under WireGuard's nonce for `counter`; returns the plaintext length, or
   * -1 if `sealedLen` is shorter than a tag or authentication fails (the
   * buffer's contents are then unspecified). No copy when `buf` views wasm
   * memory.
   */
  openInPlace(counter: number, buf: Uint8Array, offset: number, sealedLen: number): number {
    const lo = counter >>> 0;
    const hi = (counter - lo) / TWO_32;
    if ((hi >>> 0) !== hi || hi >= 0x20_0000) throw badCounter(counter);
    if ((offset >>> 0) !== offset || (sealedLen >>> 0) !== sealedLen) {
      throw new RangeError(`Cannot open ${sealedLen} bytes at offset ${offset} in place`);
    }
    if (offset + sealedLen > buf.length) {
      throw new RangeError(
        `Cannot open ${sealedLen} bytes at offset ${offset} in place: buffer is ${buf.length} bytes`,
      );
    }
    const len = sealedLen - TAG;
    if (len < 0) return -1;
    const key = this.#keyAddr();
    const w = this.#w;
    if (buf.buffer === w.buffer) {
      const p = buf.byteOffset + offset;
      return w.fn.aead_open(key, 0, lo, hi, 0, 0, p, len, p) === 0 ? len : -1;
    }
    if (sealedLen <= w.msgScratchSize) {
      const s = w.msgScratch;
      w.bytes.set(buf.subarray(offset, offset + sealedLen), s);
      if (w.fn.aead_open(key, 0, lo, hi, 0, 0, s, len, s) !== 0) return -1;
      buf.set(w.bytes.subarray(s, s + len), offset);
      return len;
    }
    const sealed = buf.slice(offset, offset + sealedLen);
    return this.#viaArena(false, wgNonce(counter), sealed, buf, offset);
  }

  /** See {@link ChaChaPolyBase.sealInto}. */
  override sealInto(
    nonce: Uint8Array,
    plaintext: Uint8Array,
    dst: Uint8Array,
    dstOffset: number,
    ad?: Uint8Array,
  ): number {
    checkNonce("seal", nonce);
    const len = plaintext.length;
    const total = len + TAG;
    checkDst("seal", len, total, dst, dstOffset);
    const key = this.#keyAddr();
    const w = this.#w;
    const adLen = ad?.length ?? 0;
    if (adLen > w.adScratchSize || (dst.buffer !== w.buffer && total > w.msgScratchSize)) {
      return this.#viaArena(true, nonce, plaintext, dst, dstOffset, ad);
    }
    // AD is always copied: it is small, and a copy cannot alias dst.
    if (adLen > 0) w.bytes.set(ad!, w.adScratch);
    const n0 = nonceWord(nonce, 0), n1 = nonceWord(nonce, 4), n2 = nonceWord(nonce, 8);
    if (dst.buffer === w.buffer) {
      const d = dst.byteOffset + dstOffset;
      let s = plaintext.byteOffset;
      if (plaintext.buffer !== w.buffer || (s !== d && overlaps(s, len, d, total))) {
        dst.set(plaintext, dstOffset);
        s = d;
      }
      w.fn.aead_seal(key, n0, n1, n2, w.adScratch, adLen, s, len, d);
      return total;
    }
    const s = w.msgScratch;
    w.bytes.set(plaintext, s);
    w.fn.aead_seal(key, n0, n1, n2, w.adScratch, adLen, s, len, s);
    dst.set(w.bytes.subarray(s, s + total), dstOffset);
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
    checkNonce("open", nonce);
    const len = sealed.length - TAG;
    if (len < 0) return -1;
    checkDst("open", len, len, dst, dstOffset);
    const key = this.#keyAddr();
    const w = this.#w;
    const adLen = ad?.length ?? 0;
    const direct = dst.buffer === w.buffer && sealed.buffer === w.buffer;
    const d = dst.byteOffset + dstOffset;
    const src = sealed.byteOffset;
    const inPlace = direct && (src === d || !overlaps(src, sealed.length, d, len));
    if (adLen > w.adScratchSize || (!inPlace && sealed.length > w.msgScratchSize)) {
      return this.#viaArena(false, nonce, sealed, dst, dstOffset, ad);
    }
    if (adLen > 0) w.bytes.set(ad!, w.adScratch);
    const n0 = nonceWord(nonce, 0), n1 = nonceWord(nonce, 4), n2 = nonceWord(nonce, 8);
    if (inPlace) {
      return w.fn.aead_open(key, n0, n1, n2, w.adScratch, adLen, src, len, d) === 0 ? len : -1;
    }
    // Copy in first so a failed open leaves dst untouched even if it overlaps sealed.
    const s = w.msgScratch;
    w.bytes.set(sealed, s);
    if (dst.buffer === w.buffer) {
      return w.fn.aead_open(key, n0, n1, n2, w.adScratch, adLen, s, len, d) === 0 ? len : -1;
    }
    if (w.fn.aead_open(key, n0, n1, n2, w.adScratch, adLen, s, len, s) !== 0) return -1;
    dst.set(w.bytes.subarray(s, s + len), dstOffset);
    return len;
  }

  #keyAddr(): number {
    const p = this.#keyPtr;
    if (p > 0) return p;
    if (p === DISPOSED) throw new Error("Cannot use ChaCha20-Poly1305 key: it was disposed");
    const w = this.#w;
    w.bytes.set(this.#key, w.keySlots);
    return w.keySlots;
  }

  /**
   * Seals or opens a message (or AD) too large for the scratch areas in a temporary arena
   * buffer holding AD ‖ message; returns what sealInto/openInto return. `dst` is written only
   * on success, after the input was copied in, so they may overlap.
   */
  #viaArena(
    seal: boolean,
    nonce: Uint8Array,
    input: Uint8Array,
    dst: Uint8Array,
    dstOffset: number,
    ad?: Uint8Array,
  ): number {
    const adLen = ad?.length ?? 0;
    const len = seal ? input.length : input.length - TAG;
    const need = adLen + len + TAG;
    const tmp = allocPacketBuffer(2 ** Math.ceil(Math.log2(Math.max(need, 1 << 16))));
    try {
      if (adLen > 0) tmp.set(ad!);
      tmp.set(input, adLen);
      const a = tmp.byteOffset, p = a + adLen;
      const key = this.#keyAddr();
      const n0 = nonceWord(nonce, 0), n1 = nonceWord(nonce, 4), n2 = nonceWord(nonce, 8);
      if (seal) {
        this.#w.fn.aead_seal(key, n0, n1, n2, a, adLen, p, len, p);
        dst.set(tmp.subarray(adLen, adLen + len + TAG), dstOffset);
        return len + TAG;
      }
      if (this.#w.fn.aead_open(key, n0, n1, n2, a, adLen, p, len, p) !== 0) return -1;
      dst.set(tmp.subarray(adLen, adLen + len), dstOffset);
      return len;
    } finally {
      freePacketBuffer(tmp);
    }
  }
}
