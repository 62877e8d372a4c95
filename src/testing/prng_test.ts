import assert from "node:assert/strict";
import { mulberry32 } from "./prng.ts";

Deno.test("mulberry32() gives the reference sequence for seed 1 (0.6270739405881613, …)", () => {
  const r = mulberry32(1);
  const first = r();
  assert.equal(first, 0.6270739405881613);
  assert.deepEqual([first, r(), r()].map((x) => x * 2 ** 32), [2693262067, 11749833, 2265367787]);
});

Deno.test("mulberry32() repeats per seed, differs across seeds and stays in [0, 1)", () => {
  const a = mulberry32(42), b = mulberry32(42), c = mulberry32(43);
  const xs = Array.from({ length: 1000 }, () => a());
  assert.deepEqual(Array.from({ length: 1000 }, () => b()), xs);
  assert.notDeepEqual(Array.from({ length: 1000 }, () => c()), xs);
  for (const x of xs) assert.ok(x >= 0 && x < 1, String(x));
});
