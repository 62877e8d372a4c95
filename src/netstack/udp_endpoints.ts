/**
 * The stack's UDP sockets: a bind table (a port on one address or on any
 * address of a family or both), demultiplexing of incoming datagrams by
 * destination address and port (an exact address before a wildcard), a
 * bounded receive queue per endpoint, and outgoing datagrams built with
 * their checksums. A datagram nobody is bound for is reported to the caller,
 * which answers it with an ICMP port unreachable (see ./icmp_echo.ts).
 *
 * @module
 */

import { buildUdpPacket, type ParsedPacket } from "../net/packet.ts";
import type { Endpoint, PacketOut } from "./types.ts";

/** One received datagram. */
export interface UdpDatagram {
  /** Who sent it. */
  src: Endpoint;
  /** The address and port it was sent to (one of ours). */
  dst: Endpoint;
  /** The payload (a copy, owned by the receiver). */
  payload: Uint8Array;
}

/** Where and how to bind. */
export interface UdpBindOptions {
  /** The port; 0 picks a free ephemeral one (49152-65535). */
  port: number;
  /** A local address (4 or 16 bytes), or none for any address of `family`. */
  ip?: Uint8Array;
  /** With no `ip`: IPv4 only, IPv6 only, or both (the default). */
  family?: 4 | 6 | "any";
  /** Most datagrams queued before new ones are dropped; default 256. */
  queueDatagrams?: number;
  /** Most payload bytes queued before new datagrams are dropped; default 256 KiB. */
  queueBytes?: number;
}

/** What a {@linkcode UdpTable} did with incoming datagrams. */
export interface UdpCounters {
  /** Datagrams queued to an endpoint. */
  delivered: number;
  /** Datagrams for a port nobody is bound to. */
  noPort: number;
  /** Datagrams dropped because their endpoint's queue was full. */
  queueFull: number;
  /** Datagrams sent. */
  sent: number;
}

const EPHEMERAL_LOW = 49152;
const EPHEMERAL_COUNT = 65536 - EPHEMERAL_LOW;

/**
 * A bound UDP endpoint: receive from its queue (polling or awaiting), send
 * from its address.
 */
export class UdpEndpoint {
  /** The port bound. */
  readonly port: number;
  /** The address bound, or null for a wildcard. */
  readonly ip: Uint8Array | null;
  /** The families a wildcard takes (for a specific address, that address's). */
  readonly family: 4 | 6 | "any";
  /** Datagrams dropped because the queue was full. */
  dropped = 0;
  readonly #table: UdpTable;
  readonly #maxDatagrams: number;
  readonly #maxBytes: number;
  #queue: UdpDatagram[] = [];
  #head = 0;
  #bytes = 0;
  #waiters: { resolve: (d: UdpDatagram) => void; reject: (e: Error) => void }[] = [];
  #closed = false;

  /** Made by {@linkcode UdpTable.bind}. */
  constructor(table: UdpTable, port: number, ip: Uint8Array | null, family: 4 | 6 | "any", opts: {
    queueDatagrams?: number;
    queueBytes?: number;
  }) {
    this.#table = table;
    this.port = port;
    this.ip = ip;
    this.family = family;
    this.#maxDatagrams = opts.queueDatagrams ?? 256;
    this.#maxBytes = opts.queueBytes ?? 256 * 1024;
  }

  /** Datagrams waiting in the queue. */
  get queued(): number {
    return this.#queue.length - this.#head;
  }

  /** Payload bytes waiting in the queue. */
  get queuedBytes(): number {
    return this.#bytes;
  }

  /** Whether {@linkcode close} was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** The next queued datagram, or undefined if none is waiting. */
  tryReceive(): UdpDatagram | undefined {
    if (this.#head >= this.#queue.length) return undefined;
    const d = this.#queue[this.#head++];
    this.#bytes -= d.payload.length;
    if (this.#head > 64 && this.#head * 2 > this.#queue.length) {
      this.#queue = this.#queue.slice(this.#head);
      this.#head = 0;
    }
    return d;
  }

  /**
   * The next datagram, waiting for one if none is queued.
   *
   * @throws {Deno.errors.BadResource} (rejects) once the endpoint is closed
   */
  receive(): Promise<UdpDatagram> {
    const d = this.tryReceive();
    if (d !== undefined) return Promise.resolve(d);
    if (this.#closed) return Promise.reject(closedError());
    return new Promise((resolve, reject) => this.#waiters.push({ resolve, reject }));
  }

  /**
   * Sends `payload` to `to`, from `from` if given (it must be one of the
   * stack's addresses; a reply passes the `dst` of what it answers), else
   * from the bound address, else from the table's default for the family.
   *
   * @throws {Deno.errors.BadResource} once the endpoint is closed
   * @throws {TypeError} if no source address of the destination's family is known
   * @throws {RangeError} if the datagram would exceed 65535 bytes or a port is out of range
   */
  send(payload: Uint8Array, to: Endpoint, from?: Uint8Array): void {
    if (this.#closed) throw closedError();
    const src = from ?? this.ip ?? this.#table.sourceFor(to.ip.length === 4 ? 4 : 6);
    if (src === null) {
      throw new TypeError(`No IPv${to.ip.length === 4 ? 4 : 6} source address to send from`);
    }
    this.#table.emit(
      buildUdpPacket({ src, dst: to.ip, srcPort: this.port, dstPort: to.port, payload }),
    );
  }

  /** Unbinds; queued datagrams are discarded and pending receives rejected. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#table.unbind(this);
    this.#queue = [];
    this.#head = 0;
    this.#bytes = 0;
    for (const w of this.#waiters.splice(0)) w.reject(closedError());
  }

  /** Takes a datagram from the table; false if the queue is full (the datagram is dropped). */
  offer(d: UdpDatagram): boolean {
    const w = this.#waiters.shift();
    if (w !== undefined) {
      w.resolve(d);
      return true;
    }
    if (this.queued >= this.#maxDatagrams || this.#bytes + d.payload.length > this.#maxBytes) {
      this.dropped++;
      return false;
    }
    this.#queue.push(d);
    this.#bytes += d.payload.length;
    return true;
  }

  /** Whether a datagram to `ip` (4 or 16 bytes) is for this endpoint, and how well it matches. */
  matches(ip: Uint8Array): 0 | 1 | 2 {
    if (this.ip !== null) return sameIp(this.ip, ip) ? 2 : 0;
    const fam = ip.length === 4 ? 4 : 6;
    return this.family === "any" || this.family === fam ? 1 : 0;
  }
}

/**
 * The UDP bind table of one stack.
 *
 * @example
 * ```ts
 * import { UdpTable } from "./udp_endpoints.ts";
 * import { buildUdpPacket, parsePacket } from "../net/packet.ts";
 * const sent: Uint8Array[] = [];
 * const table = new UdpTable((p) => sent.push(p), [new Uint8Array([10, 0, 0, 2])]);
 * const ep = table.bind({ port: 53 });
 * const q = buildUdpPacket({
 *   src: new Uint8Array([10, 0, 0, 1]), dst: new Uint8Array([10, 0, 0, 2]),
 *   srcPort: 40000, dstPort: 53, payload: new Uint8Array([1, 2]),
 * });
 * table.deliver(parsePacket(q)); // true
 * const d = ep.tryReceive()!;
 * ep.send(d.payload, d.src, d.dst.ip);
 * sent.length; // 1
 * ```
 */
export class UdpTable {
  /** What happened to datagrams so far. */
  readonly counters: UdpCounters = { delivered: 0, noPort: 0, queueFull: 0, sent: 0 };
  readonly #out: PacketOut;
  readonly #byPort = new Map<number, UdpEndpoint[]>();
  #sources: Uint8Array[];
  #nextEphemeral: number;

  /**
   * Creates an empty table whose datagrams go to `out`; `sources` are the
   * stack's addresses, the first of each family being the source of
   * datagrams from wildcard endpoints.
   */
  constructor(out: PacketOut, sources: Uint8Array[] = []) {
    this.#out = out;
    this.#sources = sources.map((s) => s.slice());
    this.#nextEphemeral = Math.floor(Math.random() * EPHEMERAL_COUNT);
  }

  /** Replaces the stack's addresses (the node was renumbered). */
  setSources(sources: Uint8Array[]): void {
    this.#sources = sources.map((s) => s.slice());
  }

  /** The default source address of a family, or null. */
  sourceFor(family: 4 | 6): Uint8Array | null {
    return this.#sources.find((s) => s.length === (family === 4 ? 4 : 16)) ?? null;
  }

  /** Endpoints bound now. */
  get size(): number {
    let n = 0;
    for (const l of this.#byPort.values()) n += l.length;
    return n;
  }

  /**
   * Binds a port. Two bindings of one port conflict when their families
   * overlap and either is a wildcard or both name the same address.
   *
   * @throws {Deno.errors.AddrInUse} if the port is taken (or no ephemeral port is free)
   * @throws {RangeError} on a port outside 0-65535 or an address not 4 or 16 bytes long
   */
  bind(opts: UdpBindOptions): UdpEndpoint {
    const { port } = opts;
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`Port ${port} out of range 0-65535`);
    }
    const ip = opts.ip === undefined ? null : opts.ip.slice();
    if (ip !== null && ip.length !== 4 && ip.length !== 16) {
      throw new RangeError(`A UDP bind address must be 4 or 16 bytes, not ${ip.length}`);
    }
    const family = ip === null ? (opts.family ?? "any") : ip.length === 4 ? 4 : 6;
    const free = (p: number) => !(this.#byPort.get(p) ?? []).some((e) => conflicts(e, ip, family));
    let chosen = port;
    if (port === 0) {
      chosen = -1;
      for (let i = 0; i < EPHEMERAL_COUNT; i++) {
        const p = EPHEMERAL_LOW + ((this.#nextEphemeral + i) % EPHEMERAL_COUNT);
        if (free(p)) {
          chosen = p;
          this.#nextEphemeral = (this.#nextEphemeral + i + 1) % EPHEMERAL_COUNT;
          break;
        }
      }
      if (chosen < 0) throw new Deno.errors.AddrInUse("No free ephemeral UDP port");
    } else if (!free(port)) {
      throw new Deno.errors.AddrInUse(`UDP port ${port} is already bound`);
    }
    const ep = new UdpEndpoint(this, chosen, ip, family, opts);
    const list = this.#byPort.get(chosen);
    if (list === undefined) this.#byPort.set(chosen, [ep]);
    else list.push(ep);
    return ep;
  }

  /**
   * Queues the UDP datagram `p` (parsed, checksums already checked, its
   * destination one of ours) to the endpoint bound for it. Returns false
   * when no endpoint is bound to its port and address, so the caller sends
   * an ICMP port unreachable; true when an endpoint took it or its full
   * queue dropped it.
   */
  deliver(p: ParsedPacket): boolean {
    const list = this.#byPort.get(p.dstPort);
    const dst = p.buf.subarray(p.dstOff, p.dstOff + p.addrLen);
    let best: UdpEndpoint | null = null;
    let score = 0;
    for (const e of list ?? []) {
      const s = e.matches(dst);
      if (s > score) {
        best = e;
        score = s;
      }
    }
    if (best === null) {
      this.counters.noPort++;
      return false;
    }
    const d: UdpDatagram = {
      src: { ip: p.srcIp(), port: p.srcPort },
      dst: { ip: p.dstIp(), port: p.dstPort },
      payload: p.buf.slice(p.payloadOff, p.length),
    };
    if (best.offer(d)) this.counters.delivered++;
    else this.counters.queueFull++;
    return true;
  }

  /** Sends a built datagram (used by {@linkcode UdpEndpoint.send}). */
  emit(packet: Uint8Array): void {
    this.counters.sent++;
    this.#out(packet);
  }

  /** Removes an endpoint (used by {@linkcode UdpEndpoint.close}). */
  unbind(ep: UdpEndpoint): void {
    const list = this.#byPort.get(ep.port);
    if (list === undefined) return;
    const i = list.indexOf(ep);
    if (i >= 0) list.splice(i, 1);
    if (list.length === 0) this.#byPort.delete(ep.port);
  }
}

function conflicts(e: UdpEndpoint, ip: Uint8Array | null, family: 4 | 6 | "any"): boolean {
  const overlap = e.family === "any" || family === "any" || e.family === family;
  if (!overlap) return false;
  return e.ip === null || ip === null || sameIp(e.ip, ip);
}

function sameIp(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

function closedError(): Error {
  return new Deno.errors.BadResource("UDP endpoint is closed");
}
