import assert from "node:assert/strict";
import { ByteRing } from "./tcp_buffers.ts";

Deno.test("ByteRing keeps to its capacity and wraps without losing order", () => {
  const r = new ByteRing(5);
  assert.equal(r.push(Uint8Array.of(1, 2, 3)), 3);
  assert.deepEqual(r.shift(2), Uint8Array.of(1, 2));
  assert.equal(r.push(Uint8Array.of(4, 5, 6, 7, 8)), 4);
  assert.equal(r.free, 0);
  assert.deepEqual(r.copy(1, 10), Uint8Array.of(4, 5, 6, 7));
  r.drop(2);
  assert.deepEqual(r.shift(), Uint8Array.of(5, 6, 7));
  assert.equal(r.length, 0);
  assert.throws(() => new ByteRing(0), RangeError);
});

Deno.test("ByteRing takes memory as bytes come, and a raised bound lets more in, in order", () => {
  const r = new ByteRing(1 << 20);
  assert.equal(r.allocated, 0, "nothing until the first byte");
  r.push(new Uint8Array(100).fill(1));
  assert.ok(r.allocated > 0 && r.allocated < 1 << 20, `${r.allocated}`);
  // Wrapped contents survive a grow: head in the middle, tail wrapped around.
  const small = new ByteRing(16);
  small.push(Uint8Array.from({ length: 16 }, (_, i) => i));
  small.drop(10);
  assert.equal(small.push(Uint8Array.from({ length: 10 }, (_, i) => 16 + i)), 10);
  assert.equal(small.push(Uint8Array.of(99)), 0, "full at the bound");
  small.capacity = 64;
  small.capacity = 8; // never lowered
  assert.equal(small.capacity, 64);
  assert.equal(small.push(Uint8Array.from({ length: 40 }, (_, i) => 26 + i)), 40);
  assert.deepEqual(small.shift(), Uint8Array.from({ length: 56 }, (_, i) => 10 + i));
  assert.deepEqual(small.copyView(0, 5), new Uint8Array(0));
});
