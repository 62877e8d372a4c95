/**
 * The backward bit reader of FSE and Huffman streams (RFC 8878 §4.1, §4.2.2): the writer ends
 * the stream with a 1 bit and zero padding, so the reader starts at the last byte's highest set
 * bit and reads towards the stream's first byte, each read giving a little-endian value.
 *
 * @module
 */
import { corrupt } from "./_errors.ts";

/**
 * Reads a backward bitstream. `bits` counts the bits left; reads past the stream's start yield
 * zeros and drive `bits` negative, which the callers check at the end (a stream must be consumed
 * exactly) instead of on every read.
 */
export class BackwardBits {
  /** The buffer holding the stream. */
  buf: Uint8Array = new Uint8Array(0);
  /** Offset of the stream's first byte in {@link BackwardBits.buf}. */
  start = 0;
  /** Bits not yet read: the next read takes the bits just below this position. */
  bits = 0;

  /**
   * Starts reading `buf[start, end)`.
   *
   * @throws {SyntaxError} if the stream is empty or its last byte lacks the end mark
   */
  init(buf: Uint8Array, start: number, end: number, what: string): void {
    if (end <= start) throw corrupt(`${what} bitstream is empty`);
    const last = buf[end - 1];
    if (last === 0) throw corrupt(`${what} bitstream lacks its end mark`);
    this.buf = buf;
    this.start = start;
    this.bits = (end - start - 1) * 8 + (31 - Math.clz32(last));
  }

  /** Reads `n` bits, 0 ≤ n ≤ 25. */
  read(n: number): number {
    const p = this.bits - n;
    this.bits = p;
    const buf = this.buf;
    if (p >= 0) {
      const b = this.start + (p >>> 3);
      // Bytes past the stream's end are masked off; only the buffer's own end needs care.
      if (b + 3 < buf.length) {
        const v = buf[b] | (buf[b + 1] << 8) | (buf[b + 2] << 16) | (buf[b + 3] << 24);
        return (v >>> (p & 7)) & ((1 << n) - 1);
      }
      return this.#slow(b, p & 7, n);
    }
    // Past the start: the missing low bits are zeros.
    const have = n + p;
    if (have <= 0) return 0;
    return this.#slow(this.start, 0, have) << -p;
  }

  #slow(b: number, shift: number, n: number): number {
    const buf = this.buf;
    let v = 0;
    for (let i = 3; i >= 0; i--) v = (v << 8) | (b + i < buf.length ? buf[b + i] : 0);
    return (v >>> shift) & ((1 << n) - 1);
  }

  /** Reads `n` bits, 0 ≤ n ≤ 31, as a non-negative number. */
  readLong(n: number): number {
    if (n <= 25) return this.read(n);
    const high = this.read(n - 16);
    return high * 65536 + this.read(16);
  }
}
