/** TcpConn's closing paths: half-close both ways, simultaneous close, TIME-WAIT, RST, RFC 5961. */
import assert from "node:assert/strict";
import { TCP_ACK, TCP_RST, TCP_SYN, type TcpSegment } from "./tcp_segment.ts";
import { runPair } from "./tcp_test_link.ts";
import { established, pattern, Sink, Source } from "./tcp_conn_testing.ts";

Deno.test("half-close: A finishes first and B keeps sending until it closes too", () => {
  const { a, b, link, now } = established();
  a.close();
  assert.equal(a.state, "FIN_WAIT_1");
  let t = runPair(
    a,
    b,
    link,
    now,
    60_000,
    () => a.state === "FIN_WAIT_2" && b.state === "CLOSE_WAIT",
  );
  assert.equal(b.state, "CLOSE_WAIT");
  assert.ok(b.events().some((e) => e.type === "eof"));
  assert.ok(b.eof);
  assert.equal(a.write(Uint8Array.of(1)), 0, "no writing after close()");
  const data = pattern(100_000, 5);
  const sink = new Sink(), src = new Source(data);
  t = runPair(a, b, link, t, 60_000, () => a.state === "TIME_WAIT" && b.state === "CLOSED", () => {
    src.pump(b);
    sink.drain(a);
  });
  assert.deepEqual(sink.bytes(), data);
  assert.equal(b.closeReason, "done");
  assert.ok(a.eof);
  // TIME-WAIT ends after timeWaitMs on the fake clock.
  runPair(a, b, link, t, t + 20_000, () => a.state === "CLOSED");
  assert.equal(a.closeReason, "done");
});

Deno.test("half-close: B finishes first while A still sends", () => {
  const { a, b, link, now } = established();
  b.close();
  const data = pattern(50_000, 6);
  const sink = new Sink(), src = new Source(data, false);
  let t = runPair(
    a,
    b,
    link,
    now,
    60_000,
    () => sink.n === data.length && b.state === "FIN_WAIT_2",
    () => {
      src.pump(a);
      sink.drain(b);
    },
  );
  assert.deepEqual(sink.bytes(), data);
  assert.equal(a.state, "CLOSE_WAIT");
  assert.ok(a.eof);
  a.close();
  assert.equal(a.state, "LAST_ACK");
  t = runPair(a, b, link, t, 60_000, () => a.state === "CLOSED");
  assert.equal(a.closeReason, "done");
  assert.equal(b.state, "TIME_WAIT");
  assert.ok(b.eof);
});

Deno.test("simultaneous close goes through CLOSING on both sides to TIME-WAIT", () => {
  const { a, b, link, now } = established({ delayMs: 20 });
  a.close();
  b.close();
  const seen = new Set<string>();
  runPair(a, b, link, now, 60_000, () => a.state === "TIME_WAIT" && b.state === "TIME_WAIT", () => {
    seen.add(a.state);
    seen.add(b.state);
  });
  assert.equal(a.state, "TIME_WAIT");
  assert.equal(b.state, "TIME_WAIT");
  assert.ok(seen.has("CLOSING"), [...seen].join());
});

Deno.test("a FIN retransmitted into TIME-WAIT is acknowledged again", () => {
  let dropAtoB = false;
  const { a, b, link, now } = established({ filter: (_s, toB) => toB && dropAtoB });
  a.close();
  let t = runPair(
    a,
    b,
    link,
    now,
    60_000,
    () => b.state === "CLOSE_WAIT" && a.state === "FIN_WAIT_2",
  );
  // From here A's ACKs are lost, so B keeps retransmitting its FIN.
  dropAtoB = true;
  b.close();
  t = runPair(a, b, link, t, 60_000, () => a.state === "TIME_WAIT");
  const before = a.stats.segmentsOut;
  t = runPair(a, b, link, t, t + 3_000, () => false);
  assert.ok(a.stats.segmentsOut >= before + 2, "A re-ACKs each retransmitted FIN");
  assert.ok(b.stats.timeouts >= 2);
  assert.equal(a.state, "TIME_WAIT");
  assert.equal(b.state, "LAST_ACK");
  // Each retransmitted FIN restarted TIME-WAIT; once B gives up A still expires on its own.
  runPair(a, b, link, t, t + 3_600_000, () => a.state === "CLOSED" && b.state === "CLOSED");
  assert.equal(a.closeReason, "done");
  assert.equal(b.closeReason, "timeout");
});

Deno.test("a RST in TIME-WAIT is ignored, even at RCV.NXT (RFC 1337)", () => {
  const { a, b, link, now } = established();
  a.close();
  let t = runPair(a, b, link, now, 60_000, () => b.state === "CLOSE_WAIT");
  b.close();
  t = runPair(a, b, link, t, 60_000, () => a.state === "TIME_WAIT" && b.state === "CLOSED");
  assert.equal(a.poll(t).length, 0);
  const dropped = a.stats.dropped;
  // What a peer that has forgotten the connection sends back to a re-ACK: seq = our ACK.
  a.input({
    srcPort: 80,
    dstPort: 40000,
    seq: b.sendNext,
    ack: 0,
    flags: TCP_RST,
    window: 0,
    urgent: 0,
    options: {},
    payload: new Uint8Array(0),
  }, t + 1);
  assert.equal(a.state, "TIME_WAIT");
  assert.equal(a.stats.dropped, dropped + 1);
  assert.equal(a.poll(t + 1).length, 0, "no challenge ACK either");
  // TIME-WAIT still ends on its own.
  runPair(a, b, link, t + 1, t + 3_600_000, () => a.state === "CLOSED");
  assert.equal(a.closeReason, "done");
});

Deno.test("abort() sends a RST that resets the peer", () => {
  const { a, b, link, now } = established();
  a.abort();
  assert.equal(a.state, "CLOSED");
  assert.equal(a.closeReason, "aborted");
  runPair(a, b, link, now, 10_000, () => b.state === "CLOSED");
  assert.equal(b.closeReason, "reset");
  assert.ok(b.events().some((e) => e.type === "reset"));
});

Deno.test("an in-window RST with the wrong sequence number draws a challenge ACK (RFC 5961)", () => {
  const { a, b, now } = established();
  assert.equal(b.poll(now).length, 0);
  const rstAt = (seqOff: number): TcpSegment => ({
    srcPort: 40000,
    dstPort: 80,
    seq: (seqOff + a.sendNext) >>> 0,
    ack: 0,
    flags: TCP_RST,
    window: 0,
    urgent: 0,
    options: {},
    payload: new Uint8Array(0),
  });
  b.input(rstAt(100), now + 1);
  assert.equal(b.state, "ESTABLISHED");
  const out = b.poll(now + 1);
  assert.equal(out.length, 1);
  assert.equal(out[0].flags, TCP_ACK);
  assert.equal(b.stats.challengeAcks, 1);
  // Far outside the window: dropped silently.
  b.input(rstAt(0x4000_0000), now + 2);
  assert.equal(b.poll(now + 2).length, 0);
  // Exactly RCV.NXT: the connection resets.
  b.input(rstAt(0), now + 3);
  assert.equal(b.state, "CLOSED");
  assert.equal(b.closeReason, "reset");
});

Deno.test("a SYN on an established connection draws a rate-limited challenge ACK", () => {
  const { a, b, now } = established();
  const syn: TcpSegment = {
    srcPort: 40000,
    dstPort: 80,
    seq: 12345,
    ack: 0,
    flags: TCP_SYN,
    window: 1000,
    urgent: 0,
    options: {},
    payload: new Uint8Array(0),
  };
  let acks = 0;
  for (let i = 0; i < 50; i++) {
    b.input({ ...syn, seq: a.sendNext + i }, now + 1);
    acks += b.poll(now + 1).length;
  }
  assert.equal(b.state, "ESTABLISHED");
  assert.equal(acks, 10, "10 challenge ACKs per second");
});
