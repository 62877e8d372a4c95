import assert from "node:assert/strict";
import type { RegionLatency } from "./derp_home.ts";
import { NetcheckLoop, type NetcheckLoopOptions } from "./netcheck_loop.ts";

/** Timers that fire only when the test advances time. */
class FakeClock {
  t = 0;
  #next = 1;
  readonly timers = new Map<number, { at: number; fn: () => void }>();
  now = () => this.t;
  setTimeout = (fn: () => void, ms: number): unknown => {
    const id = this.#next++;
    this.timers.set(id, { at: this.t + ms, fn });
    return id;
  };
  clearTimeout = (h: unknown): void => void this.timers.delete(h as number);
  /** Moves time forward, firing due timers in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      const due = [...this.timers].filter(([, v]) => v.at <= end).sort((a, b) => a[1].at - b[1].at);
      if (due.length === 0) break;
      const [id, v] = due[0];
      this.timers.delete(id);
      this.t = v.at;
      v.fn();
    }
    this.t = end;
  }
}

const lat = (pairs: Record<number, number | null>): RegionLatency[] =>
  Object.entries(pairs).map(([id, ms]) => ({
    regionId: Number(id),
    latencyMs: ms,
    method: ms === null ? "none" : "stun",
  }));

const settle = async () => {
  for (let i = 0; i < 20; i++) await Promise.resolve();
};

function harness(over: Partial<NetcheckLoopOptions> = {}) {
  const clock = new FakeClock();
  const rounds: RegionLatency[][] = [];
  let next = lat({ 1: 30, 2: 50 });
  let home = 0;
  const homes: number[] = [];
  const loop = new NetcheckLoop({
    measure: () => {
      rounds.push(next);
      return Promise.resolve(next);
    },
    home: () => home,
    setHome: (region) => {
      home = region;
      homes.push(region);
      return Promise.resolve();
    },
    log: () => {},
    clock,
    random: () => 0.5,
    ...over,
  });
  return {
    clock,
    loop,
    rounds,
    homes,
    setNext: (l: RegionLatency[]) => next = l,
  };
}

Deno.test("NetcheckLoop runs a round at start, then every interval plus jitter after the last", async () => {
  const h = harness();
  h.loop.start();
  await settle();
  assert.equal(h.rounds.length, 1);
  assert.deepEqual(h.homes, [1]);
  assert.equal(h.loop.lastReport?.preferred, 1);
  h.clock.advance(22_999); // 20 s + 0.5 × 6 s = 23 s
  await settle();
  assert.equal(h.rounds.length, 1);
  h.clock.advance(1);
  await settle();
  assert.equal(h.rounds.length, 2);
  h.clock.advance(23_000);
  await settle();
  assert.equal(h.rounds.length, 3);
  h.loop.stop();
});

Deno.test("NetcheckLoop never runs two rounds at once; requests during a round fold into one", async () => {
  const clock = new FakeClock();
  let active = 0, maxActive = 0, runs = 0;
  let release!: () => void;
  const loop = new NetcheckLoop({
    measure: async () => {
      runs++;
      active++;
      maxActive = Math.max(maxActive, active);
      await new Promise<void>((r) => release = r);
      active--;
      return lat({ 1: 10 });
    },
    home: () => 1,
    setHome: () => Promise.resolve(),
    log: () => {},
    clock,
  });
  const first = loop.request();
  await settle();
  const more = [loop.request(), loop.request(), loop.request()];
  release();
  await settle();
  assert.equal(runs, 2, "three requests during the round gave one more round");
  release();
  await Promise.all([first, ...more]);
  assert.equal(runs, 2);
  assert.equal(maxActive, 1);
  loop.stop();
});

Deno.test("NetcheckLoop keeps the home unless another region is clearly better", async () => {
  const h = harness();
  h.setNext(lat({ 1: 40, 2: 50 }));
  h.loop.start();
  await settle();
  assert.deepEqual(h.homes, [1]);
  h.setNext(lat({ 1: 40, 2: 28 }));
  await h.loop.request();
  assert.deepEqual(h.homes, [1], "12 ms better but not a third faster (28 > 40 × 2/3): stay");
  h.setNext(lat({ 1: 30, 2: 25 }));
  await h.loop.request();
  assert.deepEqual(h.homes, [1], "a third faster would be 20 ms, and only 5 ms better: stay");
  h.setNext(lat({ 1: 60, 2: 20 }));
  await h.loop.request();
  assert.deepEqual(h.homes, [1, 2], "40 ms and three times faster: move");
  h.loop.stop();
});

Deno.test("NetcheckLoop judges the best region by its best latency over recent rounds", async () => {
  let heard: number | null = null;
  const h = harness({ lastHeard: () => heard });
  h.setNext(lat({ 1: 30, 2: 50 }));
  h.loop.start();
  await settle();
  assert.deepEqual(h.homes, [1]);
  // Region 1's probe is lost but its DERP link carries traffic: home stays; region 2 shows 5 ms.
  heard = h.clock.now();
  h.setNext(lat({ 1: null, 2: 5 }));
  await h.loop.request();
  assert.deepEqual(h.homes, [1]);
  // This round alone (30 vs 28) would stay; region 2's recent best of 5 ms is clearly better.
  h.setNext(lat({ 1: 30, 2: 28 }));
  await h.loop.request();
  assert.deepEqual(h.homes, [1, 2]);
  h.loop.stop();
});

Deno.test("NetcheckLoop keeps a home whose STUN probe was lost while DERP traffic still flows", async () => {
  let heard: number | null = null;
  const h = harness({ lastHeard: () => heard });
  h.loop.start();
  await settle();
  assert.deepEqual(h.homes, [1]);
  h.setNext(lat({ 1: null, 2: 50 }));
  heard = h.clock.now();
  await h.loop.request();
  assert.deepEqual(h.homes, [1], "heard from region 1 just now: keep it");
  heard = null;
  await h.loop.request();
  assert.deepEqual(h.homes, [1, 2], "silent and unmeasured: move");
  h.loop.stop();
});

Deno.test("NetcheckLoop.stop() cancels the timer and no later round runs", async () => {
  const h = harness();
  h.loop.start();
  await settle();
  assert.equal(h.clock.timers.size, 1);
  h.loop.stop();
  assert.equal(h.clock.timers.size, 0);
  h.clock.advance(120_000);
  await h.loop.request();
  assert.equal(h.rounds.length, 1);
});

Deno.test("NetcheckLoop skips periodic rounds while inactive but still serves request()", async () => {
  let active = false;
  const h = harness({ active: () => active });
  h.loop.start();
  await settle();
  h.clock.advance(60_000);
  await settle();
  assert.equal(h.rounds.length, 1);
  await h.loop.request();
  assert.equal(h.rounds.length, 2);
  active = true;
  h.clock.advance(23_000);
  await settle();
  assert.equal(h.rounds.length, 3);
  h.loop.stop();
});
