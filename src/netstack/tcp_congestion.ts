/**
 * Congestion control behind one interface: NewReno (RFC 5681 with the
 * RFC 6582 window on loss) and CUBIC (RFC 9438). Windows are in bytes; the
 * connection drives them — it calls onAck() for newly acknowledged data
 * outside loss recovery, onCongestion() when fast retransmit starts
 * recovery, and onRto() when the retransmission timer fires. How many
 * bytes may be in flight during recovery is the connection's business
 * (the RFC 6675 pipe), so these cores only keep cwnd and ssthresh.
 *
 * @module
 */

/** The initial window in segments (RFC 6928, as Linux). */
export const INITIAL_WINDOW_SEGMENTS = 10;
/** CUBIC's C (RFC 9438 §4.1), in segments per second cubed. */
export const CUBIC_C = 0.4;
/** CUBIC's multiplicative decrease factor β_cubic (RFC 9438 §4.6). */
export const CUBIC_BETA = 0.7;
/** CUBIC's Reno-friendly additive increase α_cubic = 3(1 − β)/(1 + β) (RFC 9438 §4.3). */
export const CUBIC_ALPHA = (3 * (1 - CUBIC_BETA)) / (1 + CUBIC_BETA);

/** The congestion controller a connection drives. */
export interface CongestionControl {
  /** Which algorithm. */
  readonly name: "newreno" | "cubic";
  /** The congestion window, in bytes. */
  readonly cwnd: number;
  /** The slow-start threshold, in bytes (Infinity until the first loss). */
  readonly ssthresh: number;
  /** `bytes` of new data were cumulatively acknowledged at `now` (ms); `rttMs` if measured. */
  onAck(bytes: number, rttMs: number | null, now: number): void;
  /** Fast retransmit: loss detected by duplicate ACKs or SACK with `flight` bytes outstanding. */
  onCongestion(flight: number, now: number): void;
  /** The retransmission timer fired with `flight` bytes outstanding. */
  onRto(flight: number, now: number): void;
  /** Sending resumes after an idle period longer than the RTO (RFC 5681 §4.1). */
  onIdleRestart(now: number): void;
}

/** The algorithms {@linkcode newCongestionControl} builds. */
export type CongestionAlgorithm = "newreno" | "cubic";

/**
 * A congestion controller for a connection with segment size `mss`.
 *
 * @example
 * ```ts
 * import { newCongestionControl } from "./tcp_congestion.ts";
 * newCongestionControl("cubic", 1000).cwnd; // 10000
 * ```
 */
export function newCongestionControl(algo: CongestionAlgorithm, mss: number): CongestionControl {
  return algo === "cubic" ? new Cubic(mss) : new NewReno(mss);
}

/**
 * NewReno: slow start adds up to one MSS per ACK (RFC 5681 §3.1, appropriate
 * byte counting with L = 1 MSS), congestion avoidance one MSS per window of
 * acknowledged bytes; a loss halves the flight (at least 2 MSS); a timeout
 * drops cwnd to one MSS.
 *
 * @example
 * ```ts
 * import { NewReno } from "./tcp_congestion.ts";
 * const cc = new NewReno(1000);
 * cc.onCongestion(20_000, 0);
 * cc.cwnd; // 10000
 * ```
 */
export class NewReno implements CongestionControl {
  /** Always "newreno". */
  readonly name = "newreno";
  /** The congestion window, in bytes. */
  cwnd: number;
  /** The slow-start threshold, in bytes. */
  ssthresh: number = Infinity;
  #acc = 0;
  readonly #mss: number;

  /** Starts with the initial window of {@linkcode INITIAL_WINDOW_SEGMENTS} segments. */
  constructor(mss: number) {
    this.#mss = mss;
    this.cwnd = INITIAL_WINDOW_SEGMENTS * mss;
  }

  /** Grows cwnd: slow start below ssthresh, congestion avoidance above. */
  onAck(bytes: number, _rttMs: number | null, _now: number): void {
    if (bytes <= 0) return;
    if (this.cwnd < this.ssthresh) {
      this.cwnd += Math.min(bytes, this.#mss);
      return;
    }
    this.#acc += bytes;
    if (this.#acc >= this.cwnd) {
      this.#acc -= this.cwnd;
      this.cwnd += this.#mss;
    }
  }

  /** RFC 5681 (4): ssthresh = max(FlightSize/2, 2·SMSS); cwnd = ssthresh. */
  onCongestion(flight: number, _now: number): void {
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.#mss);
    this.cwnd = this.ssthresh;
    this.#acc = 0;
  }

  /** RFC 5681 (4) and §3.1: ssthresh as on loss, cwnd = 1 SMSS (the loss window). */
  onRto(flight: number, _now: number): void {
    this.ssthresh = Math.max(Math.floor(flight / 2), 2 * this.#mss);
    this.cwnd = this.#mss;
    this.#acc = 0;
  }

  /** RFC 5681 §4.1: cwnd = min(IW, cwnd), the restart window, so an idle flow cannot burst. */
  onIdleRestart(_now: number): void {
    this.cwnd = Math.min(this.cwnd, INITIAL_WINDOW_SEGMENTS * this.#mss);
  }
}

/**
 * W_cubic(t) = C·(t − K)³ + W_max, in segments, t in seconds (RFC 9438 Figure 1).
 *
 * @example
 * ```ts
 * import { cubicWindow } from "./tcp_congestion.ts";
 * cubicWindow(2, 2, 100); // 100: at t = K the window is back at W_max
 * ```
 */
export function cubicWindow(t: number, k: number, wMax: number): number {
  return CUBIC_C * (t - k) ** 3 + wMax;
}

/**
 * K = ∛((W_max − cwnd_epoch)/C), in seconds (RFC 9438 Figure 2): how long
 * CUBIC takes to regrow to W_max.
 *
 * @example
 * ```ts
 * import { cubicK } from "./tcp_congestion.ts";
 * cubicK(100, 70); // ∛75 ≈ 4.22
 * ```
 */
export function cubicK(wMax: number, cwndEpoch: number): number {
  return Math.cbrt(Math.max(0, wMax - cwndEpoch) / CUBIC_C);
}

/**
 * CUBIC (RFC 9438): slow start as Reno; in congestion avoidance the window
 * follows W_cubic(t) towards and past the last W_max, but never below the
 * Reno-friendly estimate W_est; a loss multiplies cwnd by β = 0.7 with fast
 * convergence (§4.7); a timeout drops cwnd to one MSS (§4.8).
 *
 * @example
 * ```ts
 * import { Cubic } from "./tcp_congestion.ts";
 * const cc = new Cubic(1000);
 * cc.onCongestion(10_000, 0);
 * cc.cwnd; // 7000
 * ```
 */
export class Cubic implements CongestionControl {
  /** Always "cubic". */
  readonly name = "cubic";
  /** The congestion window, in bytes. */
  cwnd: number;
  /** The slow-start threshold, in bytes. */
  ssthresh: number = Infinity;
  /** W_max, in segments: the window before the last reduction. */
  wMax = 0;
  /** The start of the current congestion-avoidance epoch (ms), or -1 before it begins. */
  epochStart: number = -1;
  /** K of the current epoch, in seconds. */
  k = 0;
  /** The Reno-friendly estimate W_est, in segments. */
  wEst = 0;
  #lastWMax = 0;
  #acc = 0;
  readonly #mss: number;

  /** Starts with the initial window of {@linkcode INITIAL_WINDOW_SEGMENTS} segments. */
  constructor(mss: number) {
    this.#mss = mss;
    this.cwnd = INITIAL_WINDOW_SEGMENTS * mss;
  }

  /** Grows cwnd: slow start below ssthresh, the cubic or Reno-friendly curve above. */
  onAck(bytes: number, rttMs: number | null, now: number): void {
    if (bytes <= 0) return;
    const mss = this.#mss;
    if (this.cwnd < this.ssthresh) {
      this.cwnd += Math.min(bytes, mss);
      return;
    }
    let cwnd = this.cwnd / mss;
    if (this.epochStart < 0) {
      // A new epoch (RFC 9438 §4.2): after a loss, or when slow start ended without one.
      this.epochStart = now;
      if (this.wMax <= cwnd) {
        this.wMax = cwnd;
        this.k = 0;
      } else this.k = cubicK(this.wMax, cwnd);
      this.wEst = cwnd;
    }
    const segs = bytes / mss;
    const alpha = this.wEst >= this.wMax ? 1 : CUBIC_ALPHA;
    this.wEst += (alpha * segs) / cwnd;
    const t = (now - this.epochStart) / 1000;
    const rtt = (rttMs ?? 0) / 1000;
    if (cubicWindow(t, this.k, this.wMax) < this.wEst) {
      cwnd = Math.max(cwnd, this.wEst); // the Reno-friendly region (§4.3)
    } else {
      // Concave or convex region (§4.4–4.5): grow towards W_cubic(t + RTT), at most 1.5·cwnd.
      const target = Math.min(Math.max(cubicWindow(t + rtt, this.k, this.wMax), cwnd), 1.5 * cwnd);
      this.#acc += ((target - cwnd) / cwnd) * segs;
      if (this.#acc >= 1 / 64) {
        cwnd += this.#acc;
        this.#acc = 0;
      }
    }
    this.cwnd = Math.max(2 * mss, Math.round(cwnd * mss));
  }

  /** RFC 9438 §4.6–4.7: W_max with fast convergence, ssthresh = cwnd·β, cwnd = ssthresh. */
  onCongestion(_flight: number, _now: number): void {
    this.#reduce();
    this.cwnd = this.ssthresh;
  }

  /** RFC 9438 §4.8: the same reduction of ssthresh, and cwnd = 1 MSS. */
  onRto(_flight: number, _now: number): void {
    this.#reduce();
    this.cwnd = this.#mss;
  }

  /**
   * RFC 5681 §4.1's restart window, and a fresh epoch so W_cubic(t) does not
   * count the idle time as growth (RFC 9438 §5.8).
   */
  onIdleRestart(_now: number): void {
    this.cwnd = Math.min(this.cwnd, INITIAL_WINDOW_SEGMENTS * this.#mss);
    this.epochStart = -1;
  }

  #reduce(): void {
    const mss = this.#mss;
    const cwnd = this.cwnd / mss;
    // Fast convergence: a flow whose W_max keeps falling releases bandwidth sooner.
    this.wMax = cwnd < this.#lastWMax ? (cwnd * (1 + CUBIC_BETA)) / 2 : cwnd;
    this.#lastWMax = cwnd;
    this.ssthresh = Math.max(2 * mss, Math.round(cwnd * CUBIC_BETA * mss));
    this.epochStart = -1;
    this.#acc = 0;
  }
}
