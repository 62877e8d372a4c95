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
import { isPushConn, type PushConn } from "./push_conn.ts";

/** A packet waiting in a client's queue. */
interface QueuedPacket {
  src: Uint8Array;
  data: Uint8Array;
}

/** Static facts about a client fixed at handshake time. */
export interface ServerClientInit {
  /** The client's node public key. */
  key: Uint8Array;
  /** Map key of {@link key}. */
  id: string;
  /** The connection. */
  conn: DuplexConn;
  /** What the client said about itself. */
  info: ClientInfo;
  /** Whether the client presented the mesh key. */
  canMesh: boolean;
  /** Remote IP in 16-byte form (v4-mapped for IPv4). */
  remoteIp16: Uint8Array;
  /** Remote port. */
  remotePort: number;
  /** Printable remote address for logs. */
  remoteAddr: string;
  /** Whether the client connected to a node other than its ideal one. */
  notIdeal: boolean;
  /** Per-queue depth. */
  queueDepth: number;
  /** Write deadline in ms. */
  writeTimeoutMs: number;
  /** Counters to add to. */
  metrics: DerpMetrics;
  /** Source of write buffers shared by all clients. */
  pool: BufferPool;
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

/** A connected, handshaken DERP client on the server side. */
export class ServerClient {
  /** The client's node public key. */
  readonly key: Uint8Array;
  /** Map key of the node key. */
  readonly id: string;
  /** The connection. */
  readonly conn: DuplexConn;
  /** What the client said about itself. */
  readonly info: ClientInfo;
  /** Whether the client is a trusted mesh peer. */
  readonly canMesh: boolean;
  /** Remote IP, 16-byte form. */
  readonly remoteIp16: Uint8Array;
  /** Remote port. */
  readonly remotePort: number;
  /** Printable remote address. */
  readonly remoteAddr: string;
  /** Whether the client is not on its ideal node. */
  readonly notIdeal: boolean;
  /** When the client finished its handshake (ms since epoch). */
  readonly connectedAt: number = Date.now();
  /** Whether the client said this is its home DERP. */
  preferred = false;
  /** Whether the connection is closed or closing. */
  closed = false;
  /** When the current write started, 0 if none is in progress. */
  writeStartedAt = 0;
  /** When the next keep-alive is due. */
  nextKeepAliveAt = 0;
  /** Keys (ids) of senders whose PeerGone this client wants (null until the first). */
  watching: Set<string> | null = null;
  /** Tokens left for NotHere replies. */
  peerGoneTokens: number;
  /** When peerGoneTokens was last refilled. */
  peerGoneRefillAt: number = Date.now();

  #queue: QueuedPacket[] = [];
  #disco: QueuedPacket[] = [];
  #control: Uint8Array[] = [];
  #pong: Uint8Array | null = null;
  #flushing: Promise<void> | null = null;
  #started = false;
  #resolveDone: (() => void) | null = null;
  #done: Promise<void> | null = null;
  #closeAfterFlush = false;
  /** The connection when it can write synchronously (push_conn.ts), else null. */
  #direct: PushConn | null;
  #flushQueued = false;
  #depth: number;
  #writeTimeoutMs: number;
  #metrics: DerpMetrics;
  #pool: BufferPool;

  /** Creates the client; call {@link start} to run its write loop. */
  constructor(init: ServerClientInit, peerGoneBurst: number) {
    this.key = init.key;
    this.id = init.id;
    this.conn = init.conn;
    this.info = init.info;
    this.canMesh = init.canMesh;
    this.remoteIp16 = init.remoteIp16;
    this.remotePort = init.remotePort;
    this.remoteAddr = init.remoteAddr;
    this.notIdeal = init.notIdeal;
    this.#depth = init.queueDepth;
    this.#writeTimeoutMs = init.writeTimeoutMs;
    this.#metrics = init.metrics;
    this.#pool = init.pool;
    this.#direct = isPushConn(init.conn) ? init.conn : null;
    this.peerGoneTokens = peerGoneBurst;
  }

  /** The write deadline that applies to this client. */
  get writeTimeoutMs(): number {
    return this.#writeTimeoutMs;
  }

  /** Packets queued now (both queues). */
  get queued(): number {
    return this.#queue.length + this.#disco.length;
  }

  /** Starts writing queued frames. */
  start(): void {
    this.#started = true;
    this.#kick();
  }

  /** Resolves once the connection is closed (made on demand: idle clients hold none). */
  whenClosed(): Promise<void> {
    if (this.closed) return Promise.resolve();
    return this.#done ??= new Promise((r) => (this.#resolveDone = r));
  }

  /** Queues a packet from src; on overflow drops the oldest one (derper's queue_head). */
  enqueuePacket(src: Uint8Array, data: Uint8Array, disco: boolean): void {
    if (this.closed) {
      this.#metrics.drop("gone_disconnected", data.length);
      return;
    }
    const q = disco ? this.#disco : this.#queue;
    // A full queue on a socket that may still have room: write now rather than drop.
    if (q.length >= this.#depth && this.#direct) this.#flushDirect();
    if (q.length >= this.#depth) {
      const old = q.shift()!;
      this.#metrics.drop("queue_head", old.data.length);
    }
    q.push({ src, data });
    this.#kick();
  }

  /** Queues an encoded control frame (PeerGone, PeerPresent, KeepAlive…). */
  enqueueControl(frame: Uint8Array): boolean {
    if (this.closed || this.#control.length >= MAX_CONTROL_FRAMES) return false;
    this.#control.push(frame);
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
    this.#closeAfterFlush = true;
    this.#kick();
  }

  /** Closes the connection now. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    closeQuietly(this.conn);
    this.#queue.length = 0;
    this.#disco.length = 0;
    this.#control.length = 0;
    this.#resolveDone?.();
  }

  // Writing is driven by kicks rather than a parked loop, so an idle client holds
  // no suspended async frame.
  #kick(): void {
    if (!this.#started || this.#flushing || this.closed) return;
    if (!this.#pending()) {
      if (this.#closeAfterFlush) this.close();
      return;
    }
    if (this.#direct) {
      // Frames queued by the rest of this task go out together in one write.
      if (!this.#flushQueued) {
        this.#flushQueued = true;
        queueMicrotask(() => {
          this.#flushQueued = false;
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
    return this.#control.length > 0 || this.#pong !== null || this.#disco.length > 0 ||
      this.#queue.length > 0;
  }

  async #flush(): Promise<void> {
    try {
      while (!this.closed && this.#pending()) {
        if (
          this.#control.length === 1 && this.#pong === null && this.#disco.length === 0 &&
          this.#queue.length === 0
        ) {
          // A lone control frame (ServerInfo, KeepAlive…) goes out as is: no pooled buffer.
          const f = this.#control.shift()!;
          this.writeStartedAt = Date.now();
          await writeAll(this.conn, f);
          this.writeStartedAt = 0;
          continue;
        }
        const buf = this.#pool.take();
        try {
          const n = this.#fill(buf);
          const batch = n < 0 ? this.#takeOversize() : buf.subarray(0, n);
          this.writeStartedAt = Date.now();
          await writeAll(this.conn, batch);
          this.writeStartedAt = 0;
        } finally {
          this.#pool.give(buf);
        }
      }
    } catch {
      if (!this.closed) this.#metrics.drop("write_error", 0);
      this.close();
    }
  }

  /**
   * Writes queued frames synchronously while the socket takes them. When it is full, the
   * rest of the batch is handed to an async write (which waits for writability) and the
   * write deadline starts.
   */
  #flushDirect(): void {
    if (!this.#started || this.#flushing || this.closed) return;
    const conn = this.#direct!;
    try {
      while (!this.closed && this.#pending()) {
        let buf: Uint8Array | null = null;
        let batch: Uint8Array;
        if (
          this.#control.length === 1 && this.#pong === null && this.#disco.length === 0 &&
          this.#queue.length === 0
        ) {
          batch = this.#control.shift()!;
        } else {
          buf = this.#pool.take();
          const n = this.#fill(buf);
          batch = n < 0 ? this.#takeOversize() : buf.subarray(0, n);
        }
        const n = conn.writeSync(batch);
        if (n === batch.length) {
          if (buf) this.#pool.give(buf);
          continue;
        }
        this.writeStartedAt = Date.now();
        this.#flushing = writeAll(conn, batch.subarray(n)).then(
          () => {
            this.writeStartedAt = 0;
          },
          () => {
            if (!this.closed) this.#metrics.drop("write_error", 0);
            this.close();
          },
        ).finally(() => {
          if (buf) this.#pool.give(buf);
          this.#flushing = null;
          this.#kick();
        });
        return;
      }
    } catch {
      if (!this.closed) this.#metrics.drop("write_error", 0);
      this.close();
      return;
    }
    if (this.#closeAfterFlush && !this.#pending()) this.close();
  }

  /** Packs queued frames into buf; returns the length, or -1 if the head frame needs its own buffer. */
  #fill(buf: Uint8Array): number {
    let off = 0;
    while (this.#control.length > 0) {
      const f = this.#control[0];
      if (off + f.length > buf.length) return off === 0 ? -1 : off;
      buf.set(f, off);
      off += f.length;
      this.#control.shift();
    }
    if (this.#pong) {
      if (off + FRAME_HEADER_LEN + 8 > buf.length) return off;
      header(buf, off, FrameType.Pong, 8);
      buf.set(this.#pong, off + FRAME_HEADER_LEN);
      off += FRAME_HEADER_LEN + 8;
      this.#pong = null;
      this.#metrics.pongs++;
    }
    for (const q of [this.#disco, this.#queue]) {
      while (q.length > 0) {
        const p = q[0];
        const len = FRAME_HEADER_LEN + KEY_LEN + p.data.length;
        if (off + len > buf.length) return off === 0 ? -1 : off;
        header(buf, off, FrameType.RecvPacket, KEY_LEN + p.data.length);
        buf.set(p.src, off + FRAME_HEADER_LEN);
        buf.set(p.data, off + FRAME_HEADER_LEN + KEY_LEN);
        off += len;
        q.shift();
        this.#metrics.packetsSent++;
        this.#metrics.bytesSent += p.data.length;
      }
    }
    return off;
  }

  /** Takes the head frame when it is larger than a pooled buffer. */
  #takeOversize(): Uint8Array {
    if (this.#control.length > 0) return this.#control.shift()!;
    const q = this.#disco.length > 0 ? this.#disco : this.#queue;
    const p = q.shift()!;
    const out = new Uint8Array(FRAME_HEADER_LEN + KEY_LEN + p.data.length);
    header(out, 0, FrameType.RecvPacket, KEY_LEN + p.data.length);
    out.set(p.src, FRAME_HEADER_LEN);
    out.set(p.data, FRAME_HEADER_LEN + KEY_LEN);
    this.#metrics.packetsSent++;
    this.#metrics.bytesSent += p.data.length;
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
