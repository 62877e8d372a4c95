import assert from "node:assert/strict";
import { mulberry32 } from "../testing/prng.ts";
import { TcpConn } from "./tcp_conn.ts";
import type { TcpConfig } from "./tcp_config.ts";
import { TCP_SYN } from "./tcp_segment.ts";
import { Link, type LinkOptions, runPair } from "./tcp_test_link.ts";

/** Deterministic ISS and timestamp offsets per test. */
const cfg = (seed: number, extra: Partial<TcpConfig> = {}): Partial<TcpConfig> => ({
  random: mulberry32(seed),
  ...extra,
});

/** Opens A → B over `link`: A connects, B is made from A's SYN as a listener would. */
function open(link: Link, ca: Partial<TcpConfig> = {}, cb: Partial<TcpConfig> = {}) {
  const a = TcpConn.connect(40000, 80, 0, { ...cfg(1), ...ca });
  let b: TcpConn | null = null;
  let now = 0;
  // Deliver A's SYN (retransmitted if lost) until B exists.
  for (; b === null && now < 60_000; now++) {
    a.tick(now);
    for (const s of a.poll(now)) link.send(s, true, now);
    for (const { toB, seg } of link.due(now)) {
      if (toB && b === null && seg.flags === TCP_SYN) {
        b = TcpConn.accept(seg, now, { ...cfg(2), ...cb });
      } else if (!toB) a.input(seg, now);
    }
  }
  assert.ok(b, "B got a SYN");
  return { a, b, now };
}

function pattern(n: number, seed: number): Uint8Array {
  const r = mulberry32(seed);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i += 4) {
    const v = (r() * 2 ** 32) >>> 0;
    out[i] = v;
    out[i + 1] = v >> 8;
    out[i + 2] = v >> 16;
    out[i + 3] = v >> 24;
  }
  return out;
}

async function sha256(b: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>));
  return Array.from(d, (x) => x.toString(16).padStart(2, "0")).join("");
}

/** A sink that collects what a connection reads. */
class Sink {
  parts: Uint8Array[] = [];
  n = 0;
  drain(c: TcpConn) {
    for (;;) {
      const b = c.read();
      if (b.length === 0) return;
      this.parts.push(b);
      this.n += b.length;
    }
  }
  bytes(): Uint8Array {
    const out = new Uint8Array(this.n);
    let o = 0;
    for (const p of this.parts) out.set(p, o), o += p.length;
    return out;
  }
}

/** A source that writes `data` as fast as `c` takes it, then closes. */
class Source {
  off = 0;
  constructor(readonly data: Uint8Array, readonly closeAfter = true) {}
  pump(c: TcpConn) {
    if (this.off < this.data.length) this.off += c.write(this.data.subarray(this.off));
    if (this.off === this.data.length && this.closeAfter && c.writableBytes > 0) c.close();
  }
}

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

async function transfer(bytes: number, opts: LinkOptions, ca: Partial<TcpConfig> = {}, cb = ca) {
  const link = new Link(opts);
  const { a, b, now } = open(link, ca, cb);
  const upData = pattern(bytes, 11), downData = pattern(bytes, 12);
  const up = new Source(upData), down = new Source(downData);
  const atB = new Sink(), atA = new Sink();
  const end = runPair(
    a,
    b,
    link,
    now,
    3_600_000,
    () =>
      a.state === "CLOSED" || b.state === "CLOSED" || (a.eof && b.eof && a.state === "TIME_WAIT"),
    () => {
      up.pump(a);
      down.pump(b);
      atB.drain(b);
      atA.drain(a);
    },
  );
  assert.equal(atB.n, bytes, `A→B got ${atB.n} of ${bytes} by ${end} ms (${a.state}/${b.state})`);
  assert.equal(atA.n, bytes, `B→A got ${atA.n} of ${bytes}`);
  assert.equal(await sha256(atB.bytes()), await sha256(upData));
  assert.equal(await sha256(atA.bytes()), await sha256(downData));
  return { a, b, link, end };
}

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
