import assert from "node:assert/strict";
import { bytesEqual, constantTimeEqual } from "./equal.ts";

for (
  const [name, eq] of [["bytesEqual", bytesEqual], [
    "constantTimeEqual",
    constantTimeEqual,
  ]] as const
) {
  Deno.test(`${name}() is true only for the same length and the same bytes`, () => {
    assert.ok(eq(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 3)));
    assert.ok(eq(new Uint8Array(0), new Uint8Array(0)));
    assert.ok(!eq(Uint8Array.of(1, 2, 3), Uint8Array.of(1, 2, 4)));
    assert.ok(!eq(Uint8Array.of(0, 2, 3), Uint8Array.of(1, 2, 3)));
    assert.ok(!eq(Uint8Array.of(1, 2), Uint8Array.of(1, 2, 3)));
    // A view compares by its own window, not the whole buffer.
    const buf = Uint8Array.of(9, 1, 2, 9);
    assert.ok(eq(buf.subarray(1, 3), Uint8Array.of(1, 2)));
  });
}
