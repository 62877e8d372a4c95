/**
 * The retransmission timeout (RFC 6298): SRTT and RTTVAR smoothed from RTT
 * samples, RTO = SRTT + max(G, K·RTTVAR), bounded below by 200 ms — Linux's
 * TCP_RTO_MIN, not RFC 6298's conservative 1 s, because a userspace stack
 * on a tailnet sees RTTs of milliseconds and a 1 s floor turns every tail
 * loss into a second of silence — and above by 120 s (Linux's TCP_RTO_MAX).
 * A timeout doubles the RTO (exponential back-off, §5.5) until a new sample.
 * Karn's rule (§3) is kept by {@linkcode RttSampler}: a segment that was
 * retransmitted is never timed; with timestamps every ACK gives a sample.
 *
 * @module
 */

import { seqGe } from "./tcp_seq.ts";

/** RFC 6298 §2: K, the RTTVAR multiplier. */
export const RTT_K = 4;
/** The clock granularity G, in ms: the stack's clock counts milliseconds. */
export const RTT_G_MS = 1;
/** The RTO before any sample (RFC 6298 §2.1). */
export const RTO_INITIAL_MS = 1000;
/** The lowest RTO (Linux TCP_RTO_MIN). */
export const RTO_MIN_MS = 200;
/** The highest RTO (Linux TCP_RTO_MAX; RFC 6298 §2.5 allows any ≥ 60 s). */
export const RTO_MAX_MS = 120_000;

/** Bounds for an {@linkcode RttEstimator}. */
export interface RttOptions {
  /** The RTO floor; default {@linkcode RTO_MIN_MS}. */
  minRtoMs?: number;
  /** The RTO ceiling; default {@linkcode RTO_MAX_MS}. */
  maxRtoMs?: number;
  /** The RTO before the first sample; default {@linkcode RTO_INITIAL_MS}. */
  initialRtoMs?: number;
}

/**
 * SRTT/RTTVAR and the RTO with back-off.
 *
 * @example
 * ```ts
 * import { RttEstimator } from "./tcp_rtt.ts";
 * const r = new RttEstimator();
 * r.sample(100);
 * r.rto; // 300: 100 + 4 × 50
 * ```
 */
export class RttEstimator {
  #srtt = 0;
  #rttvar = 0;
  #base: number;
  #backoff = 0;
  #hasSample = false;
  readonly #min: number;
  readonly #max: number;

  /** An estimator with no samples: the RTO is the initial one. */
  constructor(opts: RttOptions = {}) {
    this.#min = opts.minRtoMs ?? RTO_MIN_MS;
    this.#max = opts.maxRtoMs ?? RTO_MAX_MS;
    this.#base = opts.initialRtoMs ?? RTO_INITIAL_MS;
  }

  /** The smoothed RTT in ms (0 before any sample). */
  get srtt(): number {
    return this.#srtt;
  }

  /** The RTT variation in ms (0 before any sample). */
  get rttvar(): number {
    return this.#rttvar;
  }

  /** Whether a sample has been taken. */
  get hasSample(): boolean {
    return this.#hasSample;
  }

  /** How many times the RTO has doubled since the last sample. */
  get backoffs(): number {
    return this.#backoff;
  }

  /** The current RTO in ms, back-off included, within the bounds. */
  get rto(): number {
    // RFC 6298 §5.5 doubles the RTO in force, so the floor applies before the back-off.
    return Math.min(this.#max, Math.max(this.#min, this.#base) * 2 ** this.#backoff);
  }

  /** Takes an RTT measurement `r` (ms) and clears the back-off (RFC 6298 §2.2–2.3, §5.7). */
  sample(r: number): void {
    if (!(r >= 0)) return;
    if (!this.#hasSample) {
      this.#srtt = r;
      this.#rttvar = r / 2;
      this.#hasSample = true;
    } else {
      this.#rttvar = 0.75 * this.#rttvar + 0.25 * Math.abs(this.#srtt - r);
      this.#srtt = 0.875 * this.#srtt + 0.125 * r;
    }
    this.#base = this.#srtt + Math.max(RTT_G_MS, RTT_K * this.#rttvar);
    this.#backoff = 0;
  }

  /** The retransmission timer fired: double the RTO (RFC 6298 §5.5), up to the ceiling. */
  backoff(): void {
    if (Math.max(this.#min, this.#base) * 2 ** this.#backoff < this.#max) this.#backoff++;
  }
}

/**
 * Times one segment at a time without timestamps, keeping Karn's rule: the
 * timing is dropped when anything is retransmitted, so an ambiguous ACK
 * never makes a sample.
 *
 * @example
 * ```ts
 * import { RttSampler } from "./tcp_rtt.ts";
 * const s = new RttSampler();
 * s.start(1000, 5); // the segment ending at 1000 left at t = 5
 * s.onAck(1000, 45); // 40
 * ```
 */
export class RttSampler {
  #endSeq = 0;
  #sentAt = -1;

  /** Whether a segment is being timed. */
  get timing(): boolean {
    return this.#sentAt >= 0;
  }

  /** Times the segment whose last byte is before `endSeq`, sent at `now`, if none is timed. */
  start(endSeq: number, now: number): void {
    if (this.timing) return;
    this.#endSeq = endSeq;
    this.#sentAt = now;
  }

  /** A retransmission happened: forget the timing (Karn). */
  onRetransmit(): void {
    this.#sentAt = -1;
  }

  /** A cumulative ACK of `ack` arrived at `now`: the RTT, or null if it does not cover the timed segment. */
  onAck(ack: number, now: number): number | null {
    if (!this.timing || !seqGe(ack, this.#endSeq)) return null;
    const r = now - this.#sentAt;
    this.#sentAt = -1;
    return r;
  }
}
