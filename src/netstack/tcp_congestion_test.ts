import assert from "node:assert/strict";
import {
  Cubic,
  CUBIC_ALPHA,
  cubicK,
  cubicWindow,
  newCongestionControl,
  NewReno,
} from "./tcp_congestion.ts";

const MSS = 1000;

/** Acks a whole window one MSS at a time, `rtt` ms after `now`; returns the new time. */
function ackWindow(
  cc: { cwnd: number; onAck(b: number, r: number, n: number): void },
  now: number,
  rtt: number,
) {
  const segs = Math.floor(cc.cwnd / MSS);
  for (let i = 0; i < segs; i++) cc.onAck(MSS, rtt, now + rtt);
  return now + rtt;
}

Deno.test("NewReno slow start doubles the window each round trip from IW10", () => {
  const cc = new NewReno(MSS);
  assert.equal(cc.cwnd, 10 * MSS);
  ackWindow(cc, 0, 50);
  assert.equal(cc.cwnd, 20 * MSS);
  ackWindow(cc, 50, 50);
  assert.equal(cc.cwnd, 40 * MSS);
});

Deno.test("NewReno slow start counts at most one MSS per ACK (ABC, L = 1)", () => {
  const cc = new NewReno(MSS);
  cc.onAck(5 * MSS, null, 0);
  assert.equal(cc.cwnd, 11 * MSS);
});

Deno.test("NewReno congestion avoidance adds one MSS per window acknowledged", () => {
  const cc = new NewReno(MSS);
  cc.onCongestion(40 * MSS, 0);
  assert.equal(cc.ssthresh, 20 * MSS);
  assert.equal(cc.cwnd, 20 * MSS);
  ackWindow(cc, 0, 50);
  assert.equal(cc.cwnd, 21 * MSS);
  ackWindow(cc, 50, 50);
  assert.equal(cc.cwnd, 22 * MSS);
});

Deno.test("NewReno keeps ssthresh at 2 MSS at least and a timeout leaves one MSS", () => {
  const cc = new NewReno(MSS);
  cc.onCongestion(MSS, 0);
  assert.equal(cc.ssthresh, 2 * MSS);
  cc.onRto(30 * MSS, 0);
  assert.equal(cc.ssthresh, 15 * MSS);
  assert.equal(cc.cwnd, MSS);
});

Deno.test("cubicWindow() and cubicK() match RFC 9438's Figures 1 and 2", () => {
  assert.ok(Math.abs(cubicK(100, 70) - Math.cbrt(30 / 0.4)) < 1e-12);
  const k = cubicK(100, 70);
  assert.ok(Math.abs(cubicWindow(0, k, 100) - 70) < 1e-9, "W_cubic(0) = cwnd_epoch");
  assert.equal(cubicWindow(k, k, 100), 100);
  assert.ok(Math.abs(cubicWindow(k + 1, k, 100) - 100.4) < 1e-9);
  assert.ok(Math.abs(CUBIC_ALPHA - 0.9 / 1.7) < 1e-12);
});

Deno.test("Cubic cuts by β = 0.7 and regrows along W_cubic(t) on a long path", () => {
  const cc = new Cubic(MSS);
  cc.cwnd = 100 * MSS;
  cc.ssthresh = 50 * MSS;
  cc.onCongestion(100 * MSS, 0);
  assert.equal(cc.cwnd, 70 * MSS);
  assert.equal(cc.ssthresh, 70 * MSS);
  assert.equal(cc.wMax, 100);
  // With a 200 ms RTT the cubic curve is above Reno's estimate: cwnd tracks W_cubic.
  const rtt = 200;
  let now = 0;
  const k = cubicK(100, 70);
  while (now < 1000 * (k + 1)) {
    now = ackWindow(cc, now, rtt);
    const expect = cubicWindow((now - rtt) / 1000, k, 100);
    assert.ok(cc.wEst < expect + 1, `reno-friendly estimate ${cc.wEst} stays below ${expect}`);
    const got = cc.cwnd / MSS;
    assert.ok(
      Math.abs(got - expect) / expect < 0.06,
      `at ${now} ms cwnd ${got}, W_cubic ${expect}`,
    );
  }
  assert.ok(Math.abs(cc.k - k) < 1e-9);
});

Deno.test("Cubic follows the Reno-friendly W_est on a short path with a small window", () => {
  const cc = new Cubic(MSS);
  cc.onCongestion(10 * MSS, 0); // W_max 10, cwnd 7
  let now = 0;
  for (let i = 0; i < 8; i++) now = ackWindow(cc, now, 5);
  const t = (now - 5) / 1000;
  assert.ok(cubicWindow(t, cc.k, 10) < cc.wEst, "W_cubic is below W_est: the Reno-friendly region");
  assert.equal(cc.cwnd, Math.round(cc.wEst * MSS));
  // 8 round trips at α ≈ 0.53 per window (1 once W_est passes W_max) from 7 segments.
  assert.ok(cc.wEst > 7 + 8 * CUBIC_ALPHA - 0.5 && cc.wEst < 7 + 8, `W_est ${cc.wEst}`);
});

Deno.test("Cubic fast convergence lowers W_max when losses come at a falling window", () => {
  const cc = new Cubic(MSS);
  cc.cwnd = 100 * MSS;
  cc.onCongestion(0, 0);
  assert.equal(cc.wMax, 100);
  cc.cwnd = 80 * MSS;
  cc.onCongestion(0, 0);
  assert.equal(cc.wMax, (80 * 1.7) / 2);
  cc.onRto(0, 0);
  assert.equal(cc.cwnd, MSS);
  assert.equal(cc.ssthresh, Math.round(56 * 0.7 * MSS));
});

Deno.test("newCongestionControl() builds either algorithm behind the interface", () => {
  assert.equal(newCongestionControl("cubic", MSS).name, "cubic");
  assert.equal(newCongestionControl("newreno", MSS).name, "newreno");
});

Deno.test("an idle restart caps cwnd at the initial window and starts a new CUBIC epoch", () => {
  for (const cc of [new NewReno(MSS), new Cubic(MSS)]) {
    cc.onAck(40 * MSS, null, 0);
    for (let i = 0; i < 40; i++) cc.onAck(MSS, 10, i);
    assert.ok(cc.cwnd > 10 * MSS);
    cc.onIdleRestart(10_000);
    assert.equal(cc.cwnd, 10 * MSS, cc.name);
  }
  const c = new Cubic(MSS);
  c.onCongestion(20 * MSS, 0);
  c.onAck(MSS, 10, 5);
  assert.equal(c.epochStart, 5);
  c.onIdleRestart(60_000);
  assert.equal(c.epochStart, -1);
});
