import assert from "node:assert/strict";
import { RTO_INITIAL_MS, RTO_MAX_MS, RTO_MIN_MS, RttEstimator, RttSampler } from "./tcp_rtt.ts";

Deno.test("RttEstimator starts at the initial RTO of 1 s", () => {
  assert.equal(new RttEstimator().rto, RTO_INITIAL_MS);
});

Deno.test("RttEstimator follows RFC 6298's formulas sample by sample", () => {
  const r = new RttEstimator({ minRtoMs: 0 });
  r.sample(100);
  assert.equal(r.srtt, 100);
  assert.equal(r.rttvar, 50);
  assert.equal(r.rto, 300);
  r.sample(200);
  // RTTVAR = 3/4·50 + 1/4·|100 − 200| = 62.5; SRTT = 7/8·100 + 1/8·200 = 112.5
  assert.equal(r.rttvar, 62.5);
  assert.equal(r.srtt, 112.5);
  assert.equal(r.rto, 112.5 + 4 * 62.5);
});

Deno.test("RttEstimator keeps the RTO at the 200 ms floor on a fast path", () => {
  const r = new RttEstimator();
  for (let i = 0; i < 50; i++) r.sample(2);
  assert.equal(r.rto, RTO_MIN_MS);
});

Deno.test("RttEstimator uses the clock granularity when RTTVAR reaches zero", () => {
  const r = new RttEstimator({ minRtoMs: 0 });
  for (let i = 0; i < 200; i++) r.sample(50);
  assert.ok(r.rttvar < 0.25);
  assert.ok(Math.abs(r.rto - 51) < 1e-6, `rto ${r.rto}`);
});

Deno.test("backoff() doubles the RTO up to 120 s and a new sample clears it", () => {
  const r = new RttEstimator();
  r.sample(100);
  r.backoff();
  assert.equal(r.rto, 600);
  r.backoff();
  assert.equal(r.rto, 1200);
  for (let i = 0; i < 30; i++) r.backoff();
  assert.equal(r.rto, RTO_MAX_MS);
  assert.ok(r.backoffs < 20);
  r.sample(100);
  assert.equal(r.backoffs, 0);
  assert.ok(r.rto < 1000);
});

Deno.test("RttSampler times one segment and Karn's rule drops a retransmitted one", () => {
  const s = new RttSampler();
  s.start(0xffff_fff0 + 100, 10);
  assert.equal(s.onAck(0xffff_fff0 + 50, 20), null); // does not cover it
  assert.equal(s.onAck((0xffff_fff0 + 100) >>> 0, 70), 60);
  assert.equal(s.timing, false);
  s.start(500, 100);
  s.onRetransmit();
  assert.equal(s.onAck(500, 400), null);
});
