import assert from "node:assert/strict";
import { mulberry32 } from "../testing/prng.ts";
import { TcpConn } from "./tcp_conn.ts";
import { type Endpoint, TcpListener } from "./tcp_listener.ts";
import { TCP_ACK, TCP_RST, TCP_SYN, type TcpSegment } from "./tcp_segment.ts";

const ip = Uint8Array.of(10, 0, 0, 1);
const at = (port: number): Endpoint => ({ ip, port });

/** Runs clients (each with its own port) against the listener over a 5 ms link until `done`. */
function run(l: TcpListener, clients: TcpConn[], now: number, until: number, done: () => boolean) {
  type Hop = { at: number; toListener: boolean; port: number; seg: TcpSegment };
  let q: Hop[] = [];
  while (now <= until) {
    for (const c of clients) {
      c.tick(now);
      for (const seg of c.poll(now)) {
        q.push({ at: now + 5, toListener: true, port: c.localPort, seg });
      }
    }
    l.tick(now);
    for (const o of l.poll(now)) {
      q.push({ at: now + 5, toListener: false, port: o.remote.port, seg: o.seg });
    }
    const due = q.filter((h) => h.at <= now);
    q = q.filter((h) => h.at > now);
    for (const h of due) {
      if (h.toListener) l.input(at(h.port), h.seg, now);
      else clients.find((c) => c.localPort === h.port)?.input(h.seg, now);
    }
    if (done()) return now;
    if (due.length > 0) continue;
    const next = Math.min(
      l.nextTimerAt(),
      ...clients.map((c) => c.nextTimerAt()),
      ...q.map((h) => h.at),
    );
    if (next === Infinity) return now;
    now = Math.max(now + 1, next);
  }
  return now;
}

Deno.test("TcpListener completes a handshake, hands the connection out and carries data", () => {
  const l = new TcpListener(80, { conn: { random: mulberry32(1) } });
  const c = TcpConn.connect(40000, 80, 0, { random: mulberry32(2) });
  let t = run(
    l,
    [c],
    0,
    10_000,
    () => c.state === "ESTABLISHED" && l.connections === 1 && l.halfOpen === 0,
  );
  const got = l.accept();
  assert.ok(got);
  assert.equal(got.remote.port, 40000);
  assert.equal(got.conn.state, "ESTABLISHED");
  assert.equal(l.accept(), null);
  c.write(new TextEncoder().encode("hello"));
  t = run(l, [c], t, t + 10_000, () => got.conn.readableBytes === 5);
  assert.equal(new TextDecoder().decode(got.conn.read()), "hello");
  c.close();
  got.conn.close();
  run(l, [c], t, t + 60_000, () => l.connections === 0 && c.state === "CLOSED");
  assert.equal(l.connections, 0, "closed connections are forgotten");
});

const syn = (port: number): TcpSegment => ({
  srcPort: port,
  dstPort: 80,
  seq: port * 7919,
  ack: 0,
  flags: TCP_SYN,
  window: 65535,
  urgent: 0,
  options: { mss: 1460 },
  payload: new Uint8Array(0),
});

Deno.test("with cookies off a SYN flood fills the backlog, is dropped and counted, memory bounded", () => {
  const l = new TcpListener(80, {
    backlog: 16,
    synCookies: false,
    conn: { random: mulberry32(3), synRetries: 2 },
  });
  for (let p = 1000; p < 11_000; p++) l.input(at(p), syn(p), 0);
  assert.equal(l.halfOpen, 16);
  assert.equal(l.connections, 16);
  assert.equal(l.stats.synAccepted, 16);
  assert.equal(l.stats.synDropped, 10_000 - 16);
  assert.equal(l.poll(0).length, 16, "one SYN-ACK per half-open connection");
  // The spoofed peers never answer: the half-open ones give up after their SYN-ACK retries.
  run(l, [], 0, 60_000, () => l.connections === 0);
  assert.equal(l.connections, 0);
  assert.equal(l.halfOpen, 0);
  // The port serves again.
  const c = TcpConn.connect(40001, 80, 60_000, { random: mulberry32(4) });
  run(l, [c], 60_000, 70_000, () => c.state === "ESTABLISHED");
  assert.equal(c.state, "ESTABLISHED");
});

Deno.test("an ACK for no connection is answered with RST <SEQ=SEG.ACK>; a RST is ignored", () => {
  const l = new TcpListener(80);
  const seg: TcpSegment = {
    srcPort: 5555,
    dstPort: 80,
    seq: 1,
    ack: 0xdead_beef,
    flags: TCP_ACK,
    window: 100,
    urgent: 0,
    options: {},
    payload: new Uint8Array(3),
  };
  l.input(at(5555), seg, 0);
  l.input(at(5555), { ...seg, flags: TCP_RST }, 0);
  const out = l.poll(0);
  assert.equal(out.length, 1);
  assert.equal(out[0].seg.flags, TCP_RST);
  assert.equal(out[0].seg.seq, 0xdead_beef);
  assert.equal(out[0].seg.dstPort, 5555);
  assert.equal(l.stats.resets, 1);
});

Deno.test("a full accept queue resets further completed handshakes", () => {
  const l = new TcpListener(80, { acceptQueue: 2, conn: { random: mulberry32(5) } });
  const cs = [1, 2, 3].map((i) =>
    TcpConn.connect(41000 + i, 80, 0, { random: mulberry32(10 + i) })
  );
  run(
    l,
    cs,
    0,
    10_000,
    () => cs.every((c) => c.state === "ESTABLISHED" || c.state === "CLOSED") && l.halfOpen === 0,
  );
  run(l, cs, 100, 10_000, () => cs.some((c) => c.state === "CLOSED"));
  assert.equal(l.stats.acceptOverflow, 1);
  assert.equal(cs.filter((c) => c.closeReason === "reset").length, 1);
  assert.ok(l.accept() && l.accept());
  assert.equal(l.accept(), null);
});

Deno.test("TIME-WAIT connections beyond the cap are dropped and counted", () => {
  const l = new TcpListener(80, { maxTimeWait: 2, conn: { random: mulberry32(6) } });
  const cs = [1, 2, 3, 4].map((i) =>
    TcpConn.connect(42000 + i, 80, 0, { random: mulberry32(20 + i) })
  );
  let t = run(
    l,
    cs,
    0,
    10_000,
    () => cs.every((c) => c.state === "ESTABLISHED") && l.halfOpen === 0,
  );
  // The server closes first, so the server side ends in TIME-WAIT.
  for (let a = l.accept(); a; a = l.accept()) a.conn.close();
  t = run(l, cs, t, t + 5_000, () => cs.every((c) => c.state === "CLOSE_WAIT"));
  for (const c of cs) c.close();
  run(l, cs, t, t + 5_000, () => cs.every((c) => c.state === "CLOSED"));
  assert.equal(l.stats.timeWaitEvicted, 2);
  assert.equal(l.connections, 2);
});

Deno.test("a new SYN above the old sequence space reopens a tuple in TIME-WAIT", () => {
  const l = new TcpListener(80, { conn: { random: mulberry32(7) } });
  const c = TcpConn.connect(43000, 80, 0, { random: mulberry32(8) });
  let t = run(l, [c], 0, 10_000, () => c.state === "ESTABLISHED" && l.halfOpen === 0);
  const server = l.accept()!.conn;
  server.close();
  t = run(l, [c], t, t + 5_000, () => c.state === "CLOSE_WAIT");
  c.close();
  t = run(l, [c], t, t + 5_000, () => c.state === "CLOSED");
  assert.equal(server.state, "TIME_WAIT");
  // A SYN below the old RCV.NXT is an old duplicate: TIME-WAIT answers it, nothing reopens.
  const again = TcpConn.connect(43000, 80, t, { random: mulberry32(9) });
  const [syn] = again.poll(t);
  const old = server.receiveNext;
  l.input(at(43000), { ...syn, seq: (old - 5000) >>> 0 }, t);
  const challenge = l.poll(t);
  assert.deepEqual(challenge.map((o) => o.seg.flags), [TCP_ACK]);
  assert.equal(server.state, "TIME_WAIT");
  // The same client port with a later ISN: a fresh handshake.
  const fresh = { ...syn, seq: (old + 100_000) >>> 0 };
  l.input(at(43000), fresh, t + 1);
  const out = l.poll(t + 1);
  assert.equal(out.length, 1);
  assert.equal(out[0].seg.flags, TCP_SYN | TCP_ACK);
  assert.equal(out[0].seg.ack, (fresh.seq + 1) | 0);
  assert.equal(l.halfOpen, 1);
});

Deno.test("under a SYN flood with cookies a real client still connects, statelessly", () => {
  const l = new TcpListener(80, { backlog: 16, conn: { random: mulberry32(3) } });
  for (let p = 1000; p < 11_000; p++) l.input(at(p), syn(p), 0);
  assert.equal(l.halfOpen, 16);
  assert.equal(l.connections, 16, "cookies keep no state");
  assert.equal(l.stats.cookiesSent, 10_000 - 16);
  assert.equal(l.stats.synDropped, 0);
  l.poll(0); // the SYN-ACKs go to the spoofed sources
  // A real client during the flood gets a cookie SYN-ACK and completes on its ACK.
  const c = TcpConn.connect(40002, 80, 10, { random: mulberry32(4) });
  let t = run(l, [c], 10, 5_000, () => c.state === "ESTABLISHED" && l.stats.cookiesAccepted === 1);
  assert.equal(l.stats.cookiesAccepted, 1);
  const got = l.accept();
  assert.ok(got && got.remote.port === 40002);
  assert.equal(got.conn.state, "ESTABLISHED");
  const data = new Uint8Array(300_000).map((_, i) => i & 0xff);
  const parts: Uint8Array[] = [];
  let off = 0, n = 0;
  t = run(l, [c], t, t + 30_000, () => {
    off += c.write(data.subarray(off));
    for (let b = got.conn.read(); b.length > 0; b = got.conn.read()) parts.push(b), n += b.length;
    return n === data.length;
  });
  assert.equal(n, data.length);
  let o = 0;
  for (const p of parts) assert.deepEqual(p, data.subarray(o, o += p.length));
  // A forged ACK (no cookie) is reset, not accepted.
  l.input(at(50_000), { ...syn(50_000), flags: TCP_ACK, ack: 12345 }, t);
  assert.equal(l.stats.cookiesAccepted, 1);
  assert.ok(l.poll(t).some((o) => o.remote.port === 50_000 && o.seg.flags === TCP_RST));
});
