import assert from "node:assert/strict";
import type { RegionLatency } from "./derp_home.ts";
import { choosePreferred, REPORT_HISTORY_MAX_AGE_MS, ReportHistory } from "./preferred_derp.ts";

const lat = (pairs: Record<number, number | null>): RegionLatency[] =>
  Object.entries(pairs).map(([id, ms]) => ({
    regionId: Number(id),
    latencyMs: ms,
    method: ms === null ? "none" : "stun",
  }));

Deno.test("ReportHistory keeps each region's best latency and forgets reports past the window", () => {
  const h = new ReportHistory();
  h.add(0, lat({ 1: 5, 2: 40 }));
  h.add(1000, lat({ 1: 30, 2: 20 }));
  assert.deepEqual([...h.bestRecent()].sort(), [[1, 5], [2, 20]]);
  h.add(REPORT_HISTORY_MAX_AGE_MS + 1, lat({ 1: 30 }));
  assert.deepEqual([...h.bestRecent()].sort(), [[1, 30], [2, 20]]);
});

Deno.test("choosePreferred() only considers regions that answered this round", () => {
  const best = new Map([[1, 5], [2, 20]]);
  assert.equal(
    choosePreferred({ current: lat({ 1: null, 2: 25 }), bestRecent: best, previous: 0 }),
    2,
  );
});

Deno.test("choosePreferred() scales by RegionScore before comparing", () => {
  const current = lat({ 1: 10, 2: 30 });
  const best = new Map([[1, 10], [2, 30]]);
  assert.equal(choosePreferred({ current, bestRecent: best, previous: 0, scores: { "1": 10 } }), 2);
});

Deno.test("choosePreferred() keeps a quiet home within the keep-alive window when nothing answered", () => {
  const input = { current: lat({ 1: null }), bestRecent: new Map(), previous: 1 };
  assert.equal(choosePreferred(input), 0);
  assert.equal(choosePreferred({ ...input, previousHeardWithinKeepAlive: true }), 1);
});
