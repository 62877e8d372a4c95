/**
 * Time sources for the WireGuard engine. Protocol timers run on a monotonic
 * clock; only the TAI64N handshake timestamp needs wall-clock time.
 *
 * @module
 */

/** A source of time in milliseconds, injected so cores can be tested with a fake clock. */
export interface Clock {
  /** Monotonic milliseconds; never jumps backwards. */
  now(): number;
  /** Milliseconds since the Unix epoch (for TAI64N timestamps and status). */
  wallNow(): number;
}

/** The process clock: `performance.now()` for timers, `Date.now()` for the wall. */
export const systemClock: Clock = {
  now: () => performance.now(),
  wallNow: () => Date.now(),
};

/**
 * A clock that moves only when told to, for deterministic timer tests.
 *
 * @example
 * ```ts
 * const clock = new FakeClock();
 * clock.advance(5_000);
 * console.assert(clock.now() === 5_000);
 * ```
 */
export class FakeClock implements Clock {
  #mono: number;
  #wallOffset: number;

  /** Starts at monotonic `start` with the wall clock at `wallStart`. */
  constructor(start = 0, wallStart = 1_700_000_000_000) {
    this.#mono = start;
    this.#wallOffset = wallStart - start;
  }

  /** Current monotonic time. */
  now(): number {
    return this.#mono;
  }

  /** Current wall time, advancing with the monotonic time. */
  wallNow(): number {
    return this.#mono + this.#wallOffset;
  }

  /** Moves time forward by `ms`. */
  advance(ms: number): void {
    if (ms < 0) throw new RangeError(`Cannot move a clock backwards by ${ms} ms`);
    this.#mono += ms;
  }
}
