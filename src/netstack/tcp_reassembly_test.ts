import { concatBytes } from "../bytes/concat.ts";
import assert from "node:assert/strict";
import { mulberry32 } from "../testing/prng.ts";
import { ReassemblyQueue } from "./tcp_reassembly.ts";
import { seqAdd } from "./tcp_seq.ts";

const bytes = (from: number, n: number) =>
  Uint8Array.from({ length: n }, (_, i) => (from + i) & 0xff);

Deno.test("ReassemblyQueue releases data once the hole at RCV.NXT fills", () => {
  const q = new ReassemblyQueue(10_000);
  assert.equal(q.insert(110, bytes(110, 10), 100, 1000), "queued");
  assert.equal(q.insert(130, bytes(130, 10), 100, 1000), "queued");
  assert.deepEqual(q.take(100), []);
  assert.deepEqual(q.ranges(), [{ start: 110, end: 120 }, { start: 130, end: 140 }]);
  // The caller delivered 100..110 itself; the queue hands over 110..120.
  assert.deepEqual(concatBytes(q.take(110)), bytes(110, 10));
  assert.equal(q.bytes, 10);
});

Deno.test("ReassemblyQueue trims overlaps to the new bytes and counts duplicates", () => {
  const q = new ReassemblyQueue(10_000);
  q.insert(110, bytes(110, 10), 100, 1000);
  q.insert(130, bytes(130, 10), 100, 1000);
  assert.equal(q.insert(105, bytes(105, 40), 100, 1000), "queued"); // covers both and the gaps
  assert.equal(q.bytes, 40);
  assert.deepEqual(q.ranges(), [{ start: 105, end: 145 }]);
  assert.equal(q.insert(112, bytes(112, 5), 100, 1000), "duplicate");
  assert.equal(q.stats.duplicate, 1);
  assert.deepEqual(concatBytes(q.take(105)), bytes(105, 40));
});

Deno.test("ReassemblyQueue drops what lies outside the window and trims the edge", () => {
  const q = new ReassemblyQueue(10_000);
  assert.equal(q.insert(1000, bytes(0, 10), 100, 1000), "outOfWindow");
  assert.equal(q.insert(50, bytes(0, 10), 100, 1000), "outOfWindow");
  assert.equal(q.insert(995, bytes(0, 10), 100, 1000), "queued");
  assert.equal(q.bytes, 5);
  assert.equal(q.stats.outOfWindow, 2);
  assert.equal(q.stats.trimmedBytes, 5);
});

Deno.test("ReassemblyQueue works across the sequence wrap", () => {
  const q = new ReassemblyQueue(10_000);
  const nxt = 0xffff_fff0;
  q.insert(seqAdd(nxt, 8), bytes(8, 16), nxt, seqAdd(nxt, 1000));
  q.insert(nxt, bytes(0, 8), nxt, seqAdd(nxt, 1000));
  assert.deepEqual(concatBytes(q.take(nxt)), bytes(0, 24));
});

Deno.test("a flood of out-of-order segments keeps ReassemblyQueue under its bounds", () => {
  const max = 64 * 1024;
  const q = new ReassemblyQueue(max, 256);
  const rand = mulberry32(99);
  for (let i = 0; i < 20_000; i++) {
    const seq = 1 + Math.floor(rand() * 1_000_000);
    const len = 1 + Math.floor(rand() * 1400);
    q.insert(seq, bytes(seq, len), 0, 1 << 30);
    assert.ok(q.bytes <= max && q.segments <= 256);
  }
  assert.ok(q.stats.overLimit > 10_000);
  assert.equal(q.take(0).length, 0);
});

Deno.test("ReassemblyQueue rebuilds a random shuffle of overlapping segments exactly", () => {
  const rand = mulberry32(7);
  const total = 50_000;
  const want = bytes(0, total);
  const q = new ReassemblyQueue(1 << 20);
  const got: Uint8Array[] = [];
  let nxt = 0;
  for (let i = 0; i < 100_000 && nxt < total; i++) {
    const near = rand() < 0.2;
    const s = near ? Math.max(0, nxt - Math.floor(rand() * 300)) : nxt + Math.floor(rand() * 8000);
    if (s >= total) continue;
    const n = Math.min(total - s, 1 + Math.floor(rand() * 500));
    if (s <= nxt && s + n > nxt) {
      got.push(want.subarray(nxt, s + n));
      nxt = s + n;
      for (const p of q.take(nxt)) {
        got.push(p);
        nxt += p.length;
      }
    } else if (s > nxt) q.insert(s, want.subarray(s, s + n), nxt, total);
  }
  const out = concatBytes(got);
  assert.deepEqual(out, want.subarray(0, out.length));
  assert.equal(out.length, total);
  assert.equal(q.bytes, 0);
});
