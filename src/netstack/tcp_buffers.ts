/**
 * A fixed-capacity byte ring: a TCP connection's send buffer (bytes from
 * SND.UNA on, read again for retransmission) and receive buffer (in-order
 * bytes the application has not read yet). The capacity is the per-connection
 * memory bound; nothing grows past it.
 *
 * @module
 */

/**
 * Bytes in a ring of fixed capacity: append at the tail, read or drop at the
 * head, copy any range out.
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
  #head = 0;
  #len = 0;

  /** A ring holding at most `capacity` bytes. */
  constructor(capacity: number) {
    if (!(capacity > 0)) throw new RangeError(`Cannot make a byte ring of capacity ${capacity}`);
    this.#b = new Uint8Array(capacity);
  }

  /** The most bytes the ring holds. */
  get capacity(): number {
    return this.#b.length;
  }

  /** Bytes held. */
  get length(): number {
    return this.#len;
  }

  /** Room left. */
  get free(): number {
    return this.#b.length - this.#len;
  }

  /** Appends as much of `data` as fits; returns how many bytes were taken. */
  push(data: Uint8Array): number {
    const n = Math.min(data.length, this.free);
    const cap = this.#b.length;
    const tail = (this.#head + this.#len) % cap;
    const first = Math.min(n, cap - tail);
    this.#b.set(data.subarray(0, first), tail);
    if (n > first) this.#b.set(data.subarray(first, n), 0);
    this.#len += n;
    return n;
  }

  /** A copy of `len` bytes starting `offset` bytes after the head (clamped to what is held). */
  copy(offset: number, len: number): Uint8Array {
    const n = Math.max(0, Math.min(len, this.#len - offset));
    const out = new Uint8Array(n);
    const cap = this.#b.length;
    const start = (this.#head + offset) % cap;
    const first = Math.min(n, cap - start);
    out.set(this.#b.subarray(start, start + first));
    if (n > first) out.set(this.#b.subarray(0, n - first), first);
    return out;
  }

  /** Discards `n` bytes from the head (clamped). */
  drop(n: number): void {
    n = Math.max(0, Math.min(n, this.#len));
    this.#head = (this.#head + n) % this.#b.length;
    this.#len -= n;
  }

  /** Removes and returns up to `max` bytes from the head. */
  shift(max = Infinity): Uint8Array {
    const out = this.copy(0, Math.min(max, this.#len));
    this.drop(out.length);
    return out;
  }
}
