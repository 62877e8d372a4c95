/**
 * The forward little-endian bit reader the FSE table descriptions are written with
 * (RFC 8878 §4.1.1): bits are taken from the lowest of each byte upwards.
 *
 * @module
 */

/**
 * Reads bits forward from `buf[start, end)`. Past `end` it reads zeros: a table description's
 * size is only known once it has been read, so the caller checks {@link ForwardBits.bytesUsed}
 * against the room it had.
 */
export class ForwardBits {
  readonly #buf: Uint8Array;
  readonly #start: number;
  readonly #end: number;
  #bit = 0;

  /** A reader of `buf[start, end)` at its first bit. */
  constructor(buf: Uint8Array, start: number, end: number) {
    this.#buf = buf;
    this.#start = start;
    this.#end = end;
  }

  /** The next `n` bits (n ≤ 24) without consuming them. */
  peek(n: number): number {
    const at = this.#start + (this.#bit >>> 3);
    let v = 0;
    for (let i = 3; i >= 0; i--) v = (v << 8) | (at + i < this.#end ? this.#buf[at + i] : 0);
    return ((v >>> (this.#bit & 7)) & ((1 << n) - 1)) >>> 0;
  }

  /** Consumes `n` bits. */
  skip(n: number): void {
    this.#bit += n;
  }

  /** Reads `n` bits (n ≤ 24). */
  read(n: number): number {
    const v = this.peek(n);
    this.#bit += n;
    return v;
  }

  /** Whole bytes touched so far: a description ends on a byte boundary. */
  get bytesUsed(): number {
    return (this.#bit + 7) >>> 3;
  }
}
