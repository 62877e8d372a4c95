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

Deno.test("HeapTrimmer.trimNow hands a storm's freed heap pages back to the system", async () => {
  const trim = new HeapTrimmer();
  await trim.trimNow();
  const before = Deno.memoryUsage().rss;
  // About 100 MiB of short-lived objects, as a storm of handshakes leaves behind.
  let garbage: unknown[] = [];
  for (let i = 0; i < 300_000; i++) garbage.push({ a: new Array(20).fill(i), b: `x${i}` });
  const filled = Deno.memoryUsage().rss;
  garbage = [];
  await trim.trimNow();
  const after = Deno.memoryUsage().rss;
  const grew = filled - before;
  assert.ok(grew > 40 * 1048576, `the garbage was resident: grew ${grew} bytes`);
  // A plain gc() frees the objects but leaves their pages resident (RSS stays at `filled`).
  assert.ok(
    after - before < grew / 2,
    `RSS ${before} before, ${filled} full, ${after} after the trim`,
  );
  assert.equal(garbage.length, 0);
});
