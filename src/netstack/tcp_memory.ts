/**
 * The stack-wide bound on TCP buffer memory, as Linux's tcp_mem: every connection's send and
 * receive buffer capacity is taken from one budget — at creation (what it starts with, less
 * when the budget runs low, never under a small floor so each connection still works) and as
 * auto-tuning grows it (refused when the budget is spent) — and given back when it closes.
 * Since a connection's out-of-order queue is held to its receive buffer's size, the bytes all
 * connections can hold stay under about twice the budget plus the floors, however many peers
 * flood the stack.
 *
 * @module
 */

/** A connection's buffers never start smaller than this (a few segments' worth). */
export const TCP_BUFFER_FLOOR = 16 * 1024;

/** One stack's budget of buffer bytes. */
export class TcpMemoryBudget {
  /** The budget in bytes. */
  readonly limit: number;
  #used = 0;
  /** Growths refused because the budget was spent. */
  refusals = 0;

  /** A budget of `limit` bytes. */
  constructor(limit: number) {
    if (!(limit > 0)) throw new RangeError(`Cannot make a TCP memory budget of ${limit} bytes`);
    this.limit = limit;
  }

  /** Bytes taken now. */
  get used(): number {
    return this.#used;
  }

  /**
   * Takes `want` bytes if they fit, else what is left — but at least `floor` (or `want`, if
   * smaller), which is granted even past the limit. Returns the bytes granted.
   */
  grant(want: number, floor = TCP_BUFFER_FLOOR): number {
    const g = Math.max(Math.min(floor, want), Math.min(want, this.limit - this.#used));
    this.#used += g;
    return g;
  }

  /** Takes `n` more bytes if they fit; false (and counted) if not. */
  tryGrow(n: number): boolean {
    if (this.#used + n > this.limit) {
      this.refusals++;
      return false;
    }
    this.#used += n;
    return true;
  }

  /** Gives `n` bytes back. */
  release(n: number): void {
    this.#used = Math.max(0, this.#used - n);
  }
}
