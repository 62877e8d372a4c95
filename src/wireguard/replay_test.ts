import assert from "node:assert/strict";
import { MAX_ACCEPTED_COUNTER, readCounter, ReplayFilter } from "./replay.ts";
import { mulberry32 } from "../testing/prng.ts";

Deno.test("ReplayFilter passes the Linux/wireguard-go counter sequence", () => {
  // The sequence of the kernel's counter selftest (also wireguard-go's
  // replay_test.go); REJECT_AFTER_MESSAGES becomes our first rejected counter, 2^53.
  const f = new ReplayFilter();
  const W = f.windowSize;
  const L = W + 1;
  const R = MAX_ACCEPTED_COUNTER + 1;
  const steps: Array<[number, boolean]> = [
    [0, true],
    [1, true],
    [1, false],
    [9, true],
    [8, true],
    [7, true],
    [7, false],
    [L, true],
    [L - 1, true],
    [L - 1, false],
    [L - 2, true],
    [2, true],
    [2, false],
    [L + 16, true],
    [3, false],
    [L + 16, false],
    [L * 4, true],
    [L * 4 - (L - 1), true],
    [10, false],
    [L * 4 - L, false],
    [L * 4 - (L + 1), false],
    [L * 4 - (L - 2), true],
    [L * 4 + 1 - L, false],
    [0, false],
    [R, false],
    [R - 1, true],
    [R, false],
    [R - 1, false],
    [R - 2, true],
    [R + 2, false],
    [R - 2, false],
    [R - 3, true],
    [0, false],
  ];
  steps.forEach(([n, want], i) => assert.equal(f.accept(n), want, `step ${i + 1}: ${n}`));
});

Deno.test("ReplayFilter accepts a full window in either order, and nothing beyond it", () => {
  const f = new ReplayFilter();
  const W = f.windowSize;
  const run = (counters: number[], then: Array<[number, boolean]>) => {
    f.reset();
    for (const n of counters) assert.equal(f.accept(n), true, `${n}`);
    for (const [n, want] of then) assert.equal(f.accept(n), want, `then ${n}`);
  };
  const up = (from: number, to: number) =>
    Array.from({ length: to - from + 1 }, (_, i) => from + i);
  run(up(1, W), [[0, true], [0, false]]);
  run(up(2, W + 1), [[1, true], [0, false]]);
  run(up(1, W + 1).reverse(), []);
  run(up(2, W + 2).reverse(), [[0, false]]);
  run(up(1, W).reverse(), [[W + 1, true], [0, false]]);
  run(up(1, W).reverse(), [[0, true], [W + 1, true]]);
});

Deno.test("ReplayFilter has the window it was asked for", () => {
  assert.equal(new ReplayFilter().windowSize, 8160);
  assert.equal(new ReplayFilter(2048).windowSize, 4064); // 128 blocks of 32, one spare
  assert.equal(new ReplayFilter(1).windowSize, 32);
  assert.equal(new ReplayFilter(33).windowSize, 96);
  for (const bad of [0, -5, 1.5, NaN, 2 ** 25]) {
    assert.throws(() => new ReplayFilter(bad), RangeError, String(bad));
  }
});

Deno.test("ReplayFilter rejects counters that are not safe non-negative integers", () => {
  const f = new ReplayFilter();
  for (const bad of [-1, 0.5, NaN, Infinity, -Infinity, 2 ** 53, 2 ** 64]) {
    assert.equal(f.accept(bad), false, String(bad));
  }
  // Rejected values did not move the window.
  assert.equal(f.accept(0), true);
  assert.equal(f.accept(1), true);
});

Deno.test("ReplayFilter.reset() forgets every counter", () => {
  const f = new ReplayFilter();
  for (let i = 0; i < 100; i++) f.accept(i);
  f.accept(1_000_000);
  assert.equal(f.accept(5), false);
  f.reset();
  for (let i = 0; i < 100; i++) assert.equal(f.accept(i), true);
});

Deno.test("ReplayFilter matches a Set-based oracle on random sequences", () => {
  for (const [seed, minWindow] of [[1, 8160], [2, 2048], [3, 64], [4, 1]] as const) {
    const rand = mulberry32(seed);
    const f = new ReplayFilter(minWindow);
    const W = f.windowSize;
    const seen = new Set<number>();
    let max = 0;
    let next = 0;
    for (let i = 0; i < 50_000; i++) {
      // Mostly in order with reordering, plus duplicates, stale counters and big jumps.
      const r = rand();
      let n: number;
      if (r < 0.6) n = next++;
      else if (r < 0.8) n = Math.max(0, next - 1 - Math.floor(rand() * W * 1.2));
      else if (r < 0.9) n = Math.max(0, max - W - 1 + Math.floor(rand() * 3));
      else if (r < 0.99) n = next + Math.floor(rand() * 64);
      else n = next = next + Math.floor(rand() * W * 5);
      const want = !seen.has(n) && max - n <= W;
      assert.equal(f.accept(n), want, `seed ${seed} step ${i}: ${n} (max ${max})`);
      if (want) {
        seen.add(n);
        if (n > max) max = n;
      }
    }
  }
});

Deno.test("ReplayFilter works on counters near 2^53", () => {
  const f = new ReplayFilter();
  const base = MAX_ACCEPTED_COUNTER - 20_000;
  assert.equal(f.accept(base), true);
  assert.equal(f.accept(base + 3), true);
  assert.equal(f.accept(base + 1), true);
  assert.equal(f.accept(base + 3), false);
  assert.equal(f.accept(base + 10_000), true);
  assert.equal(f.accept(base + 2), false); // now too old
  assert.equal(f.accept(base + 10_000 - f.windowSize), true);
  assert.equal(f.accept(MAX_ACCEPTED_COUNTER), true);
  assert.equal(f.accept(MAX_ACCEPTED_COUNTER), false);
});

Deno.test("readCounter() reads a little-endian u64 and maps 2^53 and above to Infinity", () => {
  const b = new Uint8Array(12);
  assert.equal(readCounter(b, 4), 0);
  b.set([0xef, 0xcd, 0xab, 0x89, 0x67, 0x45, 0x03, 0x00], 2);
  assert.equal(readCounter(b, 2), 0x0345_6789_abcdef);
  b.set([0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0x1f, 0x00], 0);
  assert.equal(readCounter(b, 0), MAX_ACCEPTED_COUNTER);
  b.set([0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x20, 0x00], 0);
  assert.equal(readCounter(b, 0), Infinity);
  b.fill(0xff);
  assert.equal(readCounter(b, 0), Infinity);
  assert.throws(() => readCounter(b, 5), RangeError);
  assert.throws(() => readCounter(b, -1), RangeError);
});

Deno.test("ReplayFilter.restoreSeen() refuses every counter up to the one given, takes the next", () => {
  for (const highest of [0, 5, 30, 31, 32, 63, 8200, 2 ** 40 + 17]) {
    const f = new ReplayFilter();
    f.restoreSeen(highest);
    assert.equal(f.highest, highest);
    for (const c of [highest, highest - 1, highest - 31, highest - 32, highest - 100]) {
      if (c >= 0) assert.equal(f.accept(c), false, `${c} after restoreSeen(${highest})`);
    }
    for (let c = highest + 1; c <= highest + 40; c++) assert.equal(f.accept(c), true, `${c}`);
    assert.equal(f.accept(highest + 40), false);
  }
  const fresh = new ReplayFilter();
  assert.equal(fresh.highest, -1);
  fresh.restoreSeen(-1);
  assert.equal(fresh.accept(0), true);
  assert.equal(fresh.highest, 0);
  assert.throws(() => fresh.restoreSeen(1.5), RangeError);
  assert.throws(() => fresh.restoreSeen(-2), RangeError);
});
