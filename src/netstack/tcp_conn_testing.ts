/**
 * Shared set-up for the TcpConn tests: deterministic configurations, a pair
 * opened through the in-memory link, seeded data patterns and the
 * writer/reader that pump a connection.
 *
 * @module
 */
import { toHex } from "../bytes/hex.ts";
import assert from "node:assert/strict";
import { mulberry32 } from "../testing/prng.ts";
import { TcpConn } from "./tcp_conn.ts";
import type { TcpConfig } from "./tcp_config.ts";
import { TCP_SYN } from "./tcp_segment.ts";
import { Link, type LinkOptions, runPair } from "./tcp_test_link.ts";

export type { LinkOptions, TcpConfig };
export { Link, TcpConn };

/** Two connections after their handshake started, and the time. */
export interface Pair {
  /** The active opener. */
  a: TcpConn;
  /** The passive side. */
  b: TcpConn;
  /** The time reached. */
  now: number;
}

/** A pair with its link. */
export interface LinkedPair extends Pair {
  /** The link between them. */
  link: Link;
}

/** Deterministic ISS and timestamp offsets per test. */
export const cfg = (seed: number, extra: Partial<TcpConfig> = {}): Partial<TcpConfig> => ({
  random: mulberry32(seed),
  ...extra,
});

/** Opens A → B over `link`: A connects, B is made from A's SYN as a listener would. */
export function open(link: Link, ca: Partial<TcpConfig> = {}, cb: Partial<TcpConfig> = {}): Pair {
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

/** `n` seeded pseudo-random bytes. */
export function pattern(n: number, seed: number): Uint8Array {
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

/** The SHA-256 of `b` as hex. */
export async function sha256(b: Uint8Array): Promise<string> {
  const d = new Uint8Array(await crypto.subtle.digest("SHA-256", b as Uint8Array<ArrayBuffer>));
  return toHex(d);
}

/** A sink that collects what a connection reads. */
export class Sink {
  /** The chunks read, in order. */
  parts: Uint8Array[] = [];
  /** Bytes read. */
  n = 0;
  /** Reads everything `c` has. */
  drain(c: TcpConn): void {
    for (;;) {
      const b = c.read();
      if (b.length === 0) return;
      this.parts.push(b);
      this.n += b.length;
    }
  }
  /** Everything read, joined. */
  bytes(): Uint8Array {
    const out = new Uint8Array(this.n);
    let o = 0;
    for (const p of this.parts) out.set(p, o), o += p.length;
    return out;
  }
}

/** A source that writes `data` as fast as `c` takes it, then closes. */
export class Source {
  /** Bytes written so far. */
  off = 0;
  /** The data to write. */
  readonly data: Uint8Array;
  /** Whether to close() once all is written. */
  readonly closeAfter: boolean;
  /** A source of `data`. */
  constructor(data: Uint8Array, closeAfter = true) {
    this.data = data;
    this.closeAfter = closeAfter;
  }
  /** Writes what `c` takes now. */
  pump(c: TcpConn): void {
    if (this.off < this.data.length) this.off += c.write(this.data.subarray(this.off));
    if (this.off === this.data.length && this.closeAfter && c.writableBytes > 0) c.close();
  }
}

/** Opens a connection pair over a clean link and runs it to ESTABLISHED. */
export function established(
  opts: LinkOptions = {},
  ca: Partial<TcpConfig> = {},
  cb: Partial<TcpConfig> = ca,
): LinkedPair {
  const link = new Link(opts);
  const o = open(link, ca, cb);
  const now = runPair(
    o.a,
    o.b,
    link,
    o.now,
    60_000,
    () => o.a.state === "ESTABLISHED" && o.b.state === "ESTABLISHED",
  );
  assert.equal(o.b.state, "ESTABLISHED");
  o.a.events();
  o.b.events();
  return { ...o, link, now };
}

/**
 * Moves `bytes` each way over a link with `opts`, both ends closing after
 * writing, and asserts both directions arrived intact (SHA-256).
 */
export async function transfer(
  bytes: number,
  opts: LinkOptions,
  ca: Partial<TcpConfig> = {},
  cb: Partial<TcpConfig> = ca,
): Promise<LinkedPair & { end: number }> {
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
  return { a, b, link, end, now: end };
}
