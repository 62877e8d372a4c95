import assert from "node:assert/strict";
import { Rerunner } from "./rerunner.ts";

Deno.test("Rerunner never overlaps runs and folds requests during a run into one more", async () => {
  let active = 0, maxActive = 0, runs = 0;
  let release!: () => void;
  const r = new Rerunner(async () => {
    active++;
    maxActive = Math.max(maxActive, active);
    runs++;
    await new Promise<void>((res) => release = res);
    active--;
  }, () => {});
  const first = r.request();
  const waits = [r.request(), r.request(), r.request()];
  assert.equal(runs, 1);
  release();
  await new Promise((res) => setTimeout(res, 0));
  assert.equal(runs, 2, "one more run for the three requests");
  release();
  await Promise.all([first, ...waits]);
  assert.equal(runs, 2);
  assert.equal(maxActive, 1);
});

Deno.test("Rerunner reports a failed run and keeps serving; stop() ends it", async () => {
  const errors: unknown[] = [];
  let n = 0;
  const r = new Rerunner(
    () => ++n === 1 ? Promise.reject(new Error("boom")) : Promise.resolve(),
    (e) => errors.push(e),
  );
  await r.request();
  await r.request();
  assert.equal(n, 2);
  assert.equal((errors[0] as Error).message, "boom");
  r.stop();
  await r.request();
  assert.equal(n, 2);
});
