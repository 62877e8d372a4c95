/**
 * The table of local session indices. Every handshake and session gets a
 * random 32-bit index so receivers can find the session without trying keys.
 *
 * @module
 */

/** Maps random 32-bit receiver indices to their owner. */
export class IndexTable<T> {
  #entries = new Map<number, T>();
  #random: () => number;

  /**
   * Takes the random source as a parameter so tests can force index collisions.
   *
   * @param random returns a uniformly random unsigned 32-bit integer
   */
  constructor(random: () => number = randomU32) {
    this.#random = random;
  }

  /** Reserves a fresh index for `owner`. */
  allocate(owner: T): number {
    for (;;) {
      const index = this.#random() >>> 0;
      if (!this.#entries.has(index)) {
        this.#entries.set(index, owner);
        return index;
      }
    }
  }

  /** Reserves `index` for `owner` (a session moved from another device); false if it is taken. */
  claim(index: number, owner: T): boolean {
    if (this.#entries.has(index)) return false;
    this.#entries.set(index, owner);
    return true;
  }

  /** The owner of `index`, if any. */
  lookup(index: number): T | undefined {
    return this.#entries.get(index);
  }

  /** Releases `index`. */
  free(index: number): void {
    this.#entries.delete(index);
  }

  /** How many indices are in use. */
  get size(): number {
    return this.#entries.size;
  }
}

const scratch = new Uint32Array(1);

/** A cryptographically random unsigned 32-bit integer. */
function randomU32(): number {
  crypto.getRandomValues(scratch);
  return scratch[0];
}
