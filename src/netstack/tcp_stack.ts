/**
 * The TCP layer of the userspace stack: owns every connection, demultiplexes
 * the segments the IP layer hands it by 4-tuple (an unknown tuple goes to a
 * listener on its port, else draws a RST), runs one timer for all of them,
 * and turns what they emit into IPv4/IPv6 packets for the IP layer — never
 * more than the device ring has room for: when it is full the stack stops
 * polling connections and resumes on the ring's drain signal, so a fast
 * sender waits instead of losing packets it just made.
 *
 * Connections reach applications as {@linkcode TcpStream}s (ProxyConn-shaped
 * Web Streams). The table is bounded: past `maxConnections` a dial fails and
 * an accepted connection is reset. Segments to routed addresses (see
 * `inputRouted`) skip the listeners: a new SYN waits for the routed
 * handler's verdict (./tcp_routed.ts).
 *
 * @module
 */

import { formatIp } from "../net/ip.ts";
import type { ParsedPacket } from "../net/packet.ts";
import { type TcpConfig, TcpConn } from "./tcp_conn.ts";
import { TcpListener, type TcpListenerOptions } from "./tcp_listener.ts";
import {
  decodeTcpSegmentAt,
  newRejectCounters,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
  type TcpRejectCounters,
  type TcpSegment,
  TcpSegmentReader,
} from "./tcp_segment.ts";
import { TcpStream } from "./tcp_stream.ts";
import { packetFor } from "./tcp_packet.ts";
import { TcpStackListener } from "./tcp_stack_listener.ts";
import { RoutedSyn, RoutedSyns } from "./tcp_routed.ts";
import type { Clock } from "./types.ts";
import {
  dialError,
  equalAt,
  type TcpStackCounters,
  type TcpStackDevice,
  type TcpStackIp,
  type TcpStackOptions,
  tupleKey,
} from "./tcp_stack_types.ts";

export { packetFor, RoutedSyn, TcpStackListener };
export type {
  TcpDialFailure,
  TcpStackCounters,
  TcpStackDevice,
  TcpStackIp,
  TcpStackOptions,
} from "./tcp_stack_types.ts";

interface Entry {
  readonly key: string;
  readonly conn: TcpConn;
  readonly local: Uint8Array;
  readonly remote: Uint8Array;
  /** The listener that accepted it, which routes its segments; null once dialled or orphaned. */
  owner: TcpListener | null;
  readonly stream: TcpStream;
}

/** Packets held while the ring is full at most; past it they are dropped (TCP resends them). */
const MAX_HELD = 8192;
/** Segments in a row that take one reading of the clock (a few µs apart in a batch). */
const CLOCK_REUSE = 32;
const EPHEMERAL_LOW = 49152;
const EPHEMERAL_SPAN = 65536 - EPHEMERAL_LOW;

/**
 * The stack's TCP: `dial()` and `listen()`; wire it to the IP layer by
 * constructing it (it sets the IP layer's TCP handler).
 *
 * @example
 * ```ts ignore
 * const tcp = new TcpStack({ ip: netstack.ip, device: netstack.device, clock: systemClock });
 * const conn = await tcp.dial(parseIp("100.64.0.2"), 80);
 * ```
 */
export class TcpStack {
  /** Counters by outcome. */
  readonly counters: TcpStackCounters = {
    segmentsIn: 0,
    malformed: 0,
    resets: 0,
    packetsOut: 0,
    stalls: 0,
    tableFull: 0,
    timeWaitEvicted: 0,
    heldDropped: 0,
  };
  /** Why segments did not decode. */
  readonly rejects: TcpRejectCounters = newRejectCounters();
  readonly #ip: TcpStackIp;
  readonly #device: TcpStackDevice | undefined;
  readonly #clock: Clock;
  readonly #max: number;
  readonly #mtu: number;
  readonly #connCfg: Partial<TcpConfig>;
  readonly #listenerOpts: Omit<TcpListenerOptions, "conn">;
  readonly #table = new Map<string, Entry>();
  /** The entry the last segment went to (cleared when an entry leaves the table). */
  #lastHit: Entry | null = null;
  readonly #reader = new TcpSegmentReader();
  readonly #listeners = new Map<number, { tcp: TcpListener; handle: TcpStackListener }>();
  /** Packets made while the ring was full, oldest first. */
  #held: Uint8Array[] = [];
  #stalled = false;
  /** A refused send armed the ring's drain signal. */
  #drainArmed = false;
  #scheduled = false;
  #timer: ReturnType<typeof setTimeout> | null = null;
  #timerAt = Infinity;
  #closed = false;
  #routedHandler: ((req: RoutedSyn) => void) | null = null;
  readonly #syns = new RoutedSyns(this);
  /** Connections touched (input, a read, write or close) since the last run. */
  readonly #dirty = new Set<Entry>();
  /** The next run looks at every connection (a timer fired, the ring drained). */
  #full = true;
  /** The time segments are taken at, until the next run or CLOCK_REUSE of them (-1: read). */
  #inputNow = -1;
  #inputNowUses = 0;
  readonly #flush = () => {
    this.#scheduled = false;
    this.#run();
  };

  /** Builds the TCP layer and plugs it into `opts.ip`. */
  constructor(opts: TcpStackOptions) {
    this.#ip = opts.ip;
    this.#device = opts.device;
    this.#clock = opts.clock;
    this.#max = opts.maxConnections ?? 4096;
    this.#mtu = opts.mtu ?? 1280;
    this.#connCfg = opts.conn ?? {};
    this.#listenerOpts = opts.listener ?? {};
    opts.ip.setTcpHandler((p) => this.#input(p));
    opts.device?.setDrainHandler(() => this.#drained());
  }

  /** Open connections (dialled, and accepted by a caller of accept()). */
  get connections(): number {
    return this.#table.size;
  }

  /** The MSS for a family: the MTU less the IP and TCP headers. */
  mssFor(family: 4 | 6): number {
    return this.#connCfg.mss ?? this.#mtu - (family === 4 ? 20 : 40) - 20;
  }

  /**
   * Opens a connection to `remote:port` from an ephemeral port on our
   * address of the same family. Resolves once established.
   *
   * @throws {Error} with `cause` "refused" | "timeout" | "unreachable" | "aborted" when it fails
   */
  dial(remote: Uint8Array, port: number, signal?: AbortSignal): Promise<TcpStream> {
    if (this.#closed) return Promise.reject(dialError("aborted", "the TCP stack is closed"));
    const local = this.#ip.addresses.find((a) => a.length === remote.length);
    if (!local) {
      const fam = remote.length === 4 ? "IPv4" : "IPv6";
      return Promise.reject(dialError("unreachable", `the node has no ${fam} address`));
    }
    if (this.#table.size >= this.#max && !this.#evictTimeWait()) {
      this.counters.tableFull++;
      return Promise.reject(dialError("failed", `too many TCP connections (${this.#max})`));
    }
    const lport = this.#ephemeralPort(local, remote, port);
    if (lport === 0) return Promise.reject(dialError("failed", "no free local port"));
    const conn = TcpConn.connect(lport, port, this.#clock.now(), {
      ...this.#connCfg,
      mss: this.mssFor(remote.length === 4 ? 4 : 6),
    });
    const e = this.#add(conn, local.slice(), remote.slice(), null);
    this.#touch(e);
    return e.stream.connected(signal);
  }

  /**
   * Listens on `port` (all our addresses).
   *
   * @throws {Error} if something already listens there
   */
  listen(port: number): TcpStackListener {
    if (this.#listeners.has(port)) throw new Error(`Port ${port} is already listening`);
    const tcp = new TcpListener(port, {
      ...this.#listenerOpts,
      // One setting for both families: the IPv6 MSS fits IPv4 too.
      conn: { ...this.#connCfg, mss: this.mssFor(6) },
    });
    const handle = new TcpStackListener(this, port);
    this.#listeners.set(port, { tcp, handle });
    return handle;
  }

  /**
   * Takes a TCP segment to a routed address (not ours: a subnet router's or
   * exit node's destination). An unknown 4-tuple's SYN goes to the routed
   * handler as a {@linkcode RoutedSyn}, counted against `maxConnections`
   * while it waits; anything else for no connection draws a RST.
   */
  inputRouted(p: ParsedPacket): void {
    this.#input(p, true);
  }

  /** Sets (or clears) who decides on SYNs to routed addresses; without one they are reset. */
  setRoutedHandler(h: ((req: RoutedSyn) => void) | null): void {
    this.#routedHandler = h;
  }

  /** Routed SYNs waiting for a verdict. */
  get pendingRouted(): number {
    return this.#syns.size;
  }

  /** Internal: a routed SYN accepted; its connection joins the table. */
  _adopt(local: Uint8Array, remote: Uint8Array, syn: TcpSegment): TcpStream | null {
    if (this.#closed) return null;
    if (this.#table.size >= this.#max && !this.#evictTimeWait()) {
      this.counters.tableFull++;
      this._refuse(local, remote, syn);
      return null;
    }
    const conn = TcpConn.accept(syn, this.#clock.now(), {
      ...this.#connCfg,
      mss: this.mssFor(remote.length === 4 ? 4 : 6),
    });
    const e = this.#add(conn, local, remote, null);
    this.#touch(e);
    return e.stream;
  }

  /** Internal: a routed SYN refused. */
  _refuse(local: Uint8Array, remote: Uint8Array, syn: TcpSegment): void {
    this.#reset(local, remote, syn);
  }

  /** Stops the timer and resets every connection. */
  close(): void {
    if (this.#closed) return;
    this.#syns.refuseAll();
    this.#closed = true;
    for (const l of [...this.#listeners.values()]) l.handle.close();
    for (const e of this.#table.values()) e.conn.abort();
    this.#full = true;
    this.#run();
    this.#ip.setTcpHandler(undefined);
    this.#device?.setDrainHandler(null);
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
  }

  /** A connection asks for a run soon (after input, or a read, write or close). */
  #touch(e: Entry): void {
    this.#dirty.add(e);
    this.#schedule();
  }

  /** Internal: the next connection a listener completed, taken into the table. */
  _takeAccepted(port: number): TcpStream | null {
    const l = this.#listeners.get(port);
    if (!l) return null;
    for (let a = l.tcp.accept(); a; a = l.tcp.accept()) {
      if (this.#table.size >= this.#max) {
        this.counters.tableFull++;
        a.conn.abort();
        this.#schedule();
        continue;
      }
      const local = this.#ip.addresses.find((x) => x.length === a.remote.ip.length);
      if (!local) {
        a.conn.abort();
        continue;
      }
      const e = this.#add(a.conn, local.slice(), a.remote.ip, l.tcp);
      this.#dirty.add(e);
      return e.stream;
    }
    return null;
  }

  /** Internal: a listener closed. Its connections not yet accepted are reset. */
  _unlisten(port: number): void {
    const l = this.#listeners.get(port);
    if (!l) return;
    this.#listeners.delete(port);
    for (let a = l.tcp.accept(); a; a = l.tcp.accept()) a.conn.abort();
    this.#sendAll(l.tcp.poll(this.#clock.now()).map((o) => [o.seg, o.remote.ip] as const));
    // Connections it accepted live on: the stack polls them itself from now on, as dialled ones.
    for (const e of this.#table.values()) {
      if (e.owner !== l.tcp) continue;
      e.owner = null;
      this.#dirty.add(e);
    }
    this.#schedule();
  }

  #add(conn: TcpConn, local: Uint8Array, remote: Uint8Array, owner: TcpListener | null): Entry {
    const key = tupleKey(local, conn.localPort, remote, conn.remotePort);
    // The stream's kick marks this entry: a run then looks at it without scanning the table.
    let e: Entry | null = null;
    const stream = new TcpStream(conn, () => e && this.#touch(e), {
      hostname: formatIp(local),
      port: conn.localPort,
    }, { hostname: formatIp(remote), port: conn.remotePort });
    const entry: Entry = e = { key, conn, local, remote, owner, stream };
    this.#table.set(key, entry);
    return entry;
  }

  /** Drops the oldest connection in TIME-WAIT to make room (Map order is age); false if none. */
  #evictTimeWait(): boolean {
    for (const e of this.#table.values()) {
      if (e.owner === null && e.conn.state === "TIME_WAIT") {
        this.#table.delete(e.key);
        if (this.#lastHit === e) this.#lastHit = null;
        this.counters.timeWaitEvicted++;
        return true;
      }
    }
    return false;
  }

  #ephemeralPort(local: Uint8Array, remote: Uint8Array, port: number): number {
    const start = Math.floor(Math.random() * EPHEMERAL_SPAN);
    for (let i = 0; i < EPHEMERAL_SPAN; i++) {
      const p = EPHEMERAL_LOW + (start + i) % EPHEMERAL_SPAN;
      if (this.#listeners.has(p)) continue;
      if (!this.#table.has(tupleKey(local, p, remote, port))) return p;
    }
    return 0;
  }

  #input(p: ParsedPacket, routed = false): void {
    this.counters.segmentsIn++;
    const b = p.buf;
    // The IP layer verified the checksum already (or had no need to): decoded in place, into
    // the one reused segment — only a connection's own input takes it, and is done with it
    // on return; every path that may keep a segment decodes its own below.
    const seg = this.#reader.read(b, p.l4Off, p.length, this.rejects);
    if (seg === null) {
      this.counters.malformed++;
      return;
    }
    // One reading of the clock per few segments of a batch: performance.now() costs about as
    // much as the rest of a segment's demultiplexing. The count bounds how stale it gets (the
    // data plane hands over up to thousands of packets before the scheduled run).
    const now = this.#inputNow >= 0 && ++this.#inputNowUses < CLOCK_REUSE
      ? this.#inputNow
      : this.#readInputClock();
    // A bulk flow's segments come in runs: the last hit spares the key and two views per segment.
    const last = this.#lastHit;
    let e: Entry | undefined;
    if (
      last !== null && last.conn.localPort === seg.dstPort &&
      last.conn.remotePort === seg.srcPort && last.remote.length === p.addrLen &&
      equalAt(last.remote, b, p.srcOff) && equalAt(last.local, b, p.dstOff)
    ) e = last;
    if (e === undefined) {
      const remote = b.subarray(p.srcOff, p.srcOff + p.addrLen);
      const local = b.subarray(p.dstOff, p.dstOff + p.addrLen);
      e = this.#table.get(tupleKey(local, seg.dstPort, remote, seg.srcPort));
      if (e === undefined) {
        this.#lastHit = null;
        const own = decodeTcpSegmentAt(b, p.l4Off, p.length)!;
        if (routed) {
          this.#routedSegment(local, remote, own);
          this.#schedule();
          return;
        }
        const l = this.#listeners.get(seg.dstPort);
        // A copy: the listener may queue a RST to it, and `remote` views a reused buffer.
        if (l) l.tcp.input({ ip: remote.slice(), port: own.srcPort }, own, now);
        else this.#reset(local, remote, own);
        this.#schedule();
        return;
      }
    }
    this.#lastHit = e;
    if (e.owner !== null) {
      const own = decodeTcpSegmentAt(b, p.l4Off, p.length)!;
      e.owner.input({ ip: e.remote, port: own.srcPort }, own, now);
    } else e.conn.input(seg, now);
    this.#dirty.add(e);
    this.#schedule();
  }

  #readInputClock(): number {
    this.#inputNowUses = 0;
    return this.#inputNow = this.#clock.now();
  }

  /** A segment to a routed address with no connection: a new SYN asks the handler. */
  #routedSegment(local: Uint8Array, remote: Uint8Array, seg: TcpSegment): void {
    const h = this.#routedHandler;
    if (h === null || (seg.flags & (TCP_SYN | TCP_ACK | TCP_RST)) !== TCP_SYN) {
      this.#reset(local, remote, seg);
      return;
    }
    const key = tupleKey(local, seg.dstPort, remote, seg.srcPort);
    if (this.#syns.has(key)) return; // retransmitted while the host dials
    if (this.#table.size + this.#syns.size >= this.#max) {
      this.counters.tableFull++;
      this.#reset(local, remote, seg);
      return;
    }
    h(this.#syns.offer(key, local, remote, seg));
  }

  /** RFC 9293 §3.10.7.1: a segment to a closed port draws a RST (unless it is one). */
  #reset(local: Uint8Array, remote: Uint8Array, seg: TcpSegment): void {
    if (seg.flags & TCP_RST) return;
    this.counters.resets++;
    const withAck = (seg.flags & TCP_ACK) === 0;
    const len = seg.payload.length + (seg.flags & TCP_SYN ? 1 : 0) + (seg.flags & TCP_FIN ? 1 : 0);
    const rst: TcpSegment = {
      srcPort: seg.dstPort,
      dstPort: seg.srcPort,
      seq: withAck ? 0 : seg.ack,
      ack: withAck ? (seg.seq + len) | 0 : 0,
      flags: TCP_RST | (withAck ? TCP_ACK : 0),
      window: 0,
      urgent: 0,
      options: {},
      payload: new Uint8Array(0),
    };
    this.#emit(packetFor(rst, local, remote));
  }

  #schedule(): void {
    if (this.#scheduled) return;
    this.#scheduled = true;
    queueMicrotask(this.#flush);
  }

  #drained(): void {
    this.#drainArmed = false;
    this.#stalled = false;
    // Timers were not armed while stalled: look at everyone.
    this.#full = true;
    this.#schedule();
  }

  /**
   * Runs due timers, polls the connections with output, reports events, and
   * re-arms the timer. Only touched connections are looked at unless a timer
   * fired or the ring drained: then all are, and the timer is set exactly.
   */
  #run(): void {
    this.#inputNow = -1; // every input path schedules a run: the batch's time ends here
    const now = this.#clock.now();
    const full = this.#full;
    this.#full = false;
    this.#sendHeld();
    let next = Infinity;
    for (const [port, l] of this.#listeners) {
      if (l.tcp.nextTimerAt() <= now) l.tcp.tick(now);
      if (!this.#stalled) {
        this.#sendAll(l.tcp.poll(now).map((o) => [o.seg, o.remote.ip] as const));
      }
      while (l.handle._waiting) {
        const s = this._takeAccepted(port);
        if (!s) break;
        l.handle._deliver(s);
      }
      next = Math.min(next, l.tcp.nextTimerAt());
    }
    const list = full ? [...this.#table.values()] : [...this.#dirty];
    this.#dirty.clear();
    for (const e of list) {
      if (e.owner === null) {
        if (e.conn.nextTimerAt() <= now) e.conn.tick(now);
        // Held back by a full ring: looked at again once it drains.
        if (this.#stalled) this.#dirty.add(e);
        else this.#sendConn(e.conn.poll(now, true), e); // encoded at once: views will do
        next = Math.min(next, e.conn.nextTimerAt());
      }
      const events = e.conn.events();
      if (events.length > 0) e.stream.onEvents(events);
      if (e.conn.state === "CLOSED") {
        this.#table.delete(e.key);
        if (this.#lastHit === e) this.#lastHit = null;
        this.#dirty.delete(e);
      }
    }
    // After a partial run the armed time may be early (a deadline moved out): it fires,
    // finds little due, and the full run then sets it exactly.
    this.#arm(now, full ? next : Math.min(next, this.#timerAt));
  }

  #arm(now: number, next: number): void {
    if (this.#closed) next = Infinity;
    else if (this.#stalled && this.#drainArmed) next = Infinity; // the drain signal resumes
    // Due already (output held back by a full ring): the drain handler or a short timer resumes.
    if (next <= now) next = now + 1;
    if (next === this.#timerAt) return;
    if (this.#timer !== null) clearTimeout(this.#timer);
    this.#timer = null;
    this.#timerAt = next;
    if (next === Infinity) return;
    this.#timer = setTimeout(() => {
      this.#timer = null;
      this.#timerAt = Infinity;
      this.#full = true;
      this.#run();
    }, Math.max(0, Math.ceil(next - now)));
  }

  /** Sends a connection's segments from its own address. */
  #sendConn(segs: TcpSegment[], e: Entry): void {
    for (const seg of segs) this.#emit(packetFor(seg, e.local, e.remote));
  }

  /** Sends a listener's segments, each from our address of its peer's family. */
  #sendAll(out: readonly (readonly [TcpSegment, Uint8Array])[]): void {
    if (out.length === 0) return;
    const addrs = this.#ip.addresses;
    for (const [seg, remote] of out) {
      const local = addrs.find((a) => a.length === remote.length);
      if (local) this.#emit(packetFor(seg, local, remote));
    }
  }

  #emit(packet: Uint8Array): void {
    if (this.#held.length > 0 || (this.#device !== undefined && this.#device.room === 0)) {
      if (this.#held.length >= MAX_HELD) {
        this.counters.heldDropped++;
        return;
      }
      this.#held.push(packet);
      this.#stall();
      return;
    }
    this.counters.packetsOut++;
    this.#ip.send(packet);
  }

  #sendHeld(): void {
    const dev = this.#device;
    let i = 0;
    while (i < this.#held.length && (dev === undefined || dev.room > 0)) {
      this.counters.packetsOut++;
      this.#ip.send(this.#held[i++]);
    }
    this.#held = this.#held.slice(i);
    if (this.#held.length > 0) this.#stall();
    else this.#stalled = false;
  }

  #stall(): void {
    if (!this.#stalled) this.counters.stalls++;
    this.#stalled = true;
    if (this.#drainArmed) return;
    // The ring only signals a drain after it refused a send, so offer it the
    // oldest held packet: refused (the ring is full), it stays held and arms the signal.
    const dev = this.#device;
    if (dev !== undefined && dev.room === 0) {
      this.#drainArmed = true;
      this.#ip.send(this.#held[0]);
    }
  }
}
