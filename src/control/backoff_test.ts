import assert from "node:assert/strict";
import { Backoff, sleep } from "./backoff.ts";

Deno.test("Backoff doubles from 1 s, caps at 60 s, jitters into [d/2, d] and resets", () => {
  const hi = new Backoff({ random: () => 1 });
  assert.deepEqual(Array.from({ length: 9 }, () => hi.next()), [
    1000,
    2000,
    4000,
    8000,
    16000,
    32000,
    60000,
    60000,
    60000,
  ]);
  const lo = new Backoff({ random: () => 0 });
  assert.deepEqual([lo.next(), lo.next()], [500, 1000]);
  lo.reset();
  assert.equal(lo.attempts, 0);
  assert.equal(lo.next(), 500);
});

Deno.test("sleep() rejects promptly when aborted", async () => {
  const ac = new AbortController();
  const p = sleep(60_000, ac.signal);
  ac.abort(new Error("stop"));
  await assert.rejects(p, /stop/);
});
