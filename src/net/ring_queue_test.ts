import assert from "node:assert/strict";
import { ByteRing } from "./byte_ring.ts";
import { RingQueue } from "./ring_queue.ts";

Deno.test("RingQueue: what the full ring refuses waits, then arrives in order once the reader makes room", async () => {
  const ring = new ByteRing(ByteRing.allocate(64));
  let wakes = 0;
  const q = new RingQueue(ring, () => wakes++, 1);
  try {
    for (let i = 0; i < 6; i++) q.push(new Uint8Array(20).fill(i));
    assert.equal(q.waiting, 4, "two 24-byte records fit 64 bytes");
    const got: number[] = [];
    const read = () => ring.read((r) => got.push(r[0]));
    for (let i = 0; i < 100 && got.length < 6; i++) {
      read();
      await new Promise((r) => setTimeout(r, 3));
    }
    read();
    assert.deepEqual(got, [0, 1, 2, 3, 4, 5]);
    assert.equal(q.waiting, 0);
    assert.ok(wakes >= 3, `the reader was woken after each write (${wakes})`);
    assert.throws(() => q.push(new Uint8Array(61)), RangeError);
  } finally {
    q.close();
  }
});

Deno.test("RingQueue: closing drops what waits and stops the retries", async () => {
  const ring = new ByteRing(ByteRing.allocate(64));
  const q = new RingQueue(ring, () => {}, 1);
  q.push(new Uint8Array(50));
  q.push(new Uint8Array(50));
  assert.equal(q.waiting, 1);
  q.close();
  ring.read(() => {});
  await new Promise((r) => setTimeout(r, 10));
  let n = 0;
  ring.read(() => n++);
  assert.equal(n, 0, "nothing written after close");
});
