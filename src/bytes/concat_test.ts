import assert from "node:assert/strict";
import { concatBytes } from "./concat.ts";

Deno.test("concatBytes joins parts in order and always copies", () => {
  const a = Uint8Array.of(1, 2), b = Uint8Array.of(), c = Uint8Array.of(3);
  assert.deepEqual(concatBytes([a, b, c]), Uint8Array.of(1, 2, 3));
  assert.deepEqual(concatBytes([]), new Uint8Array(0));
  const one = concatBytes([a]);
  assert.deepEqual(one, a);
  assert.notEqual(one, a, "a copy, so the caller may reuse its buffer");
});
