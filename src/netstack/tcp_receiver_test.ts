import assert from "node:assert/strict";
import { TcpReceiver } from "./tcp_receiver.ts";

const rx = (buf = 10_000, mss = 1000) => {
  const r = new TcpReceiver(buf, buf, mss, 40);
  r.init(999, 0); // RCV.NXT = 1000
  r.windowField(); // announce the first window
  return r;
};

Deno.test("TcpReceiver delivers in order, queues out of order, and releases on the fill", () => {
  const r = rx();
  assert.equal(r.onSegment(1000, new Uint8Array(100), false, 0).delivered, 100);
  assert.equal(r.onSegment(1200, new Uint8Array(100), false, 0).delivered, 0);
  assert.ok(r.ackNow, "out-of-order data is acknowledged at once");
  assert.deepEqual(r.sackBlocks(4), [{ start: 1200, end: 1300 }]);
  assert.equal(r.onSegment(1100, new Uint8Array(100), false, 0).delivered, 200);
  assert.equal(r.nxt, 1300);
  assert.deepEqual(r.sackBlocks(4), []);
});

Deno.test("TcpReceiver's acceptability test follows RFC 9293's four cases", () => {
  const r = rx();
  assert.ok(r.acceptable(1000, 0));
  assert.ok(!r.acceptable(999, 0));
  assert.ok(r.acceptable(990, 20), "straddles RCV.NXT");
  assert.ok(!r.acceptable(990, 10), "wholly old");
  assert.ok(!r.acceptable(1000 + 10_000, 5), "past the window");
  // A full buffer: zero window, only an empty segment at RCV.NXT is acceptable.
  r.onSegment(1000, new Uint8Array(10_000), false, 0);
  r.windowField();
  assert.equal(r.wnd, 0);
  assert.ok(r.acceptable(r.nxt, 0));
  assert.ok(!r.acceptable(r.nxt, 1));
});

Deno.test("the announced window never shrinks and reopens only by a worthwhile step", () => {
  const r = rx(10_000, 1000);
  r.onSegment(1000, new Uint8Array(10_000), false, 0);
  r.onAckSent();
  assert.equal(r.windowField(), 0);
  r.read(500); // half an MSS: not worth announcing (receiver SWS avoidance)
  assert.equal(r.windowField(), 0);
  assert.ok(!r.ackNow);
  r.read(600);
  assert.equal(r.windowField(), 1100);
  assert.ok(r.ackNow, "a window reopened from zero is announced at once");
});

Deno.test("delayed ACK: every second full segment at once, else after the timer", () => {
  const r = rx();
  r.onSegment(1000, new Uint8Array(1000), false, 5);
  assert.ok(!r.ackNow);
  assert.equal(r.delAckAt, 45);
  r.onSegment(2000, new Uint8Array(1000), false, 6);
  assert.ok(r.ackNow);
  r.onAckSent();
  assert.equal(r.delAckAt, Infinity);
});

Deno.test("an out-of-order FIN takes effect once the data before it arrives", () => {
  const r = rx();
  assert.equal(r.onSegment(1100, new Uint8Array(50), true, 0).fin, false);
  const res = r.onSegment(1000, new Uint8Array(100), false, 0);
  assert.equal(res.delivered, 150);
  assert.ok(res.fin);
  assert.ok(r.finReceived);
  assert.equal(r.nxt, 1151);
});

Deno.test("auto-tuning: the window doubles, once per window, while the reader keeps up", () => {
  const r = new TcpReceiver(10_000, 80_000, 1000, 40, 40_000);
  r.init(999, 0);
  r.windowField();
  let seq = 1000;
  // A peer held back by the window: it sends all it may, the reader takes each segment at once.
  const round = () => {
    const end = r.advEnd;
    while (seq !== end) {
      const n = Math.min(1000, end - seq);
      r.onSegment(seq, new Uint8Array(n), false, 0);
      seq += n;
      r.read();
    }
    r.windowField(); // the ACK that announces the window
    r.onAckSent();
  };
  const caps: number[] = [];
  for (let i = 0; i < 6; i++) {
    round();
    caps.push(r.buf.capacity);
  }
  assert.deepEqual(
    caps,
    [20_000, 40_000, 40_000, 40_000, 40_000, 40_000],
    "to the maximum, no more",
  );
  assert.equal(r.wnd, 40_000);
  assert.equal(r.ooo.maxBytes, 40_000, "the out-of-order bound grew with the window");

  // A reader that does not keep up: the window is used up, yet the buffer does not grow.
  const slow = new TcpReceiver(10_000, 10_000, 1000, 40, 40_000);
  slow.init(999, 0);
  slow.windowField();
  for (let s = 1000; s < 11_000; s += 1000) slow.onSegment(s, new Uint8Array(1000), false, 0);
  assert.equal(slow.buf.capacity, 10_000);
  assert.equal(slow.ooo.maxBytes, 10_000, "out-of-order data is held to the window given");
  assert.equal(slow.windowField(), 0);
});
