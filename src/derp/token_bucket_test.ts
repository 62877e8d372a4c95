import assert from "node:assert/strict";
import { TokenBucket } from "./token_bucket.ts";

Deno.test("TokenBucket allows a burst, then refills at its rate", () => {
  let now = 0;
  const b = new TokenBucket(2, 3, () => now);
  assert.deepEqual([b.allow(), b.allow(), b.allow(), b.allow()], [true, true, true, false]);
  now = 499;
  assert.equal(b.allow(), false);
  now = 500; // one token per 500 ms
  assert.equal(b.allow(), true);
  assert.equal(b.allow(), false);
  now = 60_000; // never more than the burst
  assert.deepEqual([b.allow(), b.allow(), b.allow(), b.allow()], [true, true, true, false]);
});

Deno.test("TokenBucket with an infinite rate allows everything; bad settings throw", () => {
  const b = new TokenBucket(Infinity, 1);
  for (let i = 0; i < 1000; i++) assert.equal(b.allow(), true);
  assert.throws(() => new TokenBucket(0, 1), RangeError);
  assert.throws(() => new TokenBucket(1, 0), RangeError);
  assert.throws(() => new TokenBucket(NaN, 1), RangeError);
});
