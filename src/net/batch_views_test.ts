import assert from "node:assert/strict";
import { BatchViews } from "./batch_views.ts";

Deno.test("batch views: the same place, buffer, start and length give the same view", () => {
  const views = new BatchViews();
  const buf = new Uint8Array(64).map((_, i) => i);
  const a = views.get(3, buf, 8, 16);
  assert.equal(a, views.get(3, buf, 8, 16));
  assert.deepEqual([...a], Array.from({ length: 16 }, (_, i) => i + 8));
});

Deno.test("batch views: another buffer, start or length gives a view of that", () => {
  const views = new BatchViews();
  const one = new Uint8Array(32).fill(1), two = new Uint8Array(32).fill(2);
  const a = views.get(0, one, 4, 8);
  const b = views.get(0, two, 4, 8);
  assert.notEqual(a, b);
  assert.equal(b[0], 2);
  const c = views.get(0, two, 6, 8);
  assert.equal(c.byteOffset, 6);
  const d = views.get(0, two, 6, 3);
  assert.equal(d.length, 3);
  // Places are independent: place 1 does not disturb place 0's view.
  views.get(1, one, 0, 1);
  assert.equal(views.get(0, two, 6, 3), d);
});
