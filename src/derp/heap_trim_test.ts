import assert from "node:assert/strict";
import { HeapTrimmer } from "./heap_trim.ts";
import { waitFor } from "./testing.ts";

Deno.test("HeapTrimmer trims once after a storm of accepts, not after a trickle", async () => {
  const storm = new HeapTrimmer();
  const trickle = new HeapTrimmer();
  try {
    for (let i = 0; i < 300; i++) storm.noteAccept();
    for (let i = 0; i < 10; i++) trickle.noteAccept();
    await waitFor(() => storm.trims === 1, "the trim after the storm", 10_000);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal(storm.trims, 1);
    assert.equal(trickle.trims, 0);
  } finally {
    storm.close();
    trickle.close();
  }
});

Deno.test("HeapTrimmer.trimNow collects at once, with gc() exposed at run time", async () => {
  const trim = new HeapTrimmer();
  let garbage: unknown[] = [];
  for (let i = 0; i < 300_000; i++) garbage.push({ a: new Array(20).fill(i), b: `x${i}` });
  const filled = Deno.memoryUsage().heapUsed;
  garbage = [];
  await trim.trimNow();
  const after = Deno.memoryUsage().heapUsed;
  assert.ok(after < filled / 2, `heap used ${filled} full, ${after} after the trim`);
  assert.equal(trim.trims, 1);
  assert.equal(garbage.length, 0);
});
