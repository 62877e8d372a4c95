/**
 * Passive open on one local port (RFC 9293 LISTEN): a SYN makes a
 * connection in SYN-RECEIVED, up to a bounded backlog of half-open ones —
 * past it a SYN is answered with a stateless SYN cookie (or, with cookies
 * off, dropped), counted either way, so a SYN flood costs a fixed amount of
 * memory; handshakes that complete wait in a bounded accept queue. The listener keeps routing segments to its connections until they
 * close, answers segments for unknown connections with RST as LISTEN does,
 * and caps how many connections may sit in TIME-WAIT at once.
 *
 * @module
 */

import { TcpConn } from "./tcp_conn.ts";
import type { TcpConfig } from "./tcp_config.ts";
import { TCP_ACK, TCP_RST, TCP_SYN, type TcpSegment } from "./tcp_segment.ts";
import { seqAdd, seqGt } from "./tcp_seq.ts";
import { SynCookies } from "./tcp_syncookie.ts";

/** The cookie MAC leaves out our address: the secret is per listener already. */
const NO_IP = new Uint8Array(0);

/** A 4- or 16-byte address and a port (the netstack seam's Endpoint). */
export interface Endpoint {
  /** The address bytes. */
  ip: Uint8Array;
  /** The port. */
  port: number;
}

/** Limits of a {@linkcode TcpListener}. */
export interface TcpListenerOptions {
  /** Half-open (SYN-RECEIVED) connections at most (default 128, Linux's somaxconn-era default). */
  backlog?: number;
  /** Established connections waiting for accept() at most (default 128). */
  acceptQueue?: number;
  /** Connections in TIME-WAIT at most; the oldest is dropped past it (default 1024). */
  maxTimeWait?: number;
  /** Answer SYNs beyond the backlog with SYN cookies (default true, as Linux's tcp_syncookies=1). */
  synCookies?: boolean;
  /** The cookie secret (default: random per listener). */
  cookieSecret?: Uint8Array;
  /** Settings for every accepted connection. */
  conn?: Partial<TcpConfig>;
}

/** What a listener did, for status and tests. */
export interface TcpListenerStats {
  /** SYNs that made a half-open connection. */
  synAccepted: number;
  /** SYNs dropped because the backlog was full and cookies are off. */
  synDropped: number;
  /** SYN cookies sent because the backlog was full. */
  cookiesSent: number;
  /** Connections rebuilt from a valid cookie. */
  cookiesAccepted: number;
  /** Completed handshakes reset because the accept queue was full. */
  acceptOverflow: number;
  /** RSTs sent for segments matching no connection. */
  resets: number;
  /** TIME-WAIT connections dropped early by the cap. */
  timeWaitEvicted: number;
}

/** One segment to send, with the peer it goes to. */
export interface Outgoing {
  /** The peer's address and port. */
  remote: Endpoint;
  /** The segment (its source port is the listener's). */
  seg: TcpSegment;
}

interface Entry {
  remote: Endpoint;
  conn: TcpConn;
  accepted: boolean;
}

function keyOf(e: Endpoint): string {
  return `${e.ip.join(".")}|${e.port}`;
}

/**
 * A listening port with its connections.
 *
 * @example
 * ```ts
 * import { TcpListener } from "./tcp_listener.ts";
 * import { TcpConn } from "./tcp_conn.ts";
 * const l = new TcpListener(80);
 * const client = TcpConn.connect(40000, 80, 0);
 * const remote = { ip: new Uint8Array([10, 0, 0, 1]), port: 40000 };
 * for (const s of client.poll(0)) l.input(remote, s, 0);
 * l.poll(0).length; // 1: the SYN-ACK
 * ```
 */
export class TcpListener {
  /** The local port. */
  readonly port: number;
  /** Counters. */
  readonly stats: TcpListenerStats = {
    synAccepted: 0,
    synDropped: 0,
    cookiesSent: 0,
    cookiesAccepted: 0,
    acceptOverflow: 0,
    resets: 0,
    timeWaitEvicted: 0,
  };
  readonly #conns = new Map<string, Entry>();
  readonly #ready: Entry[] = [];
  #out: Outgoing[] = [];
  #halfOpen = 0;
  readonly #backlog: number;
  readonly #acceptMax: number;
  readonly #maxTimeWait: number;
  readonly #connCfg: Partial<TcpConfig>;
  readonly #cookies: SynCookies | null;

  /** Listens on `port` with the given limits. */
  constructor(port: number, opts: TcpListenerOptions = {}) {
    this.port = port;
    this.#backlog = opts.backlog ?? 128;
    this.#acceptMax = opts.acceptQueue ?? 128;
    this.#maxTimeWait = opts.maxTimeWait ?? 1024;
    this.#connCfg = opts.conn ?? {};
    this.#cookies = opts.synCookies === false ? null : new SynCookies(opts.cookieSecret);
  }

  /** Connections the listener routes for, in any state but CLOSED. */
  get connections(): number {
    return this.#conns.size;
  }

  /** Half-open connections: handshakes not yet complete. */
  get halfOpen(): number {
    return this.#halfOpen;
  }

  /** Processes a segment from `remote` to our port. */
  input(remote: Endpoint, seg: TcpSegment, now: number): void {
    const key = keyOf(remote);
    const e = this.#conns.get(key);
    const reuse = e !== undefined && e.conn.state === "TIME_WAIT" &&
      (seg.flags & (TCP_SYN | TCP_ACK | TCP_RST)) === TCP_SYN && seqGt(seg.seq, e.conn.receiveNext);
    if (e && !reuse) {
      e.conn.input(seg, now);
      this.#settle(key, e);
      return;
    }
    if (reuse) {
      // RFC 9293 §3.10.7.4 (as RFC 6191 and Linux): a SYN above the old RCV.NXT may
      // reopen a tuple in TIME-WAIT; the old connection is done.
      this.#conns.delete(key);
    }
    const f = seg.flags;
    if (f & TCP_RST) return;
    if (f & TCP_ACK) {
      if (!(f & TCP_SYN) && this.#fromCookie(key, remote, seg, now)) return;
      // RFC 9293 §3.10.7.2: an ACK to LISTEN gets <SEQ=SEG.ACK><CTL=RST>.
      this.#reset(remote, seg.ack, 0, false);
      return;
    }
    if (!(f & TCP_SYN)) return;
    if (this.halfOpen >= this.#backlog) {
      if (this.#cookies) this.#sendCookie(remote, seg, now);
      else this.stats.synDropped++;
      return;
    }
    const conn = TcpConn.accept(seg, now, this.#connCfg);
    this.stats.synAccepted++;
    this.#halfOpen++;
    this.#conns.set(key, {
      remote: { ip: remote.ip.slice(), port: remote.port },
      conn,
      accepted: false,
    });
  }

  /** A stateless SYN-ACK whose ISS is the cookie (RFC 4987 §3.6). */
  #sendCookie(remote: Endpoint, syn: TcpSegment, now: number): void {
    const mss = syn.options.mss ?? 536;
    const iss = this.#cookies!.make(remote.ip, remote.port, NO_IP, this.port, syn.seq, mss, now);
    this.stats.cookiesSent++;
    this.#out.push({
      remote: { ip: remote.ip.slice(), port: remote.port },
      seg: {
        srcPort: this.port,
        dstPort: remote.port,
        seq: iss,
        ack: seqAdd(syn.seq, 1),
        flags: TCP_SYN | TCP_ACK,
        window: 0xffff,
        urgent: 0,
        options: { mss: Math.min(mss, this.#connCfg.mss ?? 1460) },
        payload: new Uint8Array(0),
      },
    });
  }

  /** Rebuilds the connection an ACK's cookie names; false if there is none. */
  #fromCookie(key: string, remote: Endpoint, seg: TcpSegment, now: number): boolean {
    const ok = this.#cookies?.check(
      remote.ip,
      remote.port,
      NO_IP,
      this.port,
      seg.seq,
      seg.ack,
      now,
    );
    if (!ok) return false;
    const conn = TcpConn.fromCookie(seg, ok, now, this.#connCfg);
    this.stats.cookiesAccepted++;
    const e: Entry = { remote: { ip: remote.ip.slice(), port: remote.port }, conn, accepted: true };
    this.#conns.set(key, e);
    conn.input(seg, now);
    if (this.#ready.length >= this.#acceptMax) {
      this.stats.acceptOverflow++;
      conn.abort();
      this.#settle(key, e);
    } else this.#ready.push(e);
    return true;
  }

  #reset(remote: Endpoint, seq: number, ack: number, withAck: boolean): void {
    this.stats.resets++;
    this.#out.push({
      remote,
      seg: {
        srcPort: this.port,
        dstPort: remote.port,
        seq,
        ack,
        flags: TCP_RST | (withAck ? TCP_ACK : 0),
        window: 0,
        urgent: 0,
        options: {},
        payload: new Uint8Array(0),
      },
    });
  }

  /** Moves a connection between half-open, ready and gone after it ran. */
  #settle(key: string, e: Entry): void {
    const s = e.conn.state;
    if (s === "CLOSED") {
      // Collect its last output (a RST from abort) before forgetting it.
      for (const seg of e.conn.poll(0)) this.#out.push({ remote: e.remote, seg });
      this.#conns.delete(key);
      if (!e.accepted) this.#halfOpen--;
      return;
    }
    if (!e.accepted && s !== "SYN_RECEIVED") {
      e.accepted = true;
      this.#halfOpen--;
      if (this.#ready.length >= this.#acceptMax) {
        this.stats.acceptOverflow++;
        e.conn.abort();
        this.#settle(key, e);
        return;
      }
      this.#ready.push(e);
    }
  }

  /** The next established connection not yet taken, with its peer, or null. */
  accept(): { conn: TcpConn; remote: Endpoint } | null {
    const e = this.#ready.shift();
    return e ? { conn: e.conn, remote: e.remote } : null;
  }

  /** Runs every connection's timers. */
  tick(now: number): void {
    for (const [key, e] of this.#conns) {
      e.conn.tick(now);
      this.#settle(key, e);
    }
    this.#capTimeWait();
  }

  #capTimeWait(): void {
    let n = 0;
    for (const e of this.#conns.values()) if (e.conn.state === "TIME_WAIT") n++;
    // Map order is insertion order: the first ones found are the oldest connections.
    for (const [key, e] of this.#conns) {
      if (n <= this.#maxTimeWait) break;
      if (e.conn.state !== "TIME_WAIT") continue;
      this.#conns.delete(key);
      if (!e.accepted) this.#halfOpen--;
      this.stats.timeWaitEvicted++;
      n--;
    }
  }

  /** Everything to send now: the listener's RSTs and each connection's segments. */
  poll(now: number): Outgoing[] {
    const out = this.#out;
    this.#out = [];
    for (const [key, e] of this.#conns) {
      for (const seg of e.conn.poll(now)) out.push({ remote: e.remote, seg });
      this.#settle(key, e);
    }
    return out;
  }

  /**
   * The earliest deadline among the connections (Infinity: none); -Infinity
   * when the listener's own segments (RSTs, cookie SYN-ACKs) wait for poll().
   */
  nextTimerAt(): number {
    let t = this.#out.length > 0 ? -Infinity : Infinity;
    for (const e of this.#conns.values()) t = Math.min(t, e.conn.nextTimerAt());
    return t;
  }
}
