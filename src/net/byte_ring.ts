/**
 * A single-producer, single-consumer queue of byte records in a SharedArrayBuffer, for one
 * thread to hand another work that must not wait for the reader's event loop: a data-plane
 * Worker blocked in `poll(2)` never turns its loop, so `postMessage` to it would sit unread.
 * The writer appends a record and then raises a wake-up fd; the reader drains every record
 * when it wakes. Each side owns one index (Atomics keep them ordered), so neither locks.
 *
 * @module
 */

/** Bytes of the header before the data: write and read positions, as two Int32 slots. */
const HEADER = 8;
/** Each record's length prefix. */
const LEN = 4;

/**
 * One ring; construct it over `new SharedArrayBuffer(...)` on one thread and over the same
 * buffer (posted to the other) on the other.
 *
 * @example
 * ```ts
 * import { ByteRing } from "./byte_ring.ts";
 * const ring = new ByteRing(ByteRing.allocate(1024));
 * ring.write(new Uint8Array([1, 2, 3]));
 * ring.read((rec) => console.log(rec.length)); // 3
 * ```
 */
export class ByteRing {
  readonly #pos: Int32Array;
  readonly #data: Uint8Array;
  readonly #mask: number;

  /** A buffer for a ring of `capacity` bytes (rounded up to a power of two, at least 64). */
  static allocate(capacity: number): SharedArrayBuffer {
    let size = 64;
    while (size < capacity) size *= 2;
    return new SharedArrayBuffer(HEADER + size);
  }

  /** Works on `buffer`, made by {@linkcode ByteRing.allocate}. */
  constructor(buffer: SharedArrayBuffer) {
    const size = buffer.byteLength - HEADER;
    if (size < 64 || (size & (size - 1)) !== 0) {
      throw new RangeError(`A ring's data must be a power of two of 64 bytes or more, got ${size}`);
    }
    this.#pos = new Int32Array(buffer, 0, 2);
    this.#data = new Uint8Array(buffer, HEADER, size);
    this.#mask = size - 1;
  }

  /** The most bytes one record can have. */
  get maxRecord(): number {
    return this.#data.length - LEN;
  }

  /**
   * Appends `parts` as one record; false (nothing written) when the reader has not made room.
   * Only one thread may write.
   */
  write(...parts: Uint8Array[]): boolean {
    let len = 0;
    for (const p of parts) len += p.length;
    const w = Atomics.load(this.#pos, 0), r = Atomics.load(this.#pos, 1);
    // Positions count bytes and wrap at 2^32 together: the difference is the fill.
    const used = (w - r) >>> 0;
    if (len > this.maxRecord || used + LEN + len > this.#data.length) return false;
    const head = new Uint8Array(LEN);
    new DataView(head.buffer).setUint32(0, len, true);
    let at = this.#put(w, head);
    for (const p of parts) at = this.#put(at, p);
    Atomics.store(this.#pos, 0, at);
    return true;
  }

  /** Hands each waiting record to `f` (a view, valid during the call); returns how many. */
  read(f: (record: Uint8Array) => void): number {
    let r = Atomics.load(this.#pos, 1);
    const w = Atomics.load(this.#pos, 0);
    let n = 0;
    const head = new Uint8Array(LEN);
    while (r !== w) {
      this.#get(r, head);
      const len = new DataView(head.buffer).getUint32(0, true);
      const start = (r + LEN) | 0;
      const off = start & this.#mask;
      // A record that wraps is copied out whole; one that does not is lent in place.
      const rec = off + len <= this.#data.length
        ? this.#data.subarray(off, off + len)
        : this.#get(start, new Uint8Array(len));
      r = (start + len) | 0;
      try {
        f(rec);
      } finally {
        Atomics.store(this.#pos, 1, r);
      }
      n++;
    }
    return n;
  }

  /** Copies `src` in at position `at`, wrapping; returns the position after it. */
  #put(at: number, src: Uint8Array): number {
    const off = at & this.#mask, first = Math.min(src.length, this.#data.length - off);
    this.#data.set(src.subarray(0, first), off);
    if (first < src.length) this.#data.set(src.subarray(first), 0);
    return (at + src.length) | 0;
  }

  /** Fills `dst` from position `at`, wrapping; returns `dst`. */
  #get(at: number, dst: Uint8Array): Uint8Array {
    const off = at & this.#mask, first = Math.min(dst.length, this.#data.length - off);
    dst.set(this.#data.subarray(off, off + first));
    if (first < dst.length) dst.set(this.#data.subarray(0, dst.length - first), first);
    return dst;
  }
}
