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
