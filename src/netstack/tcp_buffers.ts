/**
 * A bounded byte ring: a TCP connection's send buffer (bytes from SND.UNA on,
 * read again for retransmission) and receive buffer (in-order bytes the
 * application has not read yet). The capacity is the per-connection memory
 * bound; nothing grows past it. Memory is taken as bytes arrive (doubling),
 * so an idle connection with a large bound holds little, and the owner may
 * raise the bound (buffer auto-tuning).
 *
 * @module
 */

/** The first allocation of a ring that starts empty. */
const INITIAL_BYTES = 16 * 1024;

/**
 * Bytes in a ring of bounded capacity: append at the tail, read or drop at
 * the head, copy any range out.
 *
 * @example
 * ```ts
 * import { ByteRing } from "./tcp_buffers.ts";
 * const r = new ByteRing(4);
 * r.push(new Uint8Array([1, 2, 3, 4, 5])); // 4: one byte did not fit
 * r.drop(2);
 * r.copy(0, 2); // Uint8Array [3, 4]
 * ```
 */
export class ByteRing {
  #b: Uint8Array;
  #capacity: number;
  #head = 0;
  #len = 0;

  /** A ring holding at most `capacity` bytes. */
  constructor(capacity: number) {
    if (!(capacity > 0)) throw new RangeError(`Cannot make a byte ring of capacity ${capacity}`);
    this.#capacity = capacity;
    this.#b = new Uint8Array(0);
  }

  /** The most bytes the ring holds. */
  get capacity(): number {
    return this.#capacity;
  }

  /** Raises the bound to `capacity` (never lowers it). */
  set capacity(capacity: number) {
    this.#capacity = Math.max(this.#capacity, capacity);
  }

  /** Bytes held. */
  get length(): number {
    return this.#len;
  }

  /** Room left. */
  get free(): number {
    return this.#capacity - this.#len;
  }

  /** Bytes of memory the ring holds now (at most its capacity). */
  get allocated(): number {
    return this.#b.length;
  }

  /** Makes room for `need` bytes in all: doubles the storage, keeping the order, within the bound. */
  #reserve(need: number): void {
    if (need <= this.#b.length) return;
    let size = Math.max(this.#b.length, INITIAL_BYTES);
    while (size < need) size *= 2;
    const next = new Uint8Array(Math.min(size, this.#capacity));
    next.set(this.copyView(0, this.#len));
    this.#b = next;
    this.#head = 0;
  }

  /** Appends as much of `data` as fits; returns how many bytes were taken. */
  push(data: Uint8Array): number {
    const n = Math.min(data.length, this.free);
    if (n === 0) return 0;
    this.#reserve(this.#len + n);
    const cap = this.#b.length;
    const tail = (this.#head + this.#len) % cap;
    const first = Math.min(n, cap - tail);
    // All of `data` in one piece is the common case: set() it as it is, without a view.
    this.#b.set(first === data.length ? data : data.subarray(0, first), tail);
    if (n > first) this.#b.set(data.subarray(first, n), 0);
    this.#len += n;
    return n;
  }

  /** A copy of `len` bytes starting `offset` bytes after the head (clamped to what is held). */
  copy(offset: number, len: number): Uint8Array {
    const n = Math.max(0, Math.min(len, this.#len - offset));
    const cap = this.#b.length;
    if (n === 0) return new Uint8Array(0);
    const start = (this.#head + offset) % cap;
    const first = Math.min(n, cap - start);
    // slice() copies without zeroing first, where the bytes lie in one piece.
    if (first === n) return this.#b.slice(start, start + n);
    const out = new Uint8Array(n);
    out.set(this.#b.subarray(start, start + first));
    out.set(this.#b.subarray(0, n - first), first);
    return out;
  }

  /**
   * `len` bytes starting `offset` bytes after the head (clamped): a view into
   * the ring where they lie in one piece, else a copy. Valid only until the
   * ring next changes.
   */
  copyView(offset: number, len: number): Uint8Array {
    const n = Math.max(0, Math.min(len, this.#len - offset));
    const cap = this.#b.length;
    if (n === 0) return this.#b.subarray(0, 0);
    const start = (this.#head + offset) % cap;
    return start + n <= cap ? this.#b.subarray(start, start + n) : this.copy(offset, n);
  }

  /**
   * Up to `max` bytes at the head that lie in one piece, as a view (never a
   * copy; fewer than `max` where the ring wraps). The bytes stay put until
   * they are dropped: pushes only write past them, and a growth copies them
   * to new storage, leaving the view's intact.
   */
  headView(max: number): Uint8Array {
    const cap = this.#b.length;
    if (this.#len === 0 || max <= 0) return this.#b.subarray(0, 0);
    const n = Math.min(max, this.#len, cap - this.#head);
    return this.#b.subarray(this.#head, this.#head + n);
  }

  /** Discards `n` bytes from the head (clamped). */
  drop(n: number): void {
    n = Math.max(0, Math.min(n, this.#len));
    if (n === 0) return;
    this.#len -= n;
    // Empty, start over at the front, so the next bytes lie in one piece.
    this.#head = this.#len === 0 ? 0 : (this.#head + n) % this.#b.length;
  }

  /** Removes and returns up to `max` bytes from the head. */
  shift(max = Infinity): Uint8Array {
    const out = this.copy(0, Math.min(max, this.#len));
    this.drop(out.length);
    return out;
  }
}
