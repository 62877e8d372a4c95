/**
 * One DERP client connection as the server sees it: bounded send queues and the
 * write loop that drains them in batches.
 *
 * @module
 */

import { closeQuietly, type DuplexConn, writeAll } from "./conn.ts";
import { FRAME_HEADER_LEN, FrameType, KEY_LEN } from "./constants.ts";
import type { ClientInfo } from "./messages.ts";
import type { DerpMetrics } from "./metrics.ts";
import { keyFromId } from "./key_id.ts";
import { isPushConn, type PushConn } from "./push_conn.ts";
import { parseIp, to16 } from "../net/ip.ts";

/** A packet waiting in a client's queue. */
interface QueuedPacket {
  src: Uint8Array;
  data: Uint8Array;
}

/** What every client of one server shares. */
export interface ClientShared {
  /** Per-queue depth. */
  queueDepth: number;
  /** Counters to add to. */
  metrics: DerpMetrics;
  /** Source of write buffers. */
  pool: BufferPool;
}

/** Static facts about a client fixed at handshake time. */
export interface ServerClientInit {
  /** Map key of the client's node public key (see key_id.ts). */
  id: string;
  /** The key's bytes if at hand; else they are made from id when first needed. */
  key?: Uint8Array;
  /** The connection. */
  conn: DuplexConn;
  /** What the client said about itself (only IsProber is kept). */
  info: ClientInfo;
  /** Whether the client presented the mesh key. */
  canMesh: boolean;
  /** Remote IP address as text. */
  remoteHost: string;
  /** Remote port. */
  remotePort: number;
  /** Whether the client connected to a node other than its ideal one. */
  notIdeal: boolean;
  /** Write deadline in ms. */
  writeTimeoutMs: number;
  /** Settings, counters and buffers shared with the server's other clients. */
  shared: ClientShared;
}

/** Control frames a client may have pending before we start dropping them. */
const MAX_CONTROL_FRAMES = 8192;
/** Size of the buffers a write batch is assembled in. */
export const WRITE_BUFFER_SIZE = 64 * 1024;

/** A small free list of write buffers, so idle clients hold none. */
export class BufferPool {
  #free: Uint8Array[] = [];
  /** Takes a buffer of {@link WRITE_BUFFER_SIZE} bytes. */
  take(): Uint8Array {
    return this.#free.pop() ?? new Uint8Array(WRITE_BUFFER_SIZE);
  }
  /** Returns a buffer taken with {@link take}. */
  give(b: Uint8Array): void {
    if (this.#free.length < 16) this.#free.push(b);
  }
}

// Flag bits of ServerClient.#flags: one word instead of eight booleans, since an idle
// server holds thousands of these objects and every field is a full word.
const CAN_MESH = 1;
const NOT_IDEAL = 2;
const IS_PROBER = 4;
const PREFERRED = 8;
const CLOSED = 16;
const STARTED = 32;
const CLOSE_AFTER_FLUSH = 64;
const FLUSH_QUEUED = 128;
const DIRECT = 256;

/**
 * A connected, handshaken DERP client on the server side. Kept small: an idle client holds
 * its key id, connection and a few numbers; queues, key bytes and printable addresses are
 * made when first needed.
 */
export class ServerClient {
  /** Map key of the node key. */
  readonly id: string;
  /** The connection. */
  readonly conn: DuplexConn;
  /** Remote IP address as text. */
  readonly remoteHost: string;
  /** Remote port. */
  readonly remotePort: number;
  /** When the current write started, 0 if none is in progress. */
  writeStartedAt = 0;
  /** When the next keep-alive is due. */
  nextKeepAliveAt = 0;
  /** Keys (ids) of senders whose PeerGone this client wants (null until the first). */
  watching: Set<string> | null = null;
  /** Tokens left for NotHere replies. */
  peerGoneTokens: number;
  /** When peerGoneTokens was last refilled (0: never; it starts full). */
  peerGoneRefillAt = 0;

  #key: Uint8Array | null;
  #flags: number;
  #queue: QueuedPacket[] | null = null;
  #disco: QueuedPacket[] | null = null;
  /** Pending control frames; dropped when drained (control frames are rare). */
  #control: Uint8Array[] | null = null;
  #pong: Uint8Array | null = null;
  #flushing: Promise<void> | null = null;
  #done: PromiseWithResolvers<void> | null = null;
  #writeTimeoutMs: number;
  #shared: ClientShared;

  /** Creates the client; call {@link start} to run its write loop. */
  constructor(init: ServerClientInit, peerGoneBurst: number) {
    this.id = init.id;
    this.conn = init.conn;
    this.remoteHost = init.remoteHost;
    this.remotePort = init.remotePort;
    this.#key = init.key ?? null;
    this.#flags = (init.canMesh ? CAN_MESH : 0) | (init.notIdeal ? NOT_IDEAL : 0) |
      (init.info.IsProber ? IS_PROBER : 0) | (isPushConn(init.conn) ? DIRECT : 0);
    this.#writeTimeoutMs = init.writeTimeoutMs;
    this.#shared = init.shared;
    this.peerGoneTokens = peerGoneBurst;
  }

  /** The client's node public key. */
  get key(): Uint8Array {
    return this.#key ??= keyFromId(this.id);
  }

  /** Whether the client is a trusted mesh peer. */
  get canMesh(): boolean {
    return (this.#flags & CAN_MESH) !== 0;
  }

  /** Whether the client is not on its ideal node. */
  get notIdeal(): boolean {
    return (this.#flags & NOT_IDEAL) !== 0;
  }

  /** Whether the client said it is a prober. */
  get isProber(): boolean {
    return (this.#flags & IS_PROBER) !== 0;
  }

  /** Whether the client said this is its home DERP. */
  get preferred(): boolean {
    return (this.#flags & PREFERRED) !== 0;
  }

  set preferred(v: boolean) {
    this.#flags = v ? this.#flags | PREFERRED : this.#flags & ~PREFERRED;
  }

  /** Whether the connection is closed or closing. */
  get closed(): boolean {
    return (this.#flags & CLOSED) !== 0;
  }

  /** Remote IP in 16-byte form (v4-mapped for IPv4; zeros if the text is not an IP). */
  get remoteIp16(): Uint8Array {
    try {
      return to16(parseIp(this.remoteHost));
    } catch {
      return new Uint8Array(16);
    }
  }

  /** Printable remote address for logs. */
  get remoteAddr(): string {
    return this.remoteHost.includes(":")
      ? `[${this.remoteHost}]:${this.remotePort}`
      : `${this.remoteHost}:${this.remotePort}`;
  }

  /** The write deadline that applies to this client. */
  get writeTimeoutMs(): number {
    return this.#writeTimeoutMs;
  }

  /** Packets queued now (both queues). */
  get queued(): number {
    return (this.#queue?.length ?? 0) + (this.#disco?.length ?? 0);
  }

  /** Starts writing queued frames. */
  start(): void {
    this.#flags |= STARTED;
    this.#kick();
  }

  /** Resolves once the connection is closed (made on demand: idle clients hold none). */
  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return (this.#done ??= Promise.withResolvers<void>()).promise;
  }

  /** Queues a packet from src; on overflow drops the oldest one (derper's queue_head). */
  enqueuePacket(src: Uint8Array, data: Uint8Array, disco: boolean): void {
    const metrics = this.#shared.metrics;
    if (this.closed) {
      metrics.drop("gone_disconnected", data.length);
      return;
    }
    const q = disco ? (this.#disco ??= []) : (this.#queue ??= []);
    const depth = this.#shared.queueDepth;
    // A full queue on a socket that may still have room: write now rather than drop.
    if (q.length >= depth && (this.#flags & DIRECT) !== 0) this.#flushDirect();
    if (q.length >= depth) {
      const old = q.shift()!;
      metrics.drop("queue_head", old.data.length);
    }
    q.push({ src, data });
    this.#kick();
  }

  /** Queues an encoded control frame (PeerGone, PeerPresent, KeepAlive…). */
  enqueueControl(frame: Uint8Array): boolean {
    if (this.closed) return false;
    const control = this.#control ??= [];
    if (control.length >= MAX_CONTROL_FRAMES) return false;
    control.push(frame);
    this.#kick();
    return true;
  }

  /** Queues a Pong unless one is already pending (extra pings are dropped, as derper does). */
  enqueuePong(data: Uint8Array): void {
    if (this.closed || this.#pong) return;
    this.#pong = data;
    this.#kick();
  }

  /** Flushes what is queued (control frames first), then closes. */
  closeAfterFlush(): void {
    this.#flags |= CLOSE_AFTER_FLUSH;
    this.#kick();
  }

  /** Closes the connection now. */
  close(): void {
    if (this.closed) return;
    this.#flags |= CLOSED;
    closeQuietly(this.conn);
    this.#queue = this.#disco = this.#control = null;
    this.#pong = null;
    this.#done?.resolve();
  }

  // Writing is driven by kicks rather than a parked loop, so an idle client holds
  // no suspended async frame.
  #kick(): void {
    if ((this.#flags & (STARTED | CLOSED)) !== STARTED || this.#flushing) return;
    if (!this.#pending()) {
      if ((this.#flags & CLOSE_AFTER_FLUSH) !== 0) this.close();
      return;
    }
    if ((this.#flags & DIRECT) !== 0) {
      // Frames queued by the rest of this task go out together in one write.
      if ((this.#flags & FLUSH_QUEUED) === 0) {
        this.#flags |= FLUSH_QUEUED;
        queueMicrotask(() => {
          this.#flags &= ~FLUSH_QUEUED;
          this.#flushDirect();
        });
      }
      return;
    }
    this.#flushing = this.#flush().finally(() => {
      this.#flushing = null;
      this.#kick();
    });
  }

  #pending(): boolean {
    return (this.#control !== null && this.#control.length > 0) || this.#pong !== null ||
      (this.#disco !== null && this.#disco.length > 0) ||
      (this.#queue !== null && this.#queue.length > 0);
  }

  /** Whether exactly one control frame and nothing else is pending. */
  #loneControl(): boolean {
    return this.#control !== null && this.#control.length === 1 && this.#pong === null &&
      (this.#disco === null || this.#disco.length === 0) &&
      (this.#queue === null || this.#queue.length === 0);
  }

  /** Takes the first control frame; the queue itself goes once empty (rarely used). */
  #shiftControl(): Uint8Array {
    const control = this.#control!;
    const f = control.shift()!;
    if (control.length === 0) this.#control = null;
    return f;
  }

  async #flush(): Promise<void> {
    const pool = this.#shared.pool;
    try {
      while (!this.closed && this.#pending()) {
        if (this.#loneControl()) {
          // A lone control frame (ServerInfo, KeepAlive…) goes out as is: no pooled buffer.
          const f = this.#shiftControl();
          this.writeStartedAt = Date.now();
          await writeAll(this.conn, f);
          this.writeStartedAt = 0;
          continue;
        }
        const buf = pool.take();
        try {
          const n = this.#fill(buf);
          const batch = n < 0 ? this.#takeOversize() : buf.subarray(0, n);
          this.writeStartedAt = Date.now();
          await writeAll(this.conn, batch);
          this.writeStartedAt = 0;
        } finally {
          pool.give(buf);
        }
      }
    } catch {
      if (!this.closed) this.#shared.metrics.drop("write_error", 0);
      this.close();
    }
  }

  /**
   * Writes queued frames synchronously while the socket takes them. When it is full, the
   * rest of the batch is handed to an async write (which waits for writability) and the
   * write deadline starts.
   */
  #flushDirect(): void {
    if ((this.#flags & (STARTED | CLOSED)) !== STARTED || this.#flushing) return;
    const conn = this.conn as PushConn;
    const pool = this.#shared.pool;
    try {
      while (!this.closed && this.#pending()) {
        let buf: Uint8Array | null = null;
        let batch: Uint8Array;
        if (this.#loneControl()) {
          batch = this.#shiftControl();
        } else {
          buf = pool.take();
          const n = this.#fill(buf);
          batch = n < 0 ? this.#takeOversize() : buf.subarray(0, n);
        }
        const n = conn.writeSync(batch);
        if (n === batch.length) {
          if (buf) pool.give(buf);
          continue;
        }
        this.writeStartedAt = Date.now();
        this.#flushing = writeAll(conn, batch.subarray(n)).then(
          () => {
            this.writeStartedAt = 0;
          },
          () => {
            if (!this.closed) this.#shared.metrics.drop("write_error", 0);
            this.close();
          },
        ).finally(() => {
          if (buf) pool.give(buf);
          this.#flushing = null;
          this.#kick();
        });
        return;
      }
    } catch {
      if (!this.closed) this.#shared.metrics.drop("write_error", 0);
      this.close();
      return;
    }
    if ((this.#flags & CLOSE_AFTER_FLUSH) !== 0 && !this.#pending()) this.close();
  }

  /** Packs queued frames into buf; returns the length, or -1 if the head frame needs its own buffer. */
  #fill(buf: Uint8Array): number {
    let off = 0;
    const control = this.#control;
    while (control !== null && control.length > 0) {
      const f = control[0];
      if (off + f.length > buf.length) return off === 0 ? -1 : off;
      buf.set(f, off);
      off += f.length;
      control.shift();
    }
    if (control !== null) this.#control = null;
    const metrics = this.#shared.metrics;
    if (this.#pong) {
      if (off + FRAME_HEADER_LEN + 8 > buf.length) return off;
      header(buf, off, FrameType.Pong, 8);
      buf.set(this.#pong, off + FRAME_HEADER_LEN);
      off += FRAME_HEADER_LEN + 8;
      this.#pong = null;
      metrics.pongs++;
    }
    for (let k = 0; k < 2; k++) {
      const q = k === 0 ? this.#disco : this.#queue;
      while (q !== null && q.length > 0) {
        const p = q[0];
        const len = FRAME_HEADER_LEN + KEY_LEN + p.data.length;
        if (off + len > buf.length) return off === 0 ? -1 : off;
        header(buf, off, FrameType.RecvPacket, KEY_LEN + p.data.length);
        buf.set(p.src, off + FRAME_HEADER_LEN);
        buf.set(p.data, off + FRAME_HEADER_LEN + KEY_LEN);
        off += len;
        q.shift();
        metrics.packetsSent++;
        metrics.bytesSent += p.data.length;
      }
    }
    return off;
  }

  /** Takes the head frame when it is larger than a pooled buffer. */
  #takeOversize(): Uint8Array {
    if (this.#control !== null && this.#control.length > 0) return this.#shiftControl();
    const q = this.#disco !== null && this.#disco.length > 0 ? this.#disco : this.#queue!;
    const p = q.shift()!;
    const out = new Uint8Array(FRAME_HEADER_LEN + KEY_LEN + p.data.length);
    header(out, 0, FrameType.RecvPacket, KEY_LEN + p.data.length);
    out.set(p.src, FRAME_HEADER_LEN);
    out.set(p.data, FRAME_HEADER_LEN + KEY_LEN);
    const metrics = this.#shared.metrics;
    metrics.packetsSent++;
    metrics.bytesSent += p.data.length;
    return out;
  }
}

function header(buf: Uint8Array, off: number, type: number, len: number): void {
  buf[off] = type;
  buf[off + 1] = len >>> 24;
  buf[off + 2] = (len >>> 16) & 255;
  buf[off + 3] = (len >>> 8) & 255;
  buf[off + 4] = len & 255;
}
