import assert from "node:assert/strict";
import { exposeGc, lastResortGc } from "./gc.ts";

Deno.test("lastResortGc hands freed heap pages back to the system", async () => {
  assert.ok(await exposeGc(), "gc() can be exposed");
  lastResortGc();
  const before = Deno.memoryUsage().rss;
  // About 100 MiB of short-lived objects.
  let garbage: unknown[] = [];
  for (let i = 0; i < 300_000; i++) garbage.push({ a: new Array(20).fill(i), b: `x${i}` });
  const filled = Deno.memoryUsage().rss;
  garbage = [];
  assert.ok(lastResortGc());
  const after = Deno.memoryUsage().rss;
  const grew = filled - before;
  assert.ok(grew > 40 * 1048576, `the garbage was resident: grew ${grew} bytes`);
  // A plain gc() frees the objects but leaves their pages resident (RSS stays near `filled`).
  assert.ok(after - before < grew / 2, `RSS ${before} before, ${filled} full, ${after} after`);
  assert.equal(garbage.length, 0);
});
