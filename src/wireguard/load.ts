/**
 * Handshake flood defence (whitepaper §5.3): decide when the device is
 * "under load" and must demand cookies, and limit handshakes per source IP
 * once it is.
 *
 * @module
 */

import { TokenBucket } from "../net/token_bucket.ts";

/** How cookies are demanded: on measured load, always (tests), or never. */
export type LoadMode = "auto" | "always" | "never";

/** Tracks the handshake rate and stays "under load" for a second after a burst. */
export class LoadMonitor {
  #mode: LoadMode;
  #threshold: number;
  #windowStart = -Infinity;
  #count = 0;
  #underUntil = -Infinity;

  /**
   * Starts idle; `"always"` and `"never"` pin the answer, for tests and for forcing cookies.
   *
   * @param mode when to report load
   * @param threshold handshake messages per second that count as load; wireguard-go's
   *   trigger is a handshake queue of 128 messages, the same order of magnitude
   */
  constructor(mode: LoadMode = "auto", threshold = 128) {
    this.#mode = mode;
    this.#threshold = threshold;
  }

  /** Records one handshake message at `now` and says whether we are under load. */
  record(now: number): boolean {
    if (this.#mode !== "auto") return this.#mode === "always";
    if (now - this.#windowStart >= 1000) {
      this.#windowStart = now;
      this.#count = 0;
    }
    if (++this.#count > this.#threshold) this.#underUntil = now + 1000;
    return now < this.#underUntil;
  }
}

/**
 * Token buckets per source IP: 20 handshakes per second with a burst of 5,
 * the limits wireguard-go applies to cookie-validated senders under load.
 */
export class RateLimiter {
  #buckets = new Map<string, TokenBucket>();
  #perSecond: number;
  #burst: number;

  /**
   * Starts with no buckets; a source's bucket is created full on its first handshake.
   *
   * @param perSecond refill rate
   * @param burst bucket size
   */
  constructor(perSecond = 20, burst = 5) {
    this.#perSecond = perSecond;
    this.#burst = burst;
  }

  /** Takes a token for `key` at `now`; false when the sender is over its rate. */
  allow(key: string, now: number): boolean {
    let b = this.#buckets.get(key);
    if (b === undefined) {
      if (this.#buckets.size > 65536) this.#sweep(now);
      b = new TokenBucket(this.#perSecond, this.#burst, now);
      this.#buckets.set(key, b);
    }
    return b.allow(now);
  }

  #sweep(now: number): void {
    for (const [k, b] of this.#buckets) {
      if (now - b.lastUsed > 1000) this.#buckets.delete(k);
    }
  }
}
