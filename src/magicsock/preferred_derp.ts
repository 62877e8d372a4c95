/**
 * Which DERP region to call home, with netcheck's stickiness: the best region over
 * the recent reports wins, but the current home is kept while it is still reachable
 * and the best is not clearly better — less than 10 ms faster, or not at least a
 * third faster (tailscaled net/netcheck `addReportHistoryAndSetPreferredDERP`).
 *
 * @module
 */
import type { RegionLatency } from "./derp_home.ts";

/** A better region must beat the home by at least this much to take over (preferredDERPAbsoluteDiff). */
export const PREFERRED_DERP_ABSOLUTE_DIFF_MS = 10;
/** How long a report counts towards a region's best latency (fullReportInterval + ReportTimeout). */
export const REPORT_HISTORY_MAX_AGE_MS: number = 5 * 60_000 + 5_000;
/** DERP traffic this recent counts as "the home still works" without STUN (PreferredDERPFrameTime). */
export const PREFERRED_DERP_FRAME_TIME_MS = 8_000;
/** With no latency data at all, a home heard from this recently is kept (2 × derp.KeepAlive). */
export const PREFERRED_DERP_KEEPALIVE_TIMEOUT_MS = 120_000;

/** Region latencies of reports over the last {@link REPORT_HISTORY_MAX_AGE_MS}. */
export class ReportHistory {
  readonly #reports: { at: number; latency: Map<number, number> }[] = [];
  readonly #maxAgeMs: number;

  /** An empty history; reports older than `maxAgeMs` are forgotten as new ones come. */
  constructor(maxAgeMs = REPORT_HISTORY_MAX_AGE_MS) {
    this.#maxAgeMs = maxAgeMs;
  }

  /** Adds a report taken at `at` (ms) and drops those older than the window. */
  add(at: number, measured: readonly RegionLatency[]): void {
    const latency = new Map<number, number>();
    for (const m of measured) if (m.latencyMs !== null) latency.set(m.regionId, m.latencyMs);
    this.#reports.push({ at, latency });
    while (this.#reports.length > 0 && at - this.#reports[0].at > this.#maxAgeMs) {
      this.#reports.shift();
    }
  }

  /** The lowest latency each region showed in the reports kept. */
  bestRecent(): Map<number, number> {
    const best = new Map<number, number>();
    for (const r of this.#reports) {
      for (const [id, ms] of r.latency) {
        const b = best.get(id);
        if (b === undefined || ms < b) best.set(id, ms);
      }
    }
    return best;
  }
}

/** What {@link choosePreferred} weighs. */
export interface PreferenceInput {
  /** This round's latencies. */
  current: readonly RegionLatency[];
  /** Best latency per region over the recent reports, this round included. */
  bestRecent: ReadonlyMap<number, number>;
  /** The home so far, 0 if none. */
  previous: number;
  /** HomeParams.RegionScore: a region's latency is multiplied by its score when positive. */
  scores?: Record<string, number> | null;
  /** Whether DERP traffic came from the previous home during this round or just before it. */
  previousHeardRecently?: boolean;
  /** Whether DERP traffic came from it within {@link PREFERRED_DERP_KEEPALIVE_TIMEOUT_MS}. */
  previousHeardWithinKeepAlive?: boolean;
}

/**
 * The preferred region: among regions answering this round, the lowest (scored)
 * recent best; the previous home instead while it is reachable and the winner is
 * within 10 ms of it or less than a third faster. 0 if nothing answered and the old
 * home has gone quiet.
 *
 * @example
 * ```ts
 * const current = [
 *   { regionId: 1, latencyMs: 30, method: "stun" as const },
 *   { regionId: 2, latencyMs: 25, method: "stun" as const },
 * ];
 * const bestRecent = new Map([[1, 30], [2, 25]]);
 * choosePreferred({ current, bestRecent, previous: 1 }); // 1: only 5 ms better
 * ```
 */
export function choosePreferred(input: PreferenceInput): number {
  const scale = (id: number, ms: number) => {
    const s = input.scores?.[String(id)];
    return s && s > 0 ? ms * s : ms;
  };
  const prev = input.previous;
  let preferred = 0;
  let bestAny = 0;
  let oldCur = 0;
  let oldAnswered = false;
  const answered = input.current.filter((m) => m.latencyMs !== null)
    .sort((a, b) => a.regionId - b.regionId);
  for (const m of answered) {
    const d = scale(m.regionId, m.latencyMs!);
    if (m.regionId === prev) {
      oldCur = d;
      oldAnswered = true;
    }
    const best = scale(m.regionId, input.bestRecent.get(m.regionId) ?? m.latencyMs!);
    if (preferred === 0 || best < bestAny) {
      bestAny = best;
      preferred = m.regionId;
    }
  }
  const changing = prev !== 0 && preferred !== prev;
  // Heard from over DERP but not over STUN: oldCur stays 0, so the old home is kept.
  const oldAccessible = oldAnswered || !!input.previousHeardRecently;
  if (changing && oldAccessible) {
    const closeInMs = oldCur - bestAny < PREFERRED_DERP_ABSOLUTE_DIFF_MS;
    const closeInRatio = bestAny > oldCur / 3 * 2;
    if (closeInMs || closeInRatio) preferred = prev;
  }
  if (preferred === 0 && input.previousHeardWithinKeepAlive) preferred = prev;
  return preferred;
}
