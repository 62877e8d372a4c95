/**
 * DERP client protocol over an already-upgraded connection: handshake, sending
 * packets, receiving messages, answering pings.
 *
 * @module
 */

import { closeQuietly, type DuplexConn, writeAll } from "./conn.ts";
import {
  CLIENT_READ_TIMEOUT_MS,
  FrameType,
  MAX_CLIENT_FRAME_LEN,
  PROTOCOL_VERSION,
} from "./constants.ts";
import { FrameReader } from "./frame.ts";
import {
  type ClientInfo,
  decodeHealth,
  decodeKeyedPacket,
  decodePeerGone,
  decodePeerPresent,
  decodePong,
  decodeRestarting,
  decodeServerInfo,
  decodeServerKey,
  encodeClientInfo,
  encodeClosePeer,
  encodeForwardPacket,
  encodeNotePreferred,
  encodePing,
  encodePong,
  encodeSendPacket,
  encodeWatchConns,
  type ServerInfo,
} from "./messages.ts";
import { bytesEqual } from "../bytes/equal.ts";
import { publicFromPrivate } from "../key/node_key.ts";

/** A message the server sent, as {@link DerpClient.recv} returns it. */
export type DerpMessage =
  | { type: "packet"; src: Uint8Array; data: Uint8Array }
  | { type: "peerGone"; key: Uint8Array; reason: number }
  | {
    type: "peerPresent";
    key: Uint8Array;
    ip?: Uint8Array;
    port?: number;
    flags: number;
  }
  | { type: "keepAlive" }
  | { type: "ping"; data: Uint8Array }
  | { type: "pong"; data: Uint8Array }
  | { type: "health"; problem: string }
  | { type: "restarting"; reconnectInMs: number; tryForMs: number }
  | { type: "serverInfo"; info: ServerInfo };

/** Options of a DERP client handshake. */
export interface DerpClientOptions {
  /** The node private key (the DERP identity). */
  privateKey: Uint8Array;
  /** Mesh key, for servers meshing with each other. */
  meshKey?: Uint8Array;
  /** Whether to answer server pings (default true). */
  canAckPings?: boolean;
  /** Mark this client as a prober. */
  isProber?: boolean;
  /** App name for server stats. */
  appName?: string;
  /** Server key known in advance (fast start); ClientInfo is sent without waiting. */
  serverPublic?: Uint8Array;
  /** Silence after which the connection is considered dead (default 120 s). */
  readTimeoutMs?: number;
}

/** Most bytes coalesced into one write. */
const MAX_WRITE_BATCH = 64 * 1024;

/**
 * Packets {@link DerpClient.enqueue} keeps waiting for the socket (tailscaled:
 * magicsock's derpWriteQueueDepth, 32 per region). TCP already buffers megabytes; a
 * deeper queue here only holds packets their senders have long given up on.
 */
export const DERP_WRITE_QUEUE_DEPTH = 32;

/** A frame waiting to be written; `packet` frames may be dropped when the queue is full. */
interface Queued {
  frame: Uint8Array;
  packet: boolean;
}

/** A handshaken DERP client connection. */
export class DerpClient {
  /** The server's public key, from its ServerKey frame. */
  readonly serverPublic: Uint8Array;
  /** Our node public key. */
  readonly publicKey: Uint8Array;
  /** ServerInfo once it arrived. */
  serverInfo: ServerInfo | null = null;
  readonly #conn: DuplexConn;
  readonly #reader: FrameReader;
  readonly #privateKey: Uint8Array;
  readonly #autoPong: boolean;
  #out: Queued[] = [];
  #outBytes = 0;
  #queuedPackets = 0;
  #dropped = 0;
  #flushing: Promise<void> | null = null;
  #writeError: Error | null = null;
  #closed = false;
  #lastRead = Date.now();
  #watchdog: ReturnType<typeof setInterval>;

  private constructor(
    conn: DuplexConn,
    reader: FrameReader,
    serverPublic: Uint8Array,
    opts: DerpClientOptions,
  ) {
    this.#conn = conn;
    this.#reader = reader;
    this.serverPublic = serverPublic;
    this.#privateKey = opts.privateKey;
    this.publicKey = publicFromPrivate(opts.privateKey);
    this.#autoPong = opts.canAckPings ?? true;
    const timeout = opts.readTimeoutMs ?? CLIENT_READ_TIMEOUT_MS;
    this.#watchdog = setInterval(() => {
      if (Date.now() - this.#lastRead > timeout) this.close();
    }, Math.min(5000, timeout / 2));
    Deno.unrefTimer(this.#watchdog as unknown as number);
  }

  /**
   * Runs the client side of the handshake on conn: reads ServerKey (unless the
   * key is known), sends the sealed ClientInfo.
   *
   * @throws {Error} "derp client: …" naming the step that failed
   */
  static async handshake(
    conn: DuplexConn,
    opts: DerpClientOptions,
    initialBytes?: Uint8Array,
  ): Promise<DerpClient> {
    const reader = new FrameReader(conn, initialBytes, 4096);
    const info: ClientInfo = {
      version: PROTOCOL_VERSION,
      meshKey: opts.meshKey,
      CanAckPings: opts.canAckPings ?? true,
      IsProber: opts.isProber,
      AppName: opts.appName,
    };
    const pub = publicFromPrivate(opts.privateKey);
    let serverPublic = opts.serverPublic;
    if (!serverPublic) {
      const f = await reader.readFrame(MAX_CLIENT_FRAME_LEN).catch((e) => {
        throw new Error(`derp client: failed to receive server key: ${e.message}`);
      });
      if (!f) throw new Error("derp client: connection closed before the server key");
      if (f.type !== FrameType.ServerKey) {
        throw new Error(
          `derp client: first frame is type 0x${f.type.toString(16)}, want ServerKey`,
        );
      }
      try {
        serverPublic = decodeServerKey(f.payload);
      } catch (e) {
        throw new Error(`derp client: bad server key frame: ${(e as Error).message}`);
      }
    }
    await writeAll(conn, encodeClientInfo(info, pub, opts.privateKey, serverPublic)).catch((e) => {
      throw new Error(`derp client: failed to send client info: ${e.message}`);
    });
    return new DerpClient(conn, reader, serverPublic, opts);
  }

  /** Whether the connection is closed. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Sends a packet to the node with key dst. Resolves once written to the socket. */
  send(dst: Uint8Array, packet: Uint8Array): Promise<void> {
    return this.#write(encodeSendPacket(dst, packet));
  }

  /**
   * Queues a packet to the node with key dst without waiting for the write. At most
   * {@link DERP_WRITE_QUEUE_DEPTH} packets wait; beyond that the oldest waiting one is
   * dropped (as tailscaled does: the newest packets are the ones still worth sending)
   * and counted in {@link dropped}. A failed write closes the connection.
   *
   * @returns false if the connection is closed or failed (nothing was queued)
   */
  enqueue(dst: Uint8Array, packet: Uint8Array): boolean {
    if (this.#closed || this.#writeError) return false;
    if (this.#queuedPackets >= DERP_WRITE_QUEUE_DEPTH) {
      const i = this.#out.findIndex((q) => q.packet);
      this.#outBytes -= this.#out[i].frame.length;
      this.#out.splice(i, 1);
      this.#queuedPackets--;
      this.#dropped++;
    }
    this.#write(encodeSendPacket(dst, packet), true).catch(() => this.close());
    return true;
  }

  /** Packets {@link enqueue} dropped because the queue was full. */
  get dropped(): number {
    return this.#dropped;
  }

  /** Mesh only: forwards a packet from src to dst. */
  forward(src: Uint8Array, dst: Uint8Array, packet: Uint8Array): Promise<void> {
    return this.#write(encodeForwardPacket(src, dst, packet));
  }

  /** Tells the server whether this is our home DERP. */
  notePreferred(preferred: boolean): Promise<void> {
    return this.#write(encodeNotePreferred(preferred));
  }

  /** Sends a Ping with 8 bytes of data. */
  ping(data: Uint8Array): Promise<void> {
    return this.#write(encodePing(data));
  }

  /** Sends a Pong answering a server Ping. */
  pong(data: Uint8Array): Promise<void> {
    return this.#write(encodePong(data));
  }

  /** Mesh only: subscribes to PeerPresent/PeerGone for every client of the server. */
  watchConns(): Promise<void> {
    return this.#write(encodeWatchConns());
  }

  /** Mesh only: asks the server to close the connections of key. */
  closePeer(key: Uint8Array): Promise<void> {
    return this.#write(encodeClosePeer(key));
  }

  /** Writes a raw pre-encoded frame (tests use it to send odd frames). */
  writeRaw(frame: Uint8Array): Promise<void> {
    return this.#write(frame);
  }

  /**
   * Receives the next message. Unknown frame types are skipped. Pings are
   * answered automatically when CanAckPings is set, and still returned.
   *
   * @returns null when the server closed the connection
   * @throws {Error} on a protocol error or a dead connection
   */
  async recv(): Promise<DerpMessage | null> {
    for (;;) {
      let f;
      try {
        f = await this.#reader.readFrame(MAX_CLIENT_FRAME_LEN);
      } catch (e) {
        if (this.#closed) return null;
        throw new Error(`derp client: read failed: ${(e as Error).message}`);
      }
      if (f === null) return null;
      this.#lastRead = Date.now();
      const p = f.payload;
      switch (f.type) {
        case FrameType.RecvPacket: {
          if (p.length < 32) continue; // short packets are dropped, as tailscaled does
          const kp = decodeKeyedPacket(p);
          return { type: "packet", src: kp.key, data: kp.packet };
        }
        case FrameType.ServerInfo:
          try {
            this.serverInfo = decodeServerInfo(p, this.#privateKey, this.serverPublic);
          } catch (e) {
            throw new Error(`derp client: invalid server info frame: ${(e as Error).message}`);
          }
          return { type: "serverInfo", info: this.serverInfo };
        case FrameType.KeepAlive:
          return { type: "keepAlive" };
        case FrameType.PeerGone:
          if (p.length < 32) continue;
          return { type: "peerGone", ...decodePeerGone(p) };
        case FrameType.PeerPresent:
          if (p.length < 32) continue;
          return { type: "peerPresent", ...decodePeerPresent(p) };
        case FrameType.Ping: {
          if (p.length < 8) continue;
          const data = p.slice(0, 8);
          if (this.#autoPong) this.pong(data).catch(() => {});
          return { type: "ping", data };
        }
        case FrameType.Pong:
          if (p.length < 8) continue;
          return { type: "pong", data: decodePong(p) };
        case FrameType.Health:
          return { type: "health", problem: decodeHealth(p) };
        case FrameType.Restarting:
          if (p.length < 8) continue;
          return { type: "restarting", ...decodeRestarting(p) };
        case FrameType.ServerKey:
          continue; // fast start: the server still sends it; we already know the key
        default:
          continue;
      }
    }
  }

  /** Reports whether a server key matches the one this client handshook with. */
  isServer(key: Uint8Array): boolean {
    return bytesEqual(key, this.serverPublic);
  }

  /** Closes the connection. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#watchdog);
    closeQuietly(this.#conn);
  }

  #write(frame: Uint8Array, packet = false): Promise<void> {
    if (this.#closed) return Promise.reject(new Error("derp client: connection is closed"));
    if (this.#writeError) return Promise.reject(this.#writeError);
    this.#out.push({ frame, packet });
    if (packet) this.#queuedPackets++;
    this.#outBytes += frame.length;
    this.#flushing ??= this.#flush();
    return this.#flushing;
  }

  async #flush(): Promise<void> {
    // Let callers in the same tick add frames, so they share one write.
    await Promise.resolve();
    try {
      while (this.#out.length > 0) {
        let batch: Uint8Array;
        if (this.#out.length === 1) {
          batch = this.#out[0].frame;
          if (this.#out[0].packet) this.#queuedPackets--;
          this.#out = [];
          this.#outBytes = 0;
        } else {
          const out = this.#out;
          let n = 0, k = 0;
          while (k < out.length && (k === 0 || n + out[k].frame.length <= MAX_WRITE_BATCH)) {
            n += out[k++].frame.length;
          }
          batch = new Uint8Array(n);
          let off = 0;
          for (let i = 0; i < k; i++) {
            batch.set(out[i].frame, off);
            off += out[i].frame.length;
            if (out[i].packet) this.#queuedPackets--;
          }
          this.#out = out.slice(k);
          this.#outBytes -= n;
        }
        await writeAll(this.#conn, batch);
      }
    } catch (e) {
      this.#writeError = new Error(`derp client: write failed: ${(e as Error).message}`);
      this.#out = [];
      this.#outBytes = 0;
      this.#queuedPackets = 0;
      throw this.#writeError;
    } finally {
      this.#flushing = null;
    }
  }

  /** Bytes waiting to be written (for callers that want backpressure). */
  get pendingBytes(): number {
    return this.#outBytes;
  }
}
