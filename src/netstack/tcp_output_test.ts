import assert from "node:assert/strict";
import { tcpConfig } from "./tcp_config.ts";
import { negotiate } from "./tcp_handshake.ts";
import { TcpOutput } from "./tcp_output.ts";
import { TcpReceiver } from "./tcp_receiver.ts";
import { TCP_ACK, TCP_SYN, type TcpSegment } from "./tcp_segment.ts";

const seg = (seq: number, ts?: { val: number; ecr: number }): TcpSegment => ({
  srcPort: 1,
  dstPort: 2,
  seq,
  ack: 0,
  flags: TCP_ACK,
  window: 0,
  urgent: 0,
  options: ts ? { ts } : {},
  payload: new Uint8Array(0),
});

function output() {
  const rcv = new TcpReceiver(256 * 1024, 256 * 1024, 1460);
  rcv.init(999, 3);
  const out = new TcpOutput(2, 1, rcv, 1000);
  out.tsOk = true;
  return { rcv, out };
}

Deno.test("TS.Recent follows only segments at or below the last ACK sent (RFC 7323 §4.3)", () => {
  const { out } = output();
  out.ack(0, 0); // lastAckSent = 1000
  out.noteTimestamp(seg(1000, { val: 7, ecr: 0 }), 0);
  assert.equal(out.tsRecent, 7);
  out.noteTimestamp(seg(5000, { val: 9, ecr: 0 }), 0); // beyond a hole: keep the older one
  assert.equal(out.tsRecent, 7);
  assert.deepEqual(out.options(50).ts, { val: 1050, ecr: 7 });
});

Deno.test("rtt() reads the echoed timestamp and ignores a missing or zero one", () => {
  const { out } = output();
  assert.equal(out.rtt(seg(0, { val: 1, ecr: 1000 + 40 }), 100), 60);
  assert.equal(out.rtt(seg(0, { val: 1, ecr: 0 }), 100), null);
  assert.equal(out.rtt(seg(0), 100), null);
  out.tsOk = false;
  assert.equal(out.rtt(seg(0, { val: 1, ecr: 1040 }), 100), null);
});

Deno.test("a SYN-ACK carries an unscaled window and only the agreed options", () => {
  const { out } = output();
  const cfg = tcpConfig();
  const s = out.syn(cfg, negotiate({ mss: 1400, wscale: 2 }, cfg), 77, 0);
  assert.equal(s.flags, TCP_SYN | TCP_ACK);
  assert.equal(s.seq, 77);
  assert.equal(s.ack, 1000);
  assert.equal(s.window, 0xffff, "the 256 KiB window, capped, not shifted");
  assert.deepEqual(s.options, { mss: 1460, wscale: 7 }, "the shift of the 4 MiB maximum");
  const first = out.syn(cfg, null, 77, 0);
  assert.equal(first.flags, TCP_SYN);
  assert.equal(first.ack, 0);
});

Deno.test("segments after the handshake carry the window scaled down by our shift", () => {
  const { out } = output();
  assert.equal(out.ack(5, 0).window, (256 * 1024) >> 3);
});

Deno.test("PAWS flags a TSval older than TS.Recent, unless TS.Recent went stale (RFC 7323 §5)", () => {
  const { out } = output();
  out.ack(0, 0);
  out.noteTimestamp(seg(1000, { val: 0x10, ecr: 0 }), 0);
  assert.equal(out.paws(seg(1000, { val: 0x0f, ecr: 0 }), 1), true);
  assert.equal(out.paws(seg(1000, { val: 0x10, ecr: 0 }), 1), false);
  assert.equal(out.paws(seg(1000), 1), false, "no timestamp: nothing to judge");
  // Across the 2^32 wrap of TSval a newer value is still newer.
  out.noteTimestamp(seg(1000, { val: 0xffff_fff0, ecr: 0 }), 2);
  assert.equal(out.paws(seg(1000, { val: 0x5, ecr: 0 }), 3), false);
  assert.equal(out.paws(seg(1000, { val: 0xffff_ff00, ecr: 0 }), 25 * 24 * 3600 * 1000), false);
});
