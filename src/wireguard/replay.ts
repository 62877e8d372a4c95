/**
 * The sliding replay window for WireGuard transport counters (RFC 6479 style
 * bitmap ring, as in wireguard-go's `replay` package).
 *
 * @module
 */

/**
 * The largest counter {@linkcode ReplayFilter.accept} takes. WireGuard's own
 * limit, REJECT_AFTER_MESSAGES = 2^64 − 2^13 − 1, is far beyond what a
 * `number` holds exactly, and a session rekeys long before either, so any
 * counter that is not a safe integer is simply rejected.
 */
export const MAX_ACCEPTED_COUNTER: number = Number.MAX_SAFE_INTEGER;

const BLOCK_BITS = 32;

/**
 * Accepts each transport counter at most once, and only while it is within
 * the window behind the highest counter seen.
 *
 * The bitmap is a ring of 32-bit blocks. Moving forward zeroes only the
 * blocks that slide in, so the cost of a big jump is bounded by the ring, and
 * one block is always kept spare so the window never shares a block with the
 * counters about to arrive.
 *
 * @example
 * ```ts
 * import { ReplayFilter } from "./replay.ts";
 * const filter = new ReplayFilter();
 * filter.accept(0); // true
 * filter.accept(2); // true
 * filter.accept(1); // true: late but within the window
 * filter.accept(2); // false: replayed
 * ```
 */
export class ReplayFilter {
  /** How far behind the highest accepted counter a counter may still be accepted. */
  readonly windowSize: number;
  readonly #ring: Uint32Array;
  #last = 0;

  /**
   * Sizes the ring once; nothing is allocated per packet after this.
   *
   * @param minWindow The smallest window wanted; it is rounded up so the ring
   *   is a power of two of 32-bit blocks with one spare block. The default
   *   gives a 2^13-bit ring and a window of 8160 counters (wireguard-go: 8128,
   *   with 64-bit blocks).
   * @throws {RangeError} if `minWindow` is not an integer in 1–2^24
   */
  constructor(minWindow = 8160) {
    if (!Number.isInteger(minWindow) || minWindow < 1 || minWindow > 2 ** 24) {
      throw new RangeError(`Replay window ${minWindow} out of range 1-${2 ** 24}`);
    }
    let blocks = 2;
    while ((blocks - 1) * BLOCK_BITS < minWindow) blocks *= 2;
    this.#ring = new Uint32Array(blocks);
    this.windowSize = (blocks - 1) * BLOCK_BITS;
  }

  /**
   * Returns true the first time `counter` is seen while it is inside the
   * window, and records it; false for a replay, a counter too far behind the
   * highest one seen, or one that is negative, fractional or above
   * {@linkcode MAX_ACCEPTED_COUNTER}.
   *
   * Call it only after the packet authenticated: a forged counter must not
   * move the window.
   */
  accept(counter: number): boolean {
    if (!(counter >= 0 && counter <= MAX_ACCEPTED_COUNTER) || counter % 1 !== 0) return false;
    const ring = this.#ring;
    const block = Math.floor(counter / BLOCK_BITS);
    if (counter > this.#last) {
      // Zero the blocks that slide into the window, at most the whole ring.
      const current = Math.floor(this.#last / BLOCK_BITS);
      const diff = Math.min(block - current, ring.length);
      for (let i = 1; i <= diff; i++) ring[(current + i) % ring.length] = 0;
      this.#last = counter;
    } else if (this.#last - counter > this.windowSize) {
      return false;
    }
    // Counters go past 2^32, so `%` rather than a bit mask picks the block.
    const index = block % ring.length;
    const bit = 1 << (counter % BLOCK_BITS);
    const old = ring[index];
    if ((old & bit) !== 0) return false;
    ring[index] = old | bit;
    return true;
  }

  /** The highest counter accepted so far, or -1 if none was. */
  get highest(): number {
    const last = this.#last;
    return (this.#ring[Math.floor(last / BLOCK_BITS) % this.#ring.length] &
        (1 << (last % BLOCK_BITS))) !== 0
      ? last
      : -1;
  }

  /**
   * Starts the window as if every counter up to `highest` had been seen, for a session moved
   * from another device: which of the older ones arrived is not carried, so none is taken again.
   * A `highest` of -1 (none seen) is a fresh window.
   *
   * @throws {RangeError} if `highest` is not -1 or an integer up to {@linkcode MAX_ACCEPTED_COUNTER}
   */
  restoreSeen(highest: number): void {
    if (!Number.isInteger(highest) || highest < -1 || highest > MAX_ACCEPTED_COUNTER) {
      throw new RangeError(`Replay window: cannot restore ${highest}`);
    }
    this.reset();
    if (highest < 0) return;
    this.#ring.fill(0xffffffff);
    // The newest block holds the counters above `highest` too: only its lower bits are seen.
    const bit = highest % BLOCK_BITS;
    this.#ring[Math.floor(highest / BLOCK_BITS) % this.#ring.length] = bit === 31
      ? 0xffffffff
      : (1 << (bit + 1)) - 1;
    this.#last = highest;
  }

  /** Forgets everything, as for a new session (counter 0 is new again). */
  reset(): void {
    this.#last = 0;
    this.#ring.fill(0);
  }
}

/**
 * Reads the little-endian 64-bit counter of a transport message at
 * `buf[offset..offset+8]` as a number, or Infinity when it is above
 * {@linkcode MAX_ACCEPTED_COUNTER} (which {@linkcode ReplayFilter.accept}
 * rejects). Allocates nothing.
 *
 * @example
 * ```ts
 * import { readCounter } from "./replay.ts";
 * readCounter(new Uint8Array([1, 2, 0, 0, 0, 0, 0, 0]), 0); // 513
 * ```
 * @throws {RangeError} if the buffer does not hold 8 bytes at `offset`
 */
export function readCounter(buf: Uint8Array, offset: number): number {
  if (offset < 0 || offset + 8 > buf.length) {
    throw new RangeError(`Cannot read counter at ${offset} from ${buf.length} bytes`);
  }
  const lo = (buf[offset] | (buf[offset + 1] << 8) | (buf[offset + 2] << 16) |
    (buf[offset + 3] << 24)) >>> 0;
  const hi = (buf[offset + 4] | (buf[offset + 5] << 8) | (buf[offset + 6] << 16) |
    (buf[offset + 7] << 24)) >>> 0;
  if (hi >= 0x200000) return Infinity; // 2^53 and above
  return hi * 0x100000000 + lo;
}
