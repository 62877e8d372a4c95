import assert from "node:assert/strict";
import { parseIp } from "../net/ip.ts";
import { IpInput } from "./ip_input.ts";
import { packetFor, TcpStack, type TcpStackDevice } from "./tcp_stack.ts";
import { encodeTcpSegment, TCP_ACK } from "./tcp_segment.ts";
import { parsePacket, verifyChecksums } from "../net/packet.ts";
import type { TcpStream } from "./tcp_stream.ts";
import { pattern, sha256 } from "./tcp_conn_testing.ts";
import { systemClock } from "./types.ts";

/**
 * A bounded packet ring like NetstackDevice's: refuses sends when full and
 * calls the drain handler once half of it is free after a refusal. A pump
 * moves its packets to the other side's IP layer a macrotask later.
 */
class Ring implements TcpStackDevice {
  readonly q: Uint8Array[] = [];
  refused = 0;
  #onDrain: (() => void) | null = null;
  #wantDrain = false;
  peer: IpInput | null = null;
  /** Drops every n-th packet sent (0: none), for loss recovery. */
  dropEvery = 0;
  #sent = 0;
  #timer: ReturnType<typeof setTimeout> | null = null;
  constructor(readonly capacity: number) {}
  get room(): number {
    return this.capacity - this.q.length;
  }
  setDrainHandler(h: (() => void) | null): void {
    this.#onDrain = h;
  }
  send = (p: Uint8Array): void => {
    if (this.q.length >= this.capacity) {
      this.refused++;
      this.#wantDrain = true;
      return;
    }
    if (this.dropEvery > 0 && ++this.#sent % this.dropEvery === 0) return;
    this.q.push(p.slice());
    this.#timer ??= setTimeout(() => this.#pump(), 0);
  };
  #pump(): void {
    this.#timer = null;
    // A few packets per turn, as a data plane reading batches.
    for (const p of this.q.splice(0, 16)) this.peer?.input(p);
    if (this.#wantDrain && this.q.length <= this.capacity >> 1) {
      this.#wantDrain = false;
      this.#onDrain?.();
    }
    if (this.q.length > 0) this.#timer = setTimeout(() => this.#pump(), 0);
  }
}

function pairOf(a: Uint8Array, b: Uint8Array, capacity = 512) {
  const ra = new Ring(capacity), rb = new Ring(capacity);
  const ipA = new IpInput({ clock: systemClock, out: ra.send, addresses: [a] });
  const ipB = new IpInput({ clock: systemClock, out: rb.send, addresses: [b] });
  ra.peer = ipB;
  rb.peer = ipA;
  const A = new TcpStack({ ip: ipA, device: ra, clock: systemClock });
  const B = new TcpStack({ ip: ipB, device: rb, clock: systemClock });
  return { A, B, ra, rb, ipA, ipB };
}

async function readAll(s: TcpStream): Promise<Uint8Array> {
  return new Uint8Array(await new Response(s.readable).arrayBuffer());
}

async function writeAll(s: TcpStream, data: Uint8Array): Promise<void> {
  const w = s.writable.getWriter();
  for (let o = 0; o < data.length; o += 100_000) await w.write(data.subarray(o, o + 100_000));
  await w.close();
}

for (
  const [fam, a, b] of [
    ["IPv4", "100.64.0.1", "100.64.0.2"],
    ["IPv6", "fd7a:115c:a1e0::1", "fd7a:115c:a1e0::2"],
  ] as const
) {
  Deno.test(`two stacks back to back move 1 MB each way over ${fam}, checksummed, through a small ring with no loss`, async () => {
    const { A, B, ra } = pairOf(parseIp(a), parseIp(b), 24);
    try {
      const up = pattern(1 << 20, 1), down = pattern(1 << 20, 2);
      const l = B.listen(8000);
      const server = (async () => {
        const s = (await l.accept())!;
        assert.equal(s.remoteAddr.hostname, a);
        const got = await readAll(s);
        await writeAll(s, down);
        s.close();
        return got;
      })();
      const c = await A.dial(parseIp(b), 8000);
      assert.equal(c.localAddr.hostname, a);
      assert.ok(c.localAddr.port >= 49152);
      const [, got, back] = await Promise.all([writeAll(c, up), server, readAll(c)]);
      c.close();
      assert.equal(await sha256(got), await sha256(up));
      assert.equal(await sha256(back), await sha256(down));
      // The 24-packet ring filled, the stack held its output instead of losing it.
      assert.ok(A.counters.stalls > 0, "the sender stalled on the full ring");
      assert.ok(ra.refused > 0);
      assert.equal(c.conn.stats.retransmits, 0, "nothing was lost to the full ring");
      l.close();
    } finally {
      A.close();
      B.close();
    }
  });
}

Deno.test("source and sink move 4 MB in place: views of the receive buffer, consumed in odd steps", async () => {
  const { A, B } = pairOf(parseIp("100.64.0.1"), parseIp("100.64.0.2"));
  try {
    const data = pattern(4 << 20, 3);
    const l = B.listen(8000);
    const server = (async () => {
      const s = (await l.accept())!;
      for (let o = 0; o < data.length;) {
        o += await s.sink.write(data.subarray(o, o + 70_001));
      }
      await s.sink.closeWrite();
      return s;
    })();
    const c = await A.dial(parseIp("100.64.0.2"), 8000);
    const got = new Uint8Array(data.length);
    let n = 0, views = 0;
    for (let v = await c.source.peek(); v !== null; v = await c.source.peek()) {
      // Take less than lent at times: the rest must come back first on the next peek.
      const take = views++ % 3 === 0 ? Math.ceil(v.length / 2) : v.length;
      got.set(v.subarray(0, take), n);
      n += take;
      c.source.consume(take);
    }
    assert.equal(n, data.length);
    assert.equal(await sha256(got), await sha256(data));
    c.close();
    (await server).close();
    l.close();
  } finally {
    A.close();
    B.close();
  }
});

Deno.test("a dial to a port nobody listens on is refused by the peer stack's RST", async () => {
  const { A, B } = pairOf(parseIp("100.64.0.1"), parseIp("100.64.0.2"));
  try {
    const err = await A.dial(parseIp("100.64.0.2"), 9).then(() => null, (e) => e);
    assert.ok(err instanceof Error);
    assert.equal(err.cause, "refused");
    assert.equal(B.counters.resets, 1);
    assert.equal(A.connections, 0, "the refused connection left the table");
  } finally {
    A.close();
    B.close();
  }
});

Deno.test("the connection table is bounded: a dial past maxConnections fails at once", async () => {
  const ipA = new IpInput({
    clock: systemClock,
    out: () => {},
    addresses: [parseIp("100.64.0.1")],
  });
  const A = new TcpStack({ ip: ipA, clock: systemClock, maxConnections: 1 });
  try {
    const first = A.dial(parseIp("100.64.0.2"), 80);
    first.catch(() => {});
    const err = await A.dial(parseIp("100.64.0.2"), 80).then(() => null, (e) => e);
    assert.ok(err instanceof Error && /too many/.test(err.message));
    assert.equal(A.counters.tableFull, 1);
    const noV6 = await A.dial(parseIp("fd7a:115c:a1e0::2"), 80).then(() => null, (e) => e);
    assert.equal(noV6?.cause, "unreachable");
  } finally {
    A.close();
  }
});

Deno.test("a dial is aborted by its signal and closing the peer's stream half-closes", async () => {
  const { A, B } = pairOf(parseIp("100.64.0.1"), parseIp("100.64.0.2"));
  try {
    const l = B.listen(7);
    const ac = new AbortController();
    ac.abort();
    const err = await A.dial(parseIp("100.64.0.2"), 7, ac.signal).then(() => null, (e) => e);
    assert.equal(err?.cause, "timeout");
    const c = await A.dial(parseIp("100.64.0.2"), 7);
    const s = (await l.accept())!;
    // A half-closes; B can still answer after reading A's end of stream.
    await c.writable.close();
    assert.equal((await readAll(s)).length, 0);
    await writeAll(s, new TextEncoder().encode("still here"));
    assert.equal(new TextDecoder().decode(await readAll(c)), "still here");
    c.close();
    s.close();
    l.close();
  } finally {
    A.close();
    B.close();
  }
});

Deno.test("packetFor wraps a segment in a valid IPv4 or IPv6 packet, checksums right", () => {
  for (const [a, b] of [["100.64.0.1", "100.64.0.2"], ["fd7a:115c:a1e0::1", "fd7a:115c:a1e0::2"]]) {
    const src = parseIp(a), dst = parseIp(b);
    const seg = {
      srcPort: 40000,
      dstPort: 80,
      seq: 7,
      ack: 9,
      flags: TCP_ACK,
      window: 100,
      urgent: 0,
      options: { ts: { val: 1, ecr: 2 } },
      payload: new Uint8Array([1, 2, 3]),
    };
    const pkt = packetFor(seg, src, dst);
    const p = parsePacket(pkt);
    assert.equal(p.problem, null);
    assert.equal(p.proto, 6);
    assert.deepEqual([p.srcPort, p.dstPort], [40000, 80]);
    assert.ok(verifyChecksums(pkt), `${a}: checksums`);
    assert.deepEqual(pkt.subarray(p.length - 3), new Uint8Array([1, 2, 3]));
    const again = encodeTcpSegment(seg, src, dst);
    assert.deepEqual(pkt.subarray(p.l4Off), again, "headroom changes nothing but the offset");
  }
});

Deno.test("200 connections at once each carry their own bytes; a full table reuses TIME-WAIT slots", async () => {
  const ipA = new IpInput({
    clock: systemClock,
    out: (p) => later(ipB, p),
    addresses: [parseIp("100.64.0.1")],
  });
  const ipB: IpInput = new IpInput({
    clock: systemClock,
    out: (p) => later(ipA, p),
    addresses: [parseIp("100.64.0.2")],
  });
  const A = new TcpStack({ ip: ipA, clock: systemClock, maxConnections: 200 });
  const B = new TcpStack({ ip: ipB, clock: systemClock });
  try {
    const l = B.listen(80);
    const echo = (async () => {
      for await (const s of l) {
        // Each connection echoes what it reads, then closes.
        void s.readable.pipeTo(s.writable).finally(() => s.close());
      }
    })();
    const one = async (i: number) => {
      const c = await A.dial(parseIp("100.64.0.2"), 80);
      const data = pattern(5000 + i, i);
      const [, back] = await Promise.all([writeAll(c, data), readAll(c)]);
      assert.equal(await sha256(back), await sha256(data), `connection ${i}`);
      c.close();
      return c;
    };
    const conns = await Promise.all(Array.from({ length: 200 }, (_, i) => one(i)));
    // We closed first, so our ends wait in TIME-WAIT and fill the table.
    await waitUntil(() => conns.every((c) => c.conn.state === "TIME_WAIT"));
    assert.equal(A.connections, 200);
    const extra = await one(200);
    assert.equal(A.counters.timeWaitEvicted, 1, "the oldest TIME-WAIT made room");
    assert.equal(A.counters.tableFull, 0);
    extra.close();
    l.close();
    await echo;
  } finally {
    A.close();
    B.close();
  }
});

function later(to: IpInput, p: Uint8Array): void {
  const c = p.slice();
  setTimeout(() => to.input(c), 0);
}

/** Waits for `f`, bounded generously: a loaded 2-core machine stretches timer-driven runs. */
async function waitUntil(f: () => boolean): Promise<void> {
  const deadline = Date.now() + 30_000;
  while (!f() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
  assert.ok(f(), "condition not reached in 30 s");
}

Deno.test("close() with unread data resets the peer, whose read and write then fail", async () => {
  const { A, B } = pairOf(parseIp("100.64.0.1"), parseIp("100.64.0.2"));
  try {
    const l = B.listen(80);
    const c = await A.dial(parseIp("100.64.0.2"), 80);
    const s = (await l.accept())!;
    const w = c.writable.getWriter();
    await w.write(new Uint8Array(1000));
    await waitUntil(() => s.conn.readableBytes === 1000);
    // As a kernel socket closed with data unread: RST, not FIN.
    s.close();
    const err = await c.readable.getReader().read().then(() => null, (e) => e);
    assert.equal(err?.cause, "reset");
    await assert.rejects(w.write(new Uint8Array(1)), /reset/);
    c.close();
    l.close();
  } finally {
    A.close();
    B.close();
  }
});

Deno.test("with every 40th packet lost both ways, retransmission timers and SACK still deliver 1 MB intact", async () => {
  const { A, B, ra, rb } = pairOf(parseIp("100.64.0.1"), parseIp("100.64.0.2"));
  ra.dropEvery = 40;
  rb.dropEvery = 40;
  try {
    const data = pattern(1 << 20, 3);
    const l = B.listen(80);
    const got = (async () => readAll((await l.accept())!))();
    const c = await A.dial(parseIp("100.64.0.2"), 80);
    await writeAll(c, data);
    assert.equal(await sha256(await got), await sha256(data));
    assert.ok(c.conn.stats.retransmits > 0, "losses were repaired by retransmission");
    c.close();
    l.close();
  } finally {
    A.close();
    B.close();
  }
});

Deno.test("a stray ACK to a listening port draws a RST addressed to its sender, even when the packet buffer is reused", async () => {
  const sent: Uint8Array[] = [];
  const ip = new IpInput({
    clock: systemClock,
    out: (p) => sent.push(p.slice()),
    addresses: [parseIp("100.64.0.2")],
  });
  const B = new TcpStack({ ip, clock: systemClock });
  try {
    B.listen(80);
    const seg = {
      srcPort: 40000,
      dstPort: 80,
      seq: 1,
      ack: 12345,
      flags: TCP_ACK,
      window: 100,
      urgent: 0,
      options: {},
      payload: new Uint8Array(0),
    };
    const buf = packetFor(seg, parseIp("100.64.0.9"), parseIp("100.64.0.2"));
    ip.input(buf);
    buf.fill(0); // the data plane reuses its buffers before the stack's run
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(sent.length, 1);
    const p = parsePacket(sent[0]);
    assert.deepEqual([...p.dstIp()], [100, 64, 0, 9]);
    assert.equal(p.tcpFlags & 0x04, 0x04, "a RST");
  } finally {
    B.close();
  }
});

Deno.test("a connection accepted on a listener keeps working after the listener closes", async () => {
  const { A, B } = pairOf(parseIp("100.64.0.1"), parseIp("100.64.0.2"));
  try {
    const l = B.listen(9);
    const c = await A.dial(parseIp("100.64.0.2"), 9);
    const s = (await l.accept())!;
    l.close(); // as a forward or proxy closing its listener before its relays
    const data = pattern(200_000, 3);
    const [got] = await Promise.all([readAll(s), writeAll(c, data)]);
    assert.equal(await sha256(got), await sha256(data), "data still arrives");
    await writeAll(s, new TextEncoder().encode("bye"));
    assert.equal(new TextDecoder().decode(await readAll(c)), "bye", "and the FIN goes out");
    c.close();
    s.close();
  } finally {
    A.close();
    B.close();
  }
});
