import assert from "node:assert/strict";
import { encodeErrorFrame, encodeFrame, FrameDecoder } from "./frame.ts";
import { MAX_FRAME_SIZE, MSG_TYPE_ERROR, MSG_TYPE_RECORD } from "./constants.ts";
import { loadTs2021Fixture } from "./_fixture_test_util.ts";

Deno.test("FrameDecoder cuts Headscale's real post-handshake stream into its early-payload records", () => {
  const fx = loadTs2021Fixture();
  const d = new FrameDecoder();
  d.push(fx.serverStream);
  // Headscale writes the EarlyNoise magic (5), length (4) and JSON (95) as three records.
  const lens = [];
  for (let f = d.next(); f !== null; f = d.next()) {
    assert.equal(f.type, MSG_TYPE_RECORD);
    lens.push(f.payload.length - 16);
  }
  assert.deepEqual(lens, [5, 4]);
  // The capture stops inside the third record: 95 bytes of {"nodeKeyChallenge":"chalpub:…"} + tag.
  const rest = d.drain();
  assert.equal(rest.length, 128 - (3 + 21) - (3 + 20));
  assert.deepEqual([...rest.subarray(0, 3)], [4, 0, 95 + 16]);
});

Deno.test("FrameDecoder reads tailscaled's first record: HTTP/2 preface, SETTINGS, WINDOW_UPDATE", () => {
  const fx = loadTs2021Fixture();
  const d = new FrameDecoder();
  d.push(fx.clientStream);
  const f = d.next()!;
  assert.equal(f.type, MSG_TYPE_RECORD);
  assert.equal(f.payload.length - 16, 24 + 9 + 4 * 6 + 13);
});

Deno.test("FrameDecoder reassembles frames fed one byte at a time", () => {
  const a = encodeFrame(MSG_TYPE_RECORD, new Uint8Array(300).fill(7));
  const b = encodeErrorFrame("nope");
  const all = new Uint8Array([...a, ...b]);
  const d = new FrameDecoder();
  const got = [];
  for (const byte of all) {
    d.push(Uint8Array.of(byte));
    for (let f = d.next(); f !== null; f = d.next()) got.push(f);
  }
  assert.equal(got.length, 2);
  assert.deepEqual(got[0].payload, new Uint8Array(300).fill(7));
  assert.equal(got[1].type, MSG_TYPE_ERROR);
  assert.equal(new TextDecoder().decode(got[1].payload), "nope");
});

Deno.test("FrameDecoder rejects a header announcing more than 4096 bytes", () => {
  const d = new FrameDecoder();
  d.push(Uint8Array.of(4, 0x0f, 0xfe)); // 3 + 4094 = 4097
  assert.throws(() => d.next(), /over the 4096-byte limit/);
  const ok = new FrameDecoder();
  ok.push(Uint8Array.of(4, 0x0f, 0xfd)); // exactly 4096: waits for more
  assert.equal(ok.next(), null);
});

Deno.test("encodeFrame() refuses payloads that overflow a frame and errors are truncated to fit", () => {
  assert.throws(() => encodeFrame(4, new Uint8Array(MAX_FRAME_SIZE - 2)), RangeError);
  assert.equal(encodeFrame(4, new Uint8Array(MAX_FRAME_SIZE - 3)).length, MAX_FRAME_SIZE);
  assert.equal(encodeErrorFrame("x".repeat(70000)).length, MAX_FRAME_SIZE);
});
