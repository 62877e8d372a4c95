/**
 * Deadlines for many items on one timer: handshakes in flight each have a deadline, and a
 * timer object per connection is the largest thing a connection allocates while it
 * handshakes. Deadlines that arrive in order (a fixed timeout after "now") cost one map
 * entry each and are checked from the front.
 *
 * @module
 */

/** Clock and timer hooks, replaceable in tests. */
export interface DeadlineClock {
  /** The current time in ms. */
  now(): number;
  /** Calls fn after ms; returns a handle for cancel. */
  schedule(fn: () => void, ms: number): unknown;
  /** Cancels a scheduled call. */
  cancel(handle: unknown): void;
}

const realClock: DeadlineClock = {
  now: () => Date.now(),
  schedule: (fn, ms) => setTimeout(fn, ms),
  cancel: (h) => clearTimeout(h as number),
};

/**
 * Items with deadlines; onExpire hears of each item whose deadline passes before it is
 * deleted. One timer is armed at a time, for the earliest deadline.
 *
 * @example
 * ```ts
 * import { Deadlines } from "./deadlines.ts";
 * const d = new Deadlines<string>((item) => console.log(`${item} timed out`));
 * d.add("conn-1", Date.now() + 10_000);
 * const timedOut = !d.delete("conn-1"); // false: deleted in time
 * ```
 */
export class Deadlines<T> {
  /** Deadline by item, in insertion order (also deadline order while #sorted). */
  readonly #due = new Map<T, number>();
  readonly #onExpire: (item: T) => void;
  readonly #clock: DeadlineClock;
  #last = -Infinity;
  #sorted = true;
  #timer: unknown = null;
  #timerAt = Infinity;

  /** Creates an empty set; onExpire is called for each item whose deadline passes. */
  constructor(onExpire: (item: T) => void, clock: DeadlineClock = realClock) {
    this.#onExpire = onExpire;
    this.#clock = clock;
  }

  /** Items waiting. */
  get size(): number {
    return this.#due.size;
  }

  /** The items waiting, earliest added first. */
  keys(): IterableIterator<T> {
    return this.#due.keys();
  }

  /** Adds item (or moves its deadline) to expire at `at` (ms, clock time). */
  add(item: T, at: number): void {
    if (this.#due.has(item)) {
      this.#due.delete(item);
      this.#sorted = false;
    }
    this.#due.set(item, at);
    if (at < this.#last) this.#sorted = false;
    else this.#last = at;
    if (at < this.#timerAt) this.#arm(at);
  }

  /** Removes item; returns false if it was not waiting (for example, it already expired). */
  delete(item: T): boolean {
    const had = this.#due.delete(item);
    if (this.#due.size === 0) this.clear();
    return had;
  }

  /** Removes every item and stops the timer. */
  clear(): void {
    this.#due.clear();
    this.#last = -Infinity;
    this.#sorted = true;
    if (this.#timer !== null) this.#clock.cancel(this.#timer);
    this.#timer = null;
    this.#timerAt = Infinity;
  }

  #arm(at: number): void {
    if (this.#timer !== null) this.#clock.cancel(this.#timer);
    this.#timerAt = at;
    this.#timer = this.#clock.schedule(() => this.#fire(), Math.max(0, at - this.#clock.now()));
  }

  #fire(): void {
    this.#timer = null;
    this.#timerAt = Infinity;
    const now = this.#clock.now();
    const expired: T[] = [];
    let next = Infinity;
    for (const [item, at] of this.#due) {
      if (at <= now) {
        expired.push(item);
        continue;
      }
      if (at < next) next = at;
      // In order, the rest are later still.
      if (this.#sorted) break;
    }
    for (const item of expired) this.#due.delete(item);
    if (this.#due.size === 0) this.clear();
    else if (next !== Infinity) this.#arm(next);
    for (const item of expired) this.#onExpire(item);
  }
}
