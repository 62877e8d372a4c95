import assert from "node:assert/strict";
import { TokenBucket } from "./token_bucket.ts";

Deno.test("TokenBucket allows a burst, then refills at its rate", () => {
  const b = new TokenBucket(2, 3, 0);
  assert.deepEqual([b.allow(0), b.allow(0), b.allow(0), b.allow(0)], [true, true, true, false]);
  assert.equal(b.allow(499), false);
  assert.equal(b.allow(500), true); // one token per 500 ms
  assert.equal(b.allow(500), false);
  assert.equal(b.lastUsed, 500);
  // never more than the burst
  assert.deepEqual(
    [b.allow(60_000), b.allow(60_000), b.allow(60_000), b.allow(60_000)],
    [true, true, true, false],
  );
});

Deno.test("TokenBucket with an infinite rate allows everything; bad settings throw", () => {
  const b = new TokenBucket(Infinity, 1, 0);
  for (let i = 0; i < 1000; i++) assert.equal(b.allow(0), true);
  assert.throws(() => new TokenBucket(0, 1, 0), RangeError);
  assert.throws(() => new TokenBucket(1, 0, 0), RangeError);
  assert.throws(() => new TokenBucket(NaN, 1, 0), RangeError);
});
