import assert from "node:assert/strict";
import { KeySlab } from "./key_slab.ts";

Deno.test("KeySlab hands out disjoint zeroed pieces of shared chunks and wipes returns", () => {
  const slab = new KeySlab(152, 4);
  const a = slab.take(), b = slab.take();
  assert.equal(a.length, 152);
  assert.equal(a.buffer, b.buffer);
  a.fill(7);
  assert.ok(b.every((x) => x === 0));
  slab.give(a);
  const c = slab.take();
  assert.equal(c.byteOffset, a.byteOffset);
  assert.ok(c.every((x) => x === 0));
  slab.take(), slab.take();
  assert.notEqual(slab.take().buffer, a.buffer); // the fifth piece opens a new chunk
});
