/**
 * Fixed-size pieces of a few large ArrayBuffers, for per-connection key material: a piece
 * is a view into a shared chunk, so 10,000 connections hold 10,000 small views instead of
 * 10,000 ArrayBuffers, each with its own native backing store and malloc block.
 *
 * @module
 */

/**
 * A pool of `size`-byte pieces carved from `perChunk`-piece chunks.
 *
 * @example
 * ```ts
 * const slab = new KeySlab(152);
 * const k = slab.take();
 * slab.give(k); // zeroed and reused by the next take()
 * ```
 */
export class KeySlab {
  readonly #size: number;
  readonly #perChunk: number;
  readonly #free: Uint8Array[] = [];

  /** Pieces of size bytes, allocated perChunk at a time. */
  constructor(size: number, perChunk = 256) {
    this.#size = size;
    this.#perChunk = perChunk;
  }

  /** A zeroed piece. */
  take(): Uint8Array {
    let p = this.#free.pop();
    if (p === undefined) {
      const chunk = new Uint8Array(this.#size * this.#perChunk);
      for (let i = this.#perChunk - 1; i > 0; i--) {
        this.#free.push(chunk.subarray(i * this.#size, (i + 1) * this.#size));
      }
      p = chunk.subarray(0, this.#size);
    }
    return p;
  }

  /** Returns a piece from {@link take}; it is wiped first. Give each piece back once. */
  give(p: Uint8Array): void {
    p.fill(0);
    this.#free.push(p);
  }

  /** Pieces free for reuse (tests). */
  get free(): number {
    return this.#free.length;
  }
}
