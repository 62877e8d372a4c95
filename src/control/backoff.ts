/**
 * Capped exponential backoff with jitter for reconnecting to control. Pure:
 * the random source is injectable.
 *
 * @module
 */
import { BACKOFF_MAX_MS, BACKOFF_MIN_MS } from "./constants.ts";

/**
 * Delays grow 1 s, 2 s, 4 s … up to 60 s; each is jittered into [d/2, d]
 * so many nodes restarting together do not reconnect in lockstep.
 *
 * @example
 * ```ts
 * const b = new Backoff({ random: () => 1 });
 * [b.next(), b.next(), b.next()]; // [1000, 2000, 4000]
 * ```
 */
export class Backoff {
  #attempt = 0;
  readonly #min: number;
  readonly #max: number;
  readonly #random: () => number;

  /** Creates a backoff; defaults 1 s → 60 s with Math.random jitter. */
  constructor(opts: { minMs?: number; maxMs?: number; random?: () => number } = {}) {
    this.#min = opts.minMs ?? BACKOFF_MIN_MS;
    this.#max = opts.maxMs ?? BACKOFF_MAX_MS;
    this.#random = opts.random ?? Math.random;
  }

  /** Failures since the last reset. */
  get attempts(): number {
    return this.#attempt;
  }

  /** The delay before the next attempt, in ms. */
  next(): number {
    const d = Math.min(this.#max, this.#min * 2 ** Math.min(this.#attempt, 30));
    this.#attempt++;
    return Math.round(d / 2 + (d / 2) * this.#random());
  }

  /** Starts over after a success. */
  reset(): void {
    this.#attempt = 0;
  }
}

/** Resolves after `ms`, or rejects with the signal's reason when it aborts. */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(() => {
      signal?.removeEventListener("abort", onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(t);
      reject(signal!.reason);
    };
    signal?.addEventListener("abort", onAbort, { once: true });
  });
}
