import assert from "node:assert/strict";
import { toHex } from "../bytes/hex.ts";
import { type FuzzCase, fuzzCases, mutate } from "./mutate.ts";
import {
  attempt,
  attemptAsync,
  documentedError,
  invariant,
  runFuzz,
  runFuzzAsync,
} from "./fuzz.ts";
import { mulberry32 } from "./prng.ts";

const seed = Uint8Array.from([1, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]);

Deno.test("fuzzCases() repeats per PRNG seed and differs across seeds", () => {
  const run = (s: number) =>
    [...fuzzCases([seed], { seed: s, count: 300 })].map((c) => toHex(c.input));
  assert.deepEqual(run(11), run(11));
  assert.notDeepEqual(run(11), run(12));
});

Deno.test("fuzzCases() yields the seeds, then every prefix of short seeds, then mutations", () => {
  const long = new Uint8Array(100);
  const cases = [...fuzzCases([seed, long], { seed: 1, count: 10, prefixesUpTo: 64 })];
  assert.equal(cases.length, 2 + seed.length + 10);
  assert.deepEqual(cases.map((c) => c.index), cases.map((_, i) => i));
  assert.equal(cases[0].ops, "seed");
  assert.deepEqual(cases[0].input, seed);
  assert.deepEqual(cases[1].input, long);
  for (let n = 0; n < seed.length; n++) assert.deepEqual(cases[2 + n].input, seed.slice(0, n));
});

Deno.test("mutate() changes the input and aims at declared length fields", () => {
  const rand = mulberry32(7);
  let changed = 0, lenOps = 0;
  const values = new Set<number>();
  for (let i = 0; i < 2000; i++) {
    const { bytes, ops } = mutate(rand, seed, [{ offset: 1, size: 4 }]);
    if (toHex(bytes) !== toHex(seed)) changed++;
    if (ops === "len(1/4=0)" || ops.startsWith("len(1/4=")) {
      lenOps++;
      values.add(bytes.length >= 5 ? new DataView(bytes.buffer).getUint32(1) : -1);
    }
  }
  assert.ok(changed > 1800, `only ${changed} of 2000 changed`);
  assert.ok(lenOps > 100, `only ${lenOps} length-field mutations`);
  for (const v of [0, 0xffffffff, 7, 9]) assert.ok(values.has(v), `never set the length to ${v}`);
  assert.deepEqual(
    seed,
    Uint8Array.from([1, 0, 0, 0, 8, 1, 2, 3, 4, 5, 6, 7, 8]),
    "seed untouched",
  );
});

Deno.test("mutate() handles empty seeds and little-endian fields", () => {
  const rand = mulberry32(3);
  for (let i = 0; i < 200; i++) {
    mutate(rand, new Uint8Array(0));
    const { bytes, ops } = mutate(rand, Uint8Array.of(2, 0, 0, 0), [
      { offset: 0, size: 4, littleEndian: true },
    ]);
    if (ops === "len(0/4=3)") assert.deepEqual(bytes, Uint8Array.of(3, 0, 0, 0));
  }
});

Deno.test("runFuzz() reports the PRNG seed, case index, mutations and input hex of a failure", () => {
  const cases = fuzzCases([seed], { seed: 99, count: 500 });
  let failing: FuzzCase | undefined;
  let msg = "";
  try {
    runFuzz("demo", 99, cases, (b, c) => {
      if (b.length > seed.length) {
        failing = { ...c, input: b.slice() };
        throw new RangeError("grew");
      }
    });
  } catch (e) {
    msg = (e as Error).message;
  }
  assert.ok(failing);
  assert.match(msg, new RegExp(`demo: fuzz case ${failing.index} of PRNG seed 99 failed`));
  assert.ok(msg.includes(`RangeError: grew`), msg);
  assert.ok(msg.includes(toHex(failing.input)), msg);
  assert.ok(msg.includes(failing.ops), msg);
});

Deno.test("runFuzz() counts rejections; runFuzzAsync() does the same for async checks", async () => {
  const cases = () => fuzzCases([seed], { seed: 5, count: 99 });
  const r = runFuzz("count", 5, cases(), (b) => b.length < 5);
  assert.equal(r.cases, 100);
  assert.ok(r.rejected > 0 && r.rejected < 100);
  const a = await runFuzzAsync("count", 5, cases(), (b) => Promise.resolve(b.length < 5));
  assert.equal(a.rejected, r.rejected);
});

Deno.test("runFuzz() fails a case that overruns its time budget", () => {
  assert.throws(
    () =>
      runFuzz("slow", 1, fuzzCases([seed], { seed: 1, count: 0 }), () => {
        const end = performance.now() + 30;
        while (performance.now() < end) { /* spin */ }
      }, { caseBudgetMs: 5 }),
    /slow: fuzz case 0 of PRNG seed 1 failed .*took/,
  );
});

Deno.test("documentedError() accepts documented types and rejects engine errors", () => {
  assert.equal(documentedError(new SyntaxError("bad"), [SyntaxError]), true);
  assert.equal(documentedError(new RangeError("too big"), [SyntaxError, RangeError]), true);
  assert.throws(() => documentedError(new RangeError("too big"), [SyntaxError]), /undocumented/);
  assert.throws(() => documentedError(new TypeError("x"), [Error]), /undocumented TypeError/);
  assert.throws(
    () => documentedError(new RangeError("Offset is outside the bounds of the DataView"), [Error]),
    /undocumented RangeError/,
  );
  assert.throws(() => documentedError("text", [Error]), /non-Error/);
  assert.throws(() => invariant(false, "x > 0"), /invariant broken: x > 0/);
});

Deno.test("attempt() returns the value, null for a documented error, and rethrows others", async () => {
  assert.deepEqual(attempt(() => 1, [SyntaxError]), { value: 1 });
  assert.equal(attempt(() => JSON.parse("{"), [SyntaxError]), null);
  const empty: { x: number }[] = [];
  assert.throws(() => attempt(() => empty[0].x, [Error]), /undocumented TypeError/);
  assert.equal(await attemptAsync(() => Promise.reject(new RangeError("x")), [RangeError]), null);
  assert.deepEqual(await attemptAsync(() => Promise.resolve(2), [RangeError]), { value: 2 });
});
