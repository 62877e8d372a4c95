/**
 * The netcheck loop: measures the DERP regions one round at a time, every 20–26 s
 * (tailscaled's periodic re-STUN: just under the common 30 s UDP NAT timeout) and
 * whenever asked (a link change), and moves the home region only when another is
 * clearly better over the recent rounds ({@link choosePreferred}).
 *
 * @module
 */
import { Rerunner } from "../net/rerunner.ts";
import type { RegionLatency } from "./derp_home.ts";
import {
  choosePreferred,
  PREFERRED_DERP_FRAME_TIME_MS,
  PREFERRED_DERP_KEEPALIVE_TIMEOUT_MS,
  ReportHistory,
} from "./preferred_derp.ts";

/** Shortest wait between rounds (magicsock: RandomDurationBetween(20 s, 26 s)). */
export const NETCHECK_INTERVAL_MS = 20_000;
/** Up to this much is added to each wait, at random. */
export const NETCHECK_JITTER_MS = 6_000;

/** Clock and timers, replaceable in tests. */
export interface NetcheckClock {
  /** Milliseconds on a monotonic clock. */
  now(): number;
  /** Calls fn after ms; returns a handle for clearTimeout. */
  setTimeout(fn: () => void, ms: number): unknown;
  /** Cancels a pending call. */
  clearTimeout(handle: unknown): void;
}

const realClock: NetcheckClock = {
  now: () => performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as number),
};

/** One finished round. */
export interface NetcheckReport {
  /** When it finished ({@link NetcheckClock.now}). */
  at: number;
  /** Every measured region's latency, null where nothing answered. */
  regions: RegionLatency[];
  /** The home the round settled on (0 if none). */
  preferred: number;
  /** The home before the round. */
  previous: number;
}

/** Options for {@link NetcheckLoop}. */
export interface NetcheckLoopOptions {
  /** Measures every region once (e.g. measureRegions(derpMap, plainHttp)). */
  measure: () => Promise<RegionLatency[]>;
  /** The current home region, 0 if none. */
  home: () => number;
  /** Moves home to `region` (connect, mark preferred, tell control); called only on a change. */
  setHome: (region: number, measured: RegionLatency[]) => Promise<void>;
  /** One line per home change or failed round. */
  log: (line: string) => void;
  /** HomeParams.RegionScore of the current DERP map. */
  scores?: () => Record<string, number> | null | undefined;
  /**
   * When a DERP frame last came from `region` ({@link NetcheckClock.now} ms), null if
   * never: a home still carrying traffic counts as reachable even if its STUN probe
   * was lost.
   */
  lastHeard?: (region: number) => number | null;
  /** Whether periodic rounds are worth doing now (e.g. there are peers); default yes. */
  active?: () => boolean;
  /** Hears every finished round (for NetInfo.DERPLatency, status). */
  onReport?: (report: NetcheckReport) => void;
  /** Shortest wait between rounds (default {@link NETCHECK_INTERVAL_MS}). */
  intervalMs?: number;
  /** Random extra wait, up to (default {@link NETCHECK_JITTER_MS}). */
  jitterMs?: number;
  /** Clock and timers (tests). */
  clock?: NetcheckClock;
  /** Random numbers in [0, 1) (tests). */
  random?: () => number;
}

/**
 * Periodic and on-demand netcheck rounds, never two at once.
 *
 * @example
 * ```ts ignore
 * const loop = new NetcheckLoop({
 *   measure: () => measureRegions(derpMap, false),
 *   home: () => derp.home,
 *   setHome: async (region) => derp.setHome(region),
 *   log: console.log,
 * });
 * loop.start();          // a round now, then every 20–26 s
 * await loop.request();  // after a link change
 * loop.stop();
 * ```
 */
export class NetcheckLoop {
  readonly #o: NetcheckLoopOptions;
  readonly #clock: NetcheckClock;
  readonly #random: () => number;
  readonly #history = new ReportHistory();
  readonly #runner: Rerunner;
  #timer: unknown = null;
  #started = false;
  #stopped = false;
  #last: NetcheckReport | null = null;

  /** Creates the loop; nothing runs until {@link start} or {@link request}. */
  constructor(opts: NetcheckLoopOptions) {
    this.#o = opts;
    this.#clock = opts.clock ?? realClock;
    this.#random = opts.random ?? Math.random;
    this.#runner = new Rerunner(
      () => this.#round(),
      (e) => opts.log(`netcheck: ${e instanceof Error ? e.message : e}`),
    );
  }

  /** The last finished round, null before the first. */
  get lastReport(): NetcheckReport | null {
    return this.#last;
  }

  /** Runs a round now and keeps running them periodically until {@link stop}. */
  start(): void {
    if (this.#started || this.#stopped) return;
    this.#started = true;
    void this.request();
  }

  /**
   * Asks for a round (a link changed); requests during a round fold into one more
   * after it. Resolves when a round that started after the request has finished.
   */
  request(): Promise<void> {
    return this.#runner.request();
  }

  /** Stops the timer; a round under way finishes but moves no home. */
  stop(): void {
    this.#stopped = true;
    this.#runner.stop();
    this.#cancelTimer();
  }

  async #round(): Promise<void> {
    try {
      await this.#measureAndPick();
    } finally {
      // Like magicsock, the next periodic round counts from the end of the last one.
      this.#schedule();
    }
  }

  async #measureAndPick(): Promise<void> {
    if (this.#stopped) return;
    const started = this.#clock.now();
    const measured = await this.#o.measure();
    if (this.#stopped) return;
    const now = this.#clock.now();
    this.#history.add(now, measured);
    const previous = this.#o.home();
    const heard = previous !== 0 ? this.#o.lastHeard?.(previous) ?? null : null;
    const preferred = choosePreferred({
      current: measured,
      bestRecent: this.#history.bestRecent(),
      previous,
      scores: this.#o.scores?.(),
      previousHeardRecently: heard !== null &&
        (heard > started || heard > now - PREFERRED_DERP_FRAME_TIME_MS),
      previousHeardWithinKeepAlive: heard !== null &&
        heard > now - PREFERRED_DERP_KEEPALIVE_TIMEOUT_MS,
    });
    const report = { at: now, regions: measured, preferred, previous };
    this.#last = report;
    this.#o.onReport?.(report);
    if (preferred !== 0 && preferred !== previous) {
      const ms = measured.find((m) => m.regionId === preferred)?.latencyMs;
      this.#o.log(
        `netcheck: home DERP ${previous || "none"} -> ${preferred}` +
          (ms != null ? ` (${ms.toFixed(1)} ms)` : ""),
      );
      await this.#o.setHome(preferred, measured);
    }
  }

  #schedule(): void {
    this.#cancelTimer();
    if (!this.#started || this.#stopped) return;
    const base = this.#o.intervalMs ?? NETCHECK_INTERVAL_MS;
    const jitter = this.#o.jitterMs ?? NETCHECK_JITTER_MS;
    const delay = base + Math.floor(this.#random() * jitter);
    this.#timer = this.#clock.setTimeout(() => {
      this.#timer = null;
      if (this.#stopped) return;
      // Idle: skip this round but look again later (magicsock stops until activity).
      if (this.#o.active && !this.#o.active()) this.#schedule();
      else void this.request();
    }, delay);
  }

  #cancelTimer(): void {
    if (this.#timer !== null) this.#clock.clearTimeout(this.#timer);
    this.#timer = null;
  }
}
