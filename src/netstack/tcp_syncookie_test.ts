import assert from "node:assert/strict";
import { COOKIE_PERIOD_MS, SynCookies } from "./tcp_syncookie.ts";

const A = Uint8Array.of(10, 0, 0, 1), B = Uint8Array.of(10, 0, 0, 2);
const key = new Uint8Array(32).fill(3);

Deno.test("a SYN cookie round-trips the peer's ISN and its MSS rounded down", () => {
  const c = new SynCookies(key);
  const iss = c.make(A, 40000, B, 80, 0xffff_fff0, 1400, 10_000);
  const got = c.check(A, 40000, B, 80, 0xffff_fff1, (iss + 1) >>> 0, 20_000);
  assert.deepEqual(got, { iss, irs: 0xffff_fff0 | 0, mss: 1380 });
  assert.equal(c.check(A, 40000, B, 80, 1, c.make(A, 40000, B, 80, 0, 100, 0) + 1, 0)?.mss, 536);
});

Deno.test("a cookie fails for another tuple, ISN, key, or once two periods old", () => {
  const c = new SynCookies(key);
  const iss = c.make(A, 40000, B, 80, 1000, 1460, 0);
  const ack = (iss + 1) >>> 0;
  assert.ok(c.check(A, 40000, B, 80, 1001, ack, COOKIE_PERIOD_MS + 1));
  assert.equal(c.check(A, 40001, B, 80, 1001, ack, 0), null);
  assert.equal(c.check(B, 40000, A, 80, 1001, ack, 0), null);
  assert.equal(c.check(A, 40000, B, 80, 1002, ack, 0), null);
  assert.equal(new SynCookies(new Uint8Array(32)).check(A, 40000, B, 80, 1001, ack, 0), null);
  assert.equal(c.check(A, 40000, B, 80, 1001, ack, 2 * COOKIE_PERIOD_MS), null);
});

Deno.test("forged cookies are rejected: 1 in 2^24 would pass by chance", () => {
  const c = new SynCookies(key);
  let passed = 0;
  for (let i = 0; i < 20_000; i++) {
    if (c.check(A, 40000, B, 80, 1001, (i * 2654435761) >>> 0, 0)) passed++;
  }
  assert.equal(passed, 0);
});
