/**
 * A token bucket (golang.org/x/time/rate's `Limiter.Allow` semantics): `burst`
 * tokens at most, refilled at `perSecond`; each allowed event takes one. derper
 * rate-limits accepted connections with one.
 *
 * @module
 */

/** A token bucket; Infinity for perSecond allows everything. */
export class TokenBucket {
  readonly #perMs: number;
  readonly #burst: number;
  readonly #now: () => number;
  #tokens: number;
  #last: number;

  /**
   * Creates a full bucket.
   *
   * @param perSecond refill rate (tokens per second, > 0 or Infinity)
   * @param burst bucket size (≥ 1); the bucket starts full
   * @param now clock in ms (tests pass a fake one)
   * @throws {RangeError} on a rate or burst out of range
   */
  constructor(perSecond: number, burst: number, now: () => number = () => performance.now()) {
    if (!(perSecond > 0)) throw new RangeError(`Token rate ${perSecond} must be positive`);
    if (!(burst >= 1)) throw new RangeError(`Token burst ${burst} must be at least 1`);
    this.#perMs = perSecond / 1000;
    this.#burst = burst;
    this.#now = now;
    this.#tokens = burst;
    this.#last = now();
  }

  /** Takes a token if there is one. */
  allow(): boolean {
    if (this.#perMs === Infinity) return true;
    const t = this.#now();
    this.#tokens = Math.min(this.#burst, this.#tokens + (t - this.#last) * this.#perMs);
    this.#last = t;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
