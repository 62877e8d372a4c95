import assert from "node:assert/strict";
import { type DeadlineClock, Deadlines } from "./deadlines.ts";

/** A manual clock: advance() runs the timer when its time comes. */
function fakeClock() {
  let now = 1000;
  let timer: { fn: () => void; at: number } | null = null;
  let armed = 0;
  const clock: DeadlineClock = {
    now: () => now,
    schedule(fn, ms) {
      armed++;
      timer = { fn, at: now + ms };
      return timer;
    },
    cancel(h) {
      if (timer === h) timer = null;
    },
  };
  return {
    clock,
    get armed() {
      return armed;
    },
    get pending() {
      return timer !== null;
    },
    advance(ms: number) {
      now += ms;
      while (timer && timer.at <= now) {
        const t = timer;
        timer = null;
        t.fn();
      }
    },
  };
}

Deno.test("Deadlines reports items whose deadline passed, in order, and not deleted ones", () => {
  const f = fakeClock();
  const expired: string[] = [];
  const d = new Deadlines<string>((x) => expired.push(x), f.clock);
  d.add("a", 1100);
  d.add("b", 1200);
  d.add("c", 1300);
  assert.equal(f.armed, 1, "later deadlines share the timer armed for the first");
  assert.equal(d.delete("b"), true);
  f.advance(150);
  assert.deepEqual(expired, ["a"]);
  assert.equal(d.delete("a"), false, "an expired item is gone");
  f.advance(1000);
  assert.deepEqual(expired, ["a", "c"]);
  assert.equal(d.size, 0);
  assert.equal(f.pending, false, "no timer once empty");
});

Deno.test("Deadlines handles a deadline earlier than those already added", () => {
  const f = fakeClock();
  const expired: string[] = [];
  const d = new Deadlines<string>((x) => expired.push(x), f.clock);
  d.add("late", 5000);
  d.add("early", 1050);
  d.add("mid", 2000);
  f.advance(100);
  assert.deepEqual(expired, ["early"]);
  f.advance(1000);
  assert.deepEqual(expired, ["early", "mid"]);
  f.advance(3000);
  assert.deepEqual(expired, ["early", "mid", "late"]);
});

Deno.test("Deadlines.add moves an item's deadline and clear() forgets everything", () => {
  const f = fakeClock();
  const expired: string[] = [];
  const d = new Deadlines<string>((x) => expired.push(x), f.clock);
  d.add("a", 1100);
  d.add("a", 3000);
  assert.equal(d.size, 1);
  f.advance(500);
  assert.deepEqual(expired, []);
  f.advance(2000);
  assert.deepEqual(expired, ["a"]);
  d.add("b", 4000);
  d.clear();
  f.advance(10_000);
  assert.deepEqual(expired, ["a"]);
  assert.equal(f.pending, false);
});
