import assert from "node:assert/strict";
import { DISCO_HEADER_LEN, DISCO_MAGIC, looksLikeDisco, looksLikeStunResponse } from "./demux.ts";

Deno.test("looksLikeDisco() needs the magic and a full header", () => {
  const d = new Uint8Array(DISCO_HEADER_LEN);
  d.set(DISCO_MAGIC);
  assert.ok(looksLikeDisco(d));
  assert.ok(!looksLikeDisco(d.subarray(0, DISCO_HEADER_LEN - 1)));
  const wg = new Uint8Array(148);
  wg[0] = 1;
  assert.ok(!looksLikeDisco(wg));
});

Deno.test("looksLikeStunResponse() accepts a binding success and rejects WireGuard", () => {
  const s = new Uint8Array(20);
  s.set([0x01, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]);
  assert.ok(looksLikeStunResponse(s));
  const wg = new Uint8Array(32);
  wg[0] = 4;
  assert.ok(!looksLikeStunResponse(wg));
});
