import assert from "node:assert/strict";
import { tcpConfig } from "./tcp_config.ts";
import { TcpSender } from "./tcp_sender.ts";

const MSS = 1000;

/** A sender past its handshake with `bytes` written and a wide peer window. */
function sender(bytes: number, sack = true, congestion: "newreno" | "cubic" = "newreno") {
  const s = new TcpSender(tcpConfig({ congestion, sendBufferBytes: 1 << 20 }));
  s.init(0, MSS);
  s.una = s.nxt = s.max = 1;
  s.shift = 6;
  s.wnd = (1 << 14) << 6; // what a raw window of 1 << 14 means; ACKs below repeat it
  s.maxWnd = s.wnd;
  s.sackOk = sack;
  s.write(new Uint8Array(bytes));
  return s;
}

function drain(s: TcpSender, now = 0) {
  const out = [];
  for (let it = s.next(now, MSS); it; it = s.next(now, MSS)) out.push(it);
  return out;
}

Deno.test("TcpSender sends the initial window of 10 segments, then waits for ACKs", () => {
  const s = sender(50_000);
  const out = drain(s);
  assert.equal(out.length, 10);
  assert.deepEqual(out.map((o) => o.seq), Array.from({ length: 10 }, (_, i) => 1 + i * MSS));
  assert.equal(s.flight, 10 * MSS);
  assert.ok(s.rtoAt < Infinity, "the retransmission timer runs");
});

Deno.test("TcpSender respects the peer's window and avoids runt segments while in flight", () => {
  const s = sender(50_000);
  s.wnd = 2500;
  const out = drain(s);
  assert.deepEqual(
    out.map((o) => o.data.length),
    [1000, 1000],
    "no 500-byte runt with data in flight",
  );
});

Deno.test("three duplicate ACKs start recovery: retransmit SND.UNA, halve cwnd", () => {
  const s = sender(50_000, false);
  drain(s);
  for (let i = 0; i < 3; i++) s.onAck(1, 100, 1 << 14, undefined, null, false, 10);
  assert.ok(s.inRecovery);
  assert.equal(s.cc.cwnd, 5 * MSS);
  const [rx] = drain(s, 10);
  assert.equal(rx.seq, 1);
  assert.ok(rx.retransmit);
  // A partial ACK (NewReno) retransmits the next hole at once.
  s.onAck(1 + 2 * MSS, 100, 1 << 14, undefined, null, false, 20);
  assert.ok(s.inRecovery);
  assert.equal(s.next(20, MSS)?.seq, 1 + 2 * MSS);
  // A full ACK past `recover` ends recovery.
  s.onAck(s.recover, 100, 1 << 14, undefined, null, false, 30);
  assert.ok(!s.inRecovery);
});

Deno.test("with SACK, recovery retransmits exactly the holes the scoreboard shows lost", () => {
  const s = sender(50_000, true);
  drain(s);
  // Segments 1 and 4 (of 0..9) lost: SACK 2–3 and 5–9.
  const sack = [{ start: 1 + 2 * MSS, end: 1 + 4 * MSS }, {
    start: 1 + 5 * MSS,
    end: 1 + 10 * MSS,
  }];
  s.onAck(1 + MSS, 100, 1 << 14, sack, null, false, 10);
  assert.ok(s.inRecovery, "more than 2 MSS SACKed above the hole: it is lost");
  const out = drain(s, 10).filter((o) => o.retransmit);
  assert.deepEqual(out.map((o) => o.seq), [1 + MSS, 1 + 4 * MSS]);
  assert.equal(s.sb.pipe(s.una, s.nxt, s.highRxt, MSS) <= s.cc.cwnd, true);
});

Deno.test("a timeout goes back to SND.UNA with one MSS and a doubled RTO", () => {
  const s = sender(50_000);
  drain(s);
  const rto = s.rtt.rto;
  s.onRto(1000);
  assert.equal(s.nxt, s.una);
  assert.equal(s.cc.cwnd, MSS);
  assert.equal(s.rtt.rto, rto * 2);
  const out = drain(s, 1000);
  assert.equal(out.length, 1);
  assert.ok(out[0].retransmit && out[0].seq === 1);
});

Deno.test("a closed window arms the persist timer and a probe carries one byte", () => {
  const s = sender(5000);
  s.wnd = 0;
  assert.equal(drain(s).length, 0);
  s.checkPersist(0);
  assert.ok(s.persistAt > 0 && s.persistAt < Infinity);
  const p = s.probe(s.persistAt);
  assert.equal(p?.data.length, 1);
  assert.equal(s.nxt, 1, "a probe does not advance SND.NXT");
  assert.equal(s.max, 2);
  // The window opens: the timer stops.
  s.onAck(2, 5, 10_000, undefined, null, false, 2000);
  assert.equal(s.persistAt, Infinity);
  assert.equal(s.nxt, 2);
});

Deno.test("the FIN follows the data and is acknowledged separately", () => {
  const s = sender(1500);
  s.close();
  const out = drain(s);
  assert.deepEqual(out.map((o) => [o.data.length, o.fin]), [[1000, false], [500, true]]);
  assert.ok(s.finSent && !s.finAcked);
  s.onAck(1501, 1, 1000, undefined, null, false, 10);
  assert.ok(!s.finAcked);
  s.onAck(1502, 1, 1000, undefined, null, false, 10);
  assert.ok(s.finAcked);
  assert.equal(s.write(new Uint8Array(1)), 0, "nothing after the FIN");
});

Deno.test("ACKs for data never sent, or older than the window allows, are refused", () => {
  const s = sender(5000);
  drain(s);
  assert.equal(s.onAck(s.max + 1, 1, 1000, undefined, null, false, 1).verdict, "future");
  assert.equal(s.onAck((1 - 2_000_000) >>> 0, 1, 1000, undefined, null, false, 1).verdict, "old");
  assert.equal(s.una, 1);
});

Deno.test("duplicate ACKs for data being resent after a timeout do not start recovery (RFC 6582)", () => {
  const s = sender(50_000, false);
  drain(s);
  s.onRto(1000);
  // The go-back resends and, as cwnd grows, new data past the old SND.MAX goes out too.
  s.onAck(1 + MSS, 100, 1 << 14, undefined, null, false, 1100);
  (s.cc as unknown as { cwnd: number }).cwnd = 30 * MSS;
  drain(s, 1100);
  assert.ok(s.max > s.recover, "new data beyond recover is in flight");
  for (let i = 0; i < 3; i++) s.onAck(1 + MSS, 100, 1 << 14, undefined, null, false, 1200);
  assert.ok(!s.inRecovery);
});

Deno.test("after idling longer than the RTO the sender restarts from the initial window", () => {
  const s = sender(400_000);
  drain(s, 0);
  s.onAck(s.nxt, 100, 1 << 14, undefined, null, false, 10);
  (s.cc as unknown as { cwnd: number }).cwnd = 50 * MSS; // grown by an earlier busy period
  assert.equal(drain(s, 10).length, 50, "busy: the whole window goes out");
  s.onAck(s.nxt, 100, 1 << 14, undefined, null, false, 20);
  assert.equal(s.flight, 0);
  const burst = drain(s, 20 + 5_000);
  assert.equal(burst.length, 10, "after idling: no line-rate burst of the old window");
});

Deno.test("the send buffer grows to hold two congestion windows, up to its maximum", () => {
  const s = new TcpSender(
    tcpConfig({ congestion: "newreno", sendBufferBytes: 20_000, sendBufferMaxBytes: 60_000 }),
  );
  s.init(0, MSS);
  s.una = s.nxt = s.max = 1;
  s.wnd = 1 << 20;
  s.maxWnd = s.wnd;
  s.write(new Uint8Array(100_000));
  assert.equal(s.buf.length, 20_000, "the first bound");
  const caps: number[] = [];
  for (let round = 0; round < 4; round++) {
    const sent = drain(s);
    for (const it of sent) s.onAck(it.seq + it.data.length, 1, 1 << 14, undefined, 1, false, 1);
    s.write(new Uint8Array(100_000));
    caps.push(s.buf.capacity);
  }
  // Slow start doubles cwnd from 10 segments each round; the bound follows at 2 × cwnd.
  assert.deepEqual(caps, [40_000, 60_000, 60_000, 60_000]);
});
