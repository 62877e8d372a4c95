import assert from "node:assert/strict";
import { fromHex, toHex } from "./hex.ts";

Deno.test("toHex() writes lowercase, two digits a byte", () => {
  assert.equal(toHex(Uint8Array.of(0, 1, 15, 16, 171, 255)), "00010f10abff");
  assert.equal(toHex(new Uint8Array(0)), "");
});

Deno.test("fromHex() reads either case and round-trips toHex()", () => {
  assert.deepEqual(fromHex("00010F10abFF"), Uint8Array.of(0, 1, 15, 16, 171, 255));
  const all = Uint8Array.from({ length: 256 }, (_, i) => i);
  assert.deepEqual(fromHex(toHex(all)), all);
  assert.deepEqual(fromHex(""), new Uint8Array(0));
  assert.deepEqual(fromHex("0a0b", 2), Uint8Array.of(10, 11));
});

Deno.test("fromHex() rejects odd or wrong lengths and non-hex characters", () => {
  assert.throws(() => fromHex("abc"), { name: "SyntaxError", message: /odd length 3/ });
  assert.throws(() => fromHex("0a0b", 3), {
    name: "SyntaxError",
    message: 'Cannot parse hex "0a0b": want 6 characters, got 4',
  });
  assert.throws(() => fromHex("0g"), {
    name: "SyntaxError",
    message: 'Cannot parse hex "0g": not a hex character',
  });
  assert.throws(() => fromHex("0 1 "), SyntaxError);
});
