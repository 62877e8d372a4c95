/**
 * A token bucket (golang.org/x/time/rate's `Limiter.Allow` semantics): `burst`
 * tokens at most, refilled at `perSecond`; each allowed event takes one. The
 * WireGuard handshake limiter keeps one per source address, the DERP server one
 * for accepted connections.
 *
 * @module
 */

/** A token bucket; Infinity for perSecond allows everything. Times are in ms. */
export class TokenBucket {
  readonly #perMs: number;
  readonly #burst: number;
  #tokens: number;
  #last: number;

  /**
   * Creates a full bucket.
   *
   * @param perSecond refill rate (tokens per second, > 0 or Infinity)
   * @param burst bucket size (≥ 1)
   * @param now the time it starts full at
   * @throws {RangeError} on a rate or burst out of range
   */
  constructor(perSecond: number, burst: number, now: number) {
    if (!(perSecond > 0)) throw new RangeError(`Token rate ${perSecond} must be positive`);
    if (!(burst >= 1)) throw new RangeError(`Token burst ${burst} must be at least 1`);
    this.#perMs = perSecond / 1000;
    this.#burst = burst;
    this.#tokens = burst;
    this.#last = now;
  }

  /** When a token was last asked for (or the bucket made). */
  get lastUsed(): number {
    return this.#last;
  }

  /** Takes a token at `now` if there is one. */
  allow(now: number): boolean {
    if (this.#perMs === Infinity) return true;
    this.#tokens = Math.min(this.#burst, this.#tokens + (now - this.#last) * this.#perMs);
    this.#last = now;
    if (this.#tokens < 1) return false;
    this.#tokens -= 1;
    return true;
  }
}
