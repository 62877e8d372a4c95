/**
 * Test helper run inside a network namespace: opens a TUN, and answers TCP
 * on 10.77.0.2:8080 and [fd77::2]:8080 with warren's TCP
 * (TcpListener/TcpConn) on the real clock. Between the TUN and the stack
 * runs an impairing link, as netem would (not available here):
 * `WARREN_TCP_DELAY_MS` delays every packet that much each way, and
 * `WARREN_TCP_REORDER` (a probability) holds that share back by a further
 * delay, so later ones overtake it (seeded PRNG; counted as `reordered`).
 * Loss is the test's own, by nftables in the namespace.
 * `WARREN_TCP_BACKLOG` sets the SYN backlog (0: SYN cookies only). Each connection is a tiny HTTP/1.1 exchange: the request body's
 * SHA-256 comes back in an `X-Body-Sha256` header, followed by
 * `X-Reply-Bytes` bytes of a seeded pattern. Prints "ready" when the TUN is
 * up and exits when stdin closes.
 *
 * @module
 */

import { toHex } from "../../bytes/hex.ts";
import { TunDevice } from "../../../ffi/tun.ts";
import { Poller } from "../../../ffi/poll.ts";
import { parsePacket } from "../../net/packet_parse.ts";
import { finishChecksum, sumWords } from "../../net/checksum.ts";
import { decodeTcpSegment, encodeTcpSegment, newRejectCounters } from "../tcp_segment.ts";
import { TcpListener } from "../tcp_listener.ts";
import type { TcpConn } from "../tcp_conn.ts";
import { mulberry32 } from "../../testing/prng.ts";
import { replyPattern } from "./reply_pattern.ts";

const US = Uint8Array.of(10, 77, 0, 2);
const US6 = Uint8Array.of(0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2);
const DELAY_MS = Number(Deno.env.get("WARREN_TCP_DELAY_MS") ?? "0");
const REORDER = Number(Deno.env.get("WARREN_TCP_REORDER") ?? "0");
const linkRand = mulberry32(5);
const totals = { retransmits: 0, timeouts: 0, dropped: 0, connections: 0, reordered: 0 };

/** One direction of the impairing link: packets come out when due, in due order. */
class Impair {
  #q: { due: number; pkt: Uint8Array }[] = [];
  /** Queues `pkt` (copied) at `now`; with no impairment it is due at once. */
  push(pkt: Uint8Array, now: number): void {
    let due = now + DELAY_MS;
    if (REORDER > 0 && linkRand() < REORDER) {
      due += Math.max(2, DELAY_MS); // held back: packets sent after it arrive first
      totals.reordered++;
    }
    this.#q.push({ due, pkt: pkt.slice() });
    if (due < this.#q[this.#q.length - 2]?.due) this.#q.sort((a, b) => a.due - b.due);
  }
  /** Takes every packet due by `now`. */
  take(now: number): Uint8Array[] {
    let n = 0;
    while (n < this.#q.length && this.#q[n].due <= now) n++;
    return this.#q.splice(0, n).map((e) => e.pkt);
  }
  /** When the next packet is due (Infinity: none). */
  get next(): number {
    return this.#q[0]?.due ?? Infinity;
  }
}
const inbound = new Impair(), outbound = new Impair();
const PORT = 8080;
const tun = TunDevice.open("wtcp%d", { offload: false });
tun.setMtu(1500);
tun.addAddress({ ip: Uint8Array.of(10, 77, 0, 1), bits: 24 });
tun.addAddress({
  ip: Uint8Array.of(0xfd, 0x77, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1),
  bits: 64,
});
tun.up();
const poller = new Poller();
// WARREN_TCP_BACKLOG=0 makes every handshake a SYN-cookie one.
const backlog = Number(Deno.env.get("WARREN_TCP_BACKLOG") ?? "128");
const listener = new TcpListener(PORT, { backlog, conn: { congestion: "cubic" } });
const rejects = newRejectCounters();
let ipId = 1;
let stop = false;

/** A prefix of one pattern made once: many connections asking for replies cost no rebuild. */
let patternCache = new Uint8Array(0);
function pattern(n: number): Uint8Array {
  if (n > patternCache.length) patternCache = replyPattern(n);
  return patternCache.subarray(0, n);
}

function ipv6(dst: Uint8Array, l4: Uint8Array): Uint8Array {
  const b = new Uint8Array(40 + l4.length);
  b[0] = 0x60;
  b[4] = l4.length >> 8;
  b[5] = l4.length & 0xff;
  b[6] = 6;
  b[7] = 64;
  b.set(US6, 8);
  b.set(dst, 24);
  b.set(l4, 40);
  return b;
}

function ipv4(dst: Uint8Array, l4: Uint8Array): Uint8Array {
  const b = new Uint8Array(20 + l4.length);
  b[0] = 0x45;
  b[2] = b.length >> 8;
  b[3] = b.length & 0xff;
  b[4] = (ipId >> 8) & 0xff;
  b[5] = ipId++ & 0xff;
  b[6] = 0x40; // DF
  b[8] = 64;
  b[9] = 6;
  b.set(US, 12);
  b.set(dst, 16);
  const c = finishChecksum(sumWords(b, 0, 20));
  b[10] = c >> 8;
  b[11] = c & 0xff;
  b.set(l4, 20);
  return b;
}

interface App {
  conn: TcpConn;
  /** The request so far: `reqBytes` bytes of a buffer that doubles (50 MB stay linear). */
  req: Uint8Array<ArrayBuffer>;
  reqBytes: number;
  headerEnd: number;
  bodyLen: number;
  reply: Uint8Array | null;
  sent: number;
}
const apps: App[] = [];
const dec = new TextDecoder();

async function serve(app: App): Promise<void> {
  for (;;) {
    const b = app.conn.read();
    if (b.length === 0) break;
    if (app.reqBytes + b.length > app.req.length) {
      const grown = new Uint8Array(Math.max(app.req.length * 2, app.reqBytes + b.length, 65536));
      grown.set(app.req.subarray(0, app.reqBytes));
      app.req = grown;
    }
    app.req.set(b, app.reqBytes);
    app.reqBytes += b.length;
  }
  if (app.reply !== null || app.reqBytes === 0) return;
  const all = app.req.subarray(0, app.reqBytes);
  if (app.headerEnd < 0) {
    const text = dec.decode(all.subarray(0, Math.min(all.length, 8192)));
    const i = text.indexOf("\r\n\r\n");
    if (i < 0) return;
    app.headerEnd = i + 4;
    const m = /content-length: *(\d+)/i.exec(text.slice(0, i));
    app.bodyLen = m ? Number(m[1]) : 0;
  }
  if (all.length < app.headerEnd + app.bodyLen) return;
  const head = dec.decode(all.subarray(0, app.headerEnd));
  const want = Number(/x-reply-bytes: *(\d+)/i.exec(head)?.[1] ?? "0");
  const body = all.subarray(app.headerEnd, app.headerEnd + app.bodyLen);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", body));
  const hex = toHex(digest);
  const header = new TextEncoder().encode(
    `HTTP/1.1 200 OK\r\nContent-Length: ${want}\r\nX-Body-Sha256: ${hex}\r\nConnection: close\r\n\r\n`,
  );
  const reply = new Uint8Array(header.length + want);
  reply.set(header);
  reply.set(pattern(want), header.length);
  app.reply = reply;
}

function pump(app: App): void {
  if (app.reply === null) return;
  if (app.sent < app.reply.length) app.sent += app.conn.write(app.reply.subarray(app.sent));
  if (app.sent === app.reply.length && app.conn.state === "ESTABLISHED") app.conn.close();
  if (app.sent === app.reply.length && app.conn.state === "CLOSE_WAIT") app.conn.close();
}

const bufs = Array.from({ length: 64 }, () => new Uint8Array(65536));
const sizes = new Array<number>(64).fill(0);

async function loop(): Promise<void> {
  while (!stop) {
    const now = performance.now();
    const due = Math.min(listener.nextTimerAt(), inbound.next, outbound.next);
    const wait = Math.max(0, Math.min(20, due - now));
    const [ready] = await poller.wait([tun.fd], wait);
    const t = performance.now();
    if (ready) {
      const n = tun.readBatch(bufs, sizes, 0);
      for (let i = 0; i < n; i++) inbound.push(bufs[i].subarray(0, sizes[i]), t);
    }
    {
      for (const pkt of inbound.take(t)) {
        const p = parsePacket(pkt);
        if (p.problem !== null || p.proto !== 6 || p.laterFragment) continue;
        const dst = p.dstIp();
        const ours = (p.version === 4 ? US : US6).join(".");
        if (dst.join(".") !== ours || p.dstPort !== PORT) continue;
        const src = p.srcIp();
        const seg = decodeTcpSegment(p.buf.slice(p.l4Off, p.length), src, dst, rejects);
        if (seg) listener.input({ ip: src, port: seg.srcPort }, seg, t);
      }
    }
    listener.tick(t);
    for (let a = listener.accept(); a; a = listener.accept()) {
      apps.push({
        conn: a.conn,
        req: new Uint8Array(0),
        reqBytes: 0,
        headerEnd: -1,
        bodyLen: 0,
        reply: null,
        sent: 0,
      });
    }
    for (const app of apps) {
      await serve(app);
      pump(app);
    }
    for (const o of listener.poll(t)) {
      const src = o.remote.ip.length === 4 ? US : US6;
      const l4 = encodeTcpSegment(o.seg, src, o.remote.ip);
      outbound.push(src === US ? ipv4(o.remote.ip, l4) : ipv6(o.remote.ip, l4), t);
    }
    const pkts = outbound.take(performance.now());
    for (let i = 0; i < pkts.length;) {
      const w = tun.writeBatch(
        pkts.slice(i),
        pkts.slice(i).map((p) => p.length),
        0,
        pkts.length - i,
      );
      i += w;
      if (w === 0) await new Promise((r) => setTimeout(r, 1));
    }
    for (let i = apps.length - 1; i >= 0; i--) {
      const c = apps[i].conn;
      if (c.state !== "CLOSED" && c.state !== "TIME_WAIT") continue;
      totals.retransmits += c.stats.retransmits;
      totals.timeouts += c.stats.timeouts;
      totals.dropped += c.stats.dropped;
      totals.connections++;
      apps.splice(i, 1);
    }
  }
}

const done = loop();
console.log("ready");
(async () => {
  for await (const _ of Deno.stdin.readable) { /* wait for EOF */ }
  stop = true;
  poller.wake();
})();
await done;
console.error(JSON.stringify({ rejects, listener: listener.stats, totals }));
tun.close();
poller.close();
