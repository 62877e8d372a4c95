import assert from "node:assert/strict";
import { mulberry32 } from "../testing/prng.ts";
import { TcpConn } from "./tcp_conn.ts";
import { TCP_ACK, TCP_RST } from "./tcp_segment.ts";
import { Link, type LinkOptions, runPair } from "./tcp_test_link.ts";
import { cfg, established, open, pattern, Sink, Source, transfer } from "./tcp_conn_testing.ts";

Deno.test("TcpConn handshake negotiates MSS, window scale, SACK and timestamps", () => {
  const link = new Link();
  const { a, b, now } = open(link, { mss: 1400 }, { mss: 1200 });
  const end = runPair(
    a,
    b,
    link,
    now,
    10_000,
    () => a.state === "ESTABLISHED" && b.state === "ESTABLISHED",
  );
  assert.equal(a.state, "ESTABLISHED");
  assert.equal(b.state, "ESTABLISHED");
  assert.ok(a.events().some((e) => e.type === "connected"));
  assert.ok(b.events().some((e) => e.type === "connected"));
  assert.ok(end < 100, `handshake took ${end} ms`);
});

Deno.test("TcpConn moves 1 MB each way intact over a clean link", async () => {
  const { a, b } = await transfer(1 << 20, { seed: 3 });
  assert.equal(a.stats.retransmits + b.stats.retransmits, 0);
});

for (
  const [name, opts] of [
    ["2 % loss", { loss: 0.02, seed: 21 }],
    ["10 % loss", { loss: 0.1, seed: 22 }],
    ["reordering and duplication", { reorder: 0.2, reorderMs: 15, duplicate: 0.05, seed: 23 }],
    ["10 % loss with reordering", { loss: 0.1, reorder: 0.2, reorderMs: 15, seed: 24 }],
  ] as const
) {
  Deno.test(`TcpConn moves 2 MB each way intact with ${name}`, async () => {
    const { a, b, link, end } = await transfer(2 << 20, opts);
    console.log(name, end, "ms", link.stats, a.stats, a.transport, b.state, a.state);
    if ((opts as LinkOptions).loss) assert.ok(a.stats.retransmits > 0 && b.stats.retransmits > 0);
  });
}

Deno.test("TcpConn moves 5 MB each way with 2 % loss, reordering and duplication", async () => {
  await transfer(5 << 20, { loss: 0.02, reorder: 0.1, reorderMs: 8, duplicate: 0.01, seed: 31 });
});

Deno.test("TcpConn recovers with NewReno and no SACK, timestamps or window scale", async () => {
  const plain = {
    sack: false,
    timestamps: false,
    windowScale: false,
    congestion: "newreno",
  } as const;
  const { a, b } = await transfer(1 << 20, { loss: 0.03, reorder: 0.05, seed: 32 }, plain);
  assert.ok(a.stats.retransmits > 0 && b.stats.retransmits > 0);
});

Deno.test("TcpConn interoperates when only one side offers SACK and timestamps", async () => {
  await transfer(1 << 20, { loss: 0.03, seed: 33 }, {}, { sack: false, timestamps: false });
});

Deno.test("zero window: the sender probes a full receiver and resumes when it reads", () => {
  const small = { recvBufferBytes: 16 * 1024 };
  const { a, b, link, now } = established({}, small, small);
  const data = pattern(200_000, 7);
  const src = new Source(data, false), sink = new Sink();
  let zeroSeen = false;
  let t = runPair(a, b, link, now, 2_000, () => false, () => src.pump(a));
  // B has not read: its window is shut and A is probing it.
  assert.equal(b.readableBytes, 16 * 1024);
  const probesBefore = a.stats.segmentsOut;
  t = runPair(a, b, link, t, t + 30_000, () => false, () => src.pump(a));
  const probes = a.stats.segmentsOut - probesBefore;
  assert.ok(probes >= 3 && probes < 20, `${probes} probes in 30 s, backing off`);
  assert.equal(a.state, "ESTABLISHED");
  t = runPair(a, b, link, t, t + 60_000, () => sink.n === data.length, () => {
    src.pump(a);
    if (b.readableBytes === 0) zeroSeen = true;
    sink.drain(b);
  });
  assert.deepEqual(sink.bytes(), data);
  assert.ok(zeroSeen || sink.n === data.length);
});

Deno.test("the retransmission timer backs off exponentially and gives up after dataRetries", () => {
  let blackhole = false;
  const sends: number[] = [];
  const { a, b, link, now } = established({
    filter: (s, toB) => {
      if (toB && blackhole && s.payload.length > 0) sends.push(s.seq);
      return toB && blackhole;
    },
  }, { dataRetries: 6 });
  blackhole = true;
  const times: number[] = [];
  a.write(Uint8Array.of(1, 2, 3));
  runPair(a, b, link, now, 3_600_000, () => a.state === "CLOSED", (t) => {
    while (times.length < sends.length) times.push(t);
  });
  assert.equal(a.closeReason, "timeout");
  assert.equal(sends.length, 7, "the first send and 6 retransmissions");
  const gaps = times.slice(1).map((t, i) => t - times[i]);
  assert.equal(gaps[0], 200, "the first RTO is the 200 ms floor on a 10 ms path");
  for (let i = 1; i < gaps.length; i++) assert.equal(gaps[i], gaps[i - 1] * 2, `gaps ${gaps}`);
  void b;
});

Deno.test("a SYN nobody answers is retried with back-off, then the open times out", () => {
  const a = TcpConn.connect(1, 2, 0, { ...cfg(5), synRetries: 3 });
  const sent: number[] = [];
  let now = 0;
  while (a.state !== "CLOSED" && now < 100_000) {
    a.tick(now);
    for (const _ of a.poll(now)) sent.push(now);
    now = Math.max(now + 1, a.nextTimerAt());
  }
  assert.deepEqual(sent, [0, 1000, 3000, 7000]);
  assert.equal(a.closeReason, "timeout");
  assert.ok(a.events().some((e) => e.type === "closed"));
});

Deno.test("a RST answering our SYN refuses the connection", () => {
  const a = TcpConn.connect(1, 2, 0, cfg(6));
  const [syn] = a.poll(0);
  a.input(
    { ...syn, srcPort: 2, dstPort: 1, flags: TCP_RST | TCP_ACK, seq: 0, ack: syn.seq + 1 },
    1,
  );
  assert.equal(a.closeReason, "refused");
  // A RST whose ACK does not match our SYN is ignored.
  const c = TcpConn.connect(1, 2, 0, cfg(7));
  const [syn2] = c.poll(0);
  c.input(
    { ...syn2, srcPort: 2, dstPort: 1, flags: TCP_RST | TCP_ACK, seq: 0, ack: syn2.seq + 9 },
    1,
  );
  assert.equal(c.state, "SYN_SENT");
});

Deno.test("simultaneous open: two SYNs cross and both sides reach ESTABLISHED", () => {
  const a = TcpConn.connect(1000, 2000, 0, cfg(8));
  const b = TcpConn.connect(2000, 1000, 0, cfg(9));
  const link = new Link({ delayMs: 10 });
  runPair(a, b, link, 0, 10_000, () => a.state === "ESTABLISHED" && b.state === "ESTABLISHED");
  assert.equal(a.state, "ESTABLISHED");
  assert.equal(b.state, "ESTABLISHED");
});

Deno.test("keep-alive probes an idle peer and drops one that stopped answering", () => {
  const ka = { keepAlive: { idleMs: 10_000, intervalMs: 1_000, probes: 3 } };
  let dead = false;
  const { a, b, link, now } = established({ filter: () => dead }, ka, {});
  let t = runPair(a, b, link, now, now + 35_000, () => false);
  assert.equal(a.state, "ESTABLISHED", "a live peer answers the probes");
  assert.ok(a.stats.segmentsOut >= 3);
  dead = true;
  const from = t;
  t = runPair(a, b, link, t, t + 60_000, () => a.state === "CLOSED");
  assert.equal(a.closeReason, "timeout");
  assert.ok(t - from <= 10_000 + 3 * 1_000 + 1, `dropped after ${t - from} ms`);
});

Deno.test("keep-alive is off by default", () => {
  const { a, b, link, now } = established();
  const before = a.stats.segmentsOut;
  runPair(a, b, link, now, now + 3_600_000, () => false);
  assert.equal(a.stats.segmentsOut, before);
  assert.equal(a.nextTimerAt(), Infinity);
});

Deno.test("delayed ACK: one segment is acknowledged after the timer, two full ones at once", () => {
  const { a, b, now } = established();
  a.write(new Uint8Array(100));
  const [s1] = a.poll(now);
  b.input(s1, now + 5);
  assert.equal(b.poll(now + 5).length, 0, "the ACK waits");
  assert.equal(b.nextTimerAt(), now + 5 + 40);
  assert.equal(b.poll(now + 45).length, 1);
  a.write(new Uint8Array(4000));
  const segs = a.poll(now + 50);
  assert.ok(segs.length >= 2);
  b.input(segs[0], now + 55);
  assert.equal(b.poll(now + 55).length, 0);
  b.input(segs[1], now + 55);
  assert.equal(b.poll(now + 55).length, 1, "every second full segment is acknowledged at once");
});

Deno.test("a flood of out-of-order segments keeps the connection's queue under its bound", () => {
  const bound = 32 * 1024;
  const { a, b, now } = established({}, {}, { oooBytes: bound });
  const r = mulberry32(3);
  const base = b.receiveNext;
  let maxSeen = 0;
  for (let i = 0; i < 20_000; i++) {
    const off = 1 + Math.floor(r() * 200_000);
    b.input({
      srcPort: 40000,
      dstPort: 80,
      seq: (base + off) >>> 0,
      ack: a.receiveNext,
      flags: TCP_ACK,
      window: 1000,
      urgent: 0,
      options: {},
      payload: new Uint8Array(1 + Math.floor(r() * 1400)),
    }, now + 1);
    maxSeen = Math.max(maxSeen, b.outOfOrderBytes);
    b.poll(now + 1);
  }
  assert.ok(maxSeen <= bound, `${maxSeen} bytes queued`);
  assert.ok(maxSeen > bound / 2);
  assert.equal(b.state, "ESTABLISHED");
});

Deno.test("a write beyond the send buffer is accepted in part and writable follows", () => {
  const { a, b, link, now } = established({}, { sendBufferBytes: 10_000 }, {});
  assert.equal(a.write(new Uint8Array(25_000)), 10_000);
  assert.equal(a.writableBytes, 0);
  runPair(a, b, link, now, now + 1_000, () => a.writableBytes > 0);
  assert.ok(a.events().some((e) => e.type === "writable"));
});

for (const sack of [true, false]) {
  Deno.test(`one lost segment is repaired by fast retransmit, not a timeout (SACK ${sack ? "on" : "off"})`, () => {
    let dataSeen = 0;
    const { a, b, link, now } = established({
      filter: (s, toB) => toB && s.payload.length > 0 && ++dataSeen === 5,
    }, { sack, congestion: sack ? "cubic" : "newreno" });
    const data = pattern(200_000, 9);
    const src = new Source(data, false), sink = new Sink();
    runPair(a, b, link, now, 60_000, () => sink.n === data.length, () => {
      src.pump(a);
      sink.drain(b);
    });
    assert.deepEqual(sink.bytes(), data);
    assert.equal(a.stats.timeouts, 0);
    assert.equal(a.stats.retransmits, 1);
    assert.ok(a.transport.ssthresh < Infinity, "the loss reduced the window");
  });
}

Deno.test("a repeated SYN makes the SYN-ACK due at once, and the handshake's ACK cancels it", () => {
  const a = TcpConn.connect(1, 2, 0, cfg(10));
  const [syn] = a.poll(0);
  const b = TcpConn.accept(syn, 1, cfg(11));
  const [synAck] = b.poll(1);
  a.input(synAck, 2);
  const [ack] = a.poll(2);
  b.input(syn, 3); // A's SYN again: B owes a SYN-ACK now, not at its next timeout
  assert.equal(b.nextTimerAt(), 3);
  b.input(ack, 3); // ...but the handshake's ACK arrives before B polls
  assert.equal(b.state, "ESTABLISHED");
  assert.deepEqual(b.poll(3), []);
  assert.equal(b.nextTimerAt(), Infinity, "idle: no timer, no busy loop");
});

Deno.test("PAWS: an in-window segment with an old timestamp is dropped, not delivered", () => {
  const { a, b, now } = established();
  a.write(Uint8Array.of(1, 2, 3));
  const [s1] = a.poll(now + 10);
  b.input(s1, now + 15);
  assert.equal(b.readableBytes, 3);
  b.poll(now + 60);
  // The same sequence space, next bytes, but stamped before what B already saw.
  const old = {
    ...s1,
    seq: (s1.seq + 3) >>> 0,
    options: { ts: { val: s1.options.ts!.val - 5, ecr: 0 } },
  };
  b.input(old, now + 70);
  assert.equal(b.readableBytes, 3, "the old duplicate's data is not taken");
  assert.equal(b.stats.dropped, 1);
  assert.equal(b.poll(now + 70).length, 1, "and it is answered with an ACK");
});

for (const congestion of ["cubic", "newreno"] as const) {
  Deno.test(`${congestion} keeps a 10 Mbit/s drop-tail bottleneck busy and recovers from its losses`, async () => {
    // 1250 bytes/ms, 20 ms RTT, a 40 KB queue: losses come from congestion, not chance.
    const opts = { rateBytesPerMs: 1250, delayMs: 10, queueBytes: 40_000, seed: 41 };
    const { a, link, end } = await transfer(4 << 20, opts, { congestion });
    assert.ok(link.stats.queueDrops > 0, "the queue overflowed: congestion control was exercised");
    // Slow start overshoots into the queue (no HyStart), so a timeout or two is expected.
    assert.ok(a.stats.timeouts <= 4, `${a.stats.timeouts} timeouts`);
    // Simulated (fake-clock) time, so deterministic: at least 60 % of the line rate.
    const ideal = (4 << 20) / 1250;
    assert.ok(end < ideal / 0.6, `${end} ms for an ideal ${ideal.toFixed(0)} ms`);
  });
}

Deno.test("nextTimerAt() says output is due after write(), read() and close(), until poll()", () => {
  const { a, b, link, now } = established();
  assert.equal(a.nextTimerAt(), Infinity);
  a.write(Uint8Array.of(1));
  assert.ok(a.nextTimerAt() <= now, "write() makes a send due");
  assert.equal(a.poll(now).length, 1);
  assert.equal(a.nextTimerAt() > now, true, "then only the retransmission timer");
  const t = runPair(a, b, link, now, now + 1000, () => b.readableBytes === 1);
  b.read();
  assert.ok(b.nextTimerAt() <= t);
  b.poll(t);
  b.close();
  assert.ok(b.nextTimerAt() <= t, "close() makes the FIN due");
  assert.ok(b.poll(t).some((s) => s.flags & 0x01));
});

Deno.test("poll(now, true) hands out views of the send buffer; poll(now) copies that stay put", () => {
  const { a, now } = established();
  const data = pattern(3000, 4);
  assert.equal(a.write(data), 3000);
  const views = a.poll(now, true).filter((s) => s.payload.length > 0);
  assert.deepEqual(views.map((s) => s.payload.length), [1448, 1448, 104]);
  assert.deepEqual(views[0].payload, data.subarray(0, 1448));
  assert.ok(views[0].payload.buffer.byteLength > 3000, "a view of the ring's storage");
  const { a: c, now: t } = established();
  c.write(data);
  const copies = c.poll(t).filter((s) => s.payload.length > 0);
  assert.equal(copies[0].payload.buffer.byteLength, 1448, "its own bytes");
});
