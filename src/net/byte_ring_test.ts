import assert from "node:assert/strict";
import { ByteRing } from "./byte_ring.ts";

function drain(ring: ByteRing): number[][] {
  const out: number[][] = [];
  ring.read((r) => out.push([...r]));
  return out;
}

Deno.test("ByteRing: records come out whole and in order, parts joined", () => {
  const ring = new ByteRing(ByteRing.allocate(64));
  assert.deepEqual(ring.write(new Uint8Array([1, 2]), new Uint8Array([3])), true);
  assert.deepEqual(ring.write(new Uint8Array([])), true);
  assert.deepEqual(ring.write(new Uint8Array([9])), true);
  assert.deepEqual(drain(ring), [[1, 2, 3], [], [9]]);
  assert.deepEqual(drain(ring), []);
});

Deno.test("ByteRing: a full ring refuses a record and takes it once read", () => {
  const ring = new ByteRing(ByteRing.allocate(64));
  assert.deepEqual(ring.maxRecord, 60);
  assert.deepEqual(ring.write(new Uint8Array(61)), false);
  assert.deepEqual(ring.write(new Uint8Array(40)), true);
  assert.deepEqual(ring.write(new Uint8Array(30)), false); // 44 + 34 > 64
  assert.deepEqual(drain(ring).map((r) => r.length), [40]);
  assert.deepEqual(ring.write(new Uint8Array(30)), true);
});

Deno.test("ByteRing: records that wrap the end, over many laps", () => {
  const ring = new ByteRing(ByteRing.allocate(64));
  let next = 0;
  for (let lap = 0; lap < 500; lap++) {
    const len = (lap * 7) % 23;
    const rec = Uint8Array.from({ length: len }, (_, i) => (next + i) & 0xff);
    assert.deepEqual(ring.write(rec), true);
    const got = drain(ring);
    assert.deepEqual(got, [[...rec]]);
    next += len;
  }
});

Deno.test("ByteRing: two views of one buffer see each other's records", () => {
  const buf = ByteRing.allocate(128);
  const writer = new ByteRing(buf), reader = new ByteRing(buf);
  writer.write(new TextEncoder().encode("hello"));
  const seen: string[] = [];
  reader.read((r) => seen.push(new TextDecoder().decode(r)));
  assert.deepEqual(seen, ["hello"]);
  assert.throws(() => new ByteRing(new SharedArrayBuffer(8 + 100)), RangeError);
});
