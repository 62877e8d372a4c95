import assert from "node:assert/strict";
import { tcpConfig } from "./tcp_config.ts";
import { negotiate, RateLimit, synOptions, windowShiftFor } from "./tcp_handshake.ts";

Deno.test("windowShiftFor() picks the smallest shift that fits the buffer in 16 bits", () => {
  assert.equal(windowShiftFor(65535), 0);
  assert.equal(windowShiftFor(65536), 1);
  assert.equal(windowShiftFor(256 * 1024), 3);
  assert.equal(windowShiftFor(2 ** 40), 14);
});

Deno.test("negotiate() keeps each option only when both ends want it", () => {
  const cfg = tcpConfig({ mss: 1460 });
  const all = negotiate({ mss: 1400, wscale: 7, sackPermitted: true, ts: { val: 1, ecr: 0 } }, cfg);
  assert.deepEqual(all, {
    rcvShift: 7, // room for the auto-tuned 4 MiB window, not just the first 256 KiB
    sndShift: 7,
    windowScale: true,
    sack: true,
    timestamps: true,
    segMax: 1400 - 12,
  });
  const none = negotiate({}, cfg);
  assert.deepEqual(none, {
    rcvShift: 0,
    sndShift: 0,
    windowScale: false,
    sack: false,
    timestamps: false,
    segMax: 536,
  });
  assert.equal(negotiate({ wscale: 20 }, cfg).sndShift, 14, "RFC 7323 §2.3 caps the shift");
  assert.equal(negotiate({ sackPermitted: true }, tcpConfig({ sack: false })).sack, false);
  const fixed = tcpConfig({ recvBufferBytes: 256 * 1024 });
  assert.equal(negotiate({ wscale: 0 }, fixed).rcvShift, 3, "no auto-tuning: the buffer's shift");
});

Deno.test("synOptions() offers the configuration and a SYN-ACK answers only what was agreed", () => {
  const cfg = tcpConfig();
  assert.deepEqual(synOptions(cfg, null, 5, 9), {
    mss: 1460,
    wscale: 7,
    sackPermitted: true,
    ts: { val: 5, ecr: 0 },
  });
  const agreed = negotiate({ mss: 1400, ts: { val: 77, ecr: 0 } }, cfg);
  assert.deepEqual(synOptions(cfg, agreed, 5, 77), { mss: 1460, ts: { val: 5, ecr: 77 } });
});

Deno.test("RateLimit allows a fixed count per one-second window", () => {
  const r = new RateLimit(2);
  assert.deepEqual([r.allow(0), r.allow(1), r.allow(2)], [true, true, false]);
  assert.equal(r.allow(999), false);
  assert.equal(r.allow(1000), true);
});
