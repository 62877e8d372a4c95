/**
 * The DERP server core: accepts handshaken clients, runs each one's frame
 * loop, sends keep-alives, enforces write deadlines and shuts down gracefully.
 * Transport-agnostic: it is handed a connection whose HTTP upgrade is already
 * done (see http_server.ts). The handshake, the client registry, packet
 * routing and frame handling live in the server_*.ts modules beside it.
 *
 * @module
 */

import { closeQuietly, type DuplexConn } from "./conn.ts";
import {
  HANDSHAKE_TIMEOUT_MS,
  KEEPALIVE_JITTER_MS,
  KEEPALIVE_MS,
  MESH_WRITE_TIMEOUT_MS,
  PEER_GONE_NOT_HERE_BURST,
  PER_CLIENT_QUEUE_DEPTH,
  PROTOCOL_VERSION,
  WRITE_TIMEOUT_MS,
} from "./constants.ts";
import { Deadlines } from "./deadlines.ts";
import { FrameReader } from "./frame.ts";
import { isPushConn } from "./push_conn.ts";
import { keyId, shortKeyOfId } from "./key_id.ts";
import {
  encodeKeepAlive,
  encodeRestarting,
  encodeServerInfoWithKey,
  encodeServerKey,
} from "./messages.ts";
import { DerpMetrics } from "./metrics.ts";
import { BufferPool, type ClientShared, ServerClient } from "./server_client.ts";
import {
  ClientSession,
  type FrameContext,
  readClientFrames,
  type SessionHost,
} from "./server_frames.ts";
import {
  handshakeReason,
  serverHandshake,
  type ServerHandshakeOptions,
  type VerifyClient,
} from "./server_handshake.ts";
import { ClientRegistry, type PacketForwarder } from "./server_registry.ts";
import { PacketRouter } from "./server_routing.ts";
import { publicFromPrivate } from "../key/node_key.ts";

/** Every keep-alive is the same five bytes; frames are never changed once queued. */
const KEEPALIVE_FRAME = encodeKeepAlive();

/** Options of {@link DerpServer}. */
export interface DerpServerOptions {
  /** The server's node private key (32 bytes). */
  privateKey: Uint8Array;
  /** Mesh pre-shared key (32 bytes); clients presenting it may mesh. */
  meshKey?: Uint8Array;
  /** Admission controller (mesh peers are exempt). */
  verifyClient?: VerifyClient;
  /** Log one line per event; default: none. */
  logf?: (line: string) => void;
  /** Counters; default: fresh ones. */
  metrics?: DerpMetrics;
  /** Keep-alive period (tests shorten it). */
  keepAliveMs?: number;
  /** Keep-alive jitter upper bound. */
  keepAliveJitterMs?: number;
  /** Per-queue depth. */
  queueDepth?: number;
  /** Write deadline for regular clients. */
  writeTimeoutMs?: number;
  /** How often keep-alives and write deadlines are checked. */
  sweepIntervalMs?: number;
}

/** Per-connection facts from the HTTP layer. */
export interface AcceptOptions {
  /** Remote address as "ip:port" parts. */
  remoteHost: string;
  /** Remote port. */
  remotePort: number;
  /** Bytes already read past the HTTP request head. */
  initialBytes?: Uint8Array;
  /** Absolute time (ms) by which the handshake must finish. */
  deadline?: number;
  /** Value of the Ideal-Node header, if any. */
  idealNode?: string;
}

/** A DERP relay server. */
export class DerpServer {
  /** The server's public key (its DERP identity). */
  readonly publicKey: Uint8Array;
  /** Counters. */
  readonly metrics: DerpMetrics;
  readonly #meshKey?: Uint8Array;
  readonly #logf: (line: string) => void;
  readonly #keepAliveMs: number;
  readonly #jitterMs: number;
  readonly #writeTimeoutMs: number;
  readonly #shared: ClientShared;
  readonly #handshake: ServerHandshakeOptions;
  readonly #registry: ClientRegistry;
  readonly #frames: FrameContext;
  readonly #sessionHost: SessionHost;
  /** Connections handshaking, closed at their deadline. */
  readonly #handshakes = new Deadlines<DuplexConn>((conn) => closeQuietly(conn));
  readonly #sweep: ReturnType<typeof setInterval>;
  #closed = false;

  /** Creates a server; it accepts connections through {@link accept}. */
  constructor(opts: DerpServerOptions) {
    this.publicKey = publicFromPrivate(opts.privateKey);
    this.#meshKey = opts.meshKey;
    this.#logf = opts.logf ?? (() => {});
    this.metrics = opts.metrics ?? new DerpMetrics();
    this.#keepAliveMs = opts.keepAliveMs ?? KEEPALIVE_MS;
    this.#jitterMs = opts.keepAliveJitterMs ?? KEEPALIVE_JITTER_MS;
    this.#writeTimeoutMs = opts.writeTimeoutMs ?? WRITE_TIMEOUT_MS;
    this.#shared = {
      queueDepth: opts.queueDepth ?? PER_CLIENT_QUEUE_DEPTH,
      metrics: this.metrics,
      pool: new BufferPool(),
    };
    this.#handshake = {
      publicKey: this.publicKey,
      privateKey: opts.privateKey,
      meshKey: opts.meshKey,
      verify: opts.verifyClient,
      metrics: this.metrics,
      serverKeyFrame: encodeServerKey(this.publicKey),
    };
    this.#registry = new ClientRegistry(keyId(this.publicKey), this.metrics, this.#logf);
    this.#frames = {
      registry: this.#registry,
      router: new PacketRouter(this.#registry, this.metrics),
      metrics: this.metrics,
    };
    this.#sessionHost = {
      frames: this.#frames,
      finished: (c, why) => this.#finished(c, why),
    };
    this.#sweep = setInterval(() => this.#sweepClients(), opts.sweepIntervalMs ?? 1000);
    Deno.unrefTimer(this.#sweep as unknown as number);
  }

  /** Whether a mesh key is configured. */
  get hasMeshKey(): boolean {
    return this.#meshKey !== undefined;
  }

  /** Distinct client keys connected locally. */
  get clientKeys(): number {
    return this.#registry.clientKeys;
  }

  /** Client connections (duplicates included). */
  get clientConns(): number {
    return this.#registry.clientConns;
  }

  /** Point-in-time gauges for /metrics and the status page. */
  gauges(): Record<string, number> {
    return this.#registry.gauges();
  }

  /** Whether the key has an active local connection. */
  isConnected(key: Uint8Array): boolean {
    return this.#registry.has(keyId(key));
  }

  /**
   * Runs the DERP protocol on an upgraded connection until it ends. Never throws:
   * failures close this one connection and are counted and logged.
   */
  async accept(conn: DuplexConn, opts: AcceptOptions): Promise<void> {
    if (this.#closed) {
      closeQuietly(conn);
      return;
    }
    // Only the handshake reads through this on push connections: ClientInfo is small.
    const reader = new FrameReader(conn, opts.initialBytes, isPushConn(conn) ? 256 : 512);
    this.#handshakes.add(conn, opts.deadline ?? Date.now() + HANDSHAKE_TIMEOUT_MS);
    let client: ServerClient;
    let serverInfo: Uint8Array;
    let settled = false;
    let timedOut = false;
    try {
      const hs = await serverHandshake(conn, reader, opts.remoteHost, this.#handshake);
      settled = true;
      // Gone from the deadlines means the deadline closed it.
      timedOut = !this.#handshakes.delete(conn);
      if (timedOut) throw new Error("handshake deadline passed");
      client = new ServerClient({
        id: keyId(hs.key),
        conn,
        info: hs.info,
        canMesh: hs.canMesh,
        remoteHost: opts.remoteHost,
        remotePort: opts.remotePort,
        notIdeal: (opts.idealNode ?? "") !== "",
        writeTimeoutMs: hs.canMesh ? MESH_WRITE_TIMEOUT_MS : this.#writeTimeoutMs,
        shared: this.#shared,
      }, PEER_GONE_NOT_HERE_BURST);
      serverInfo = encodeServerInfoWithKey({ version: PROTOCOL_VERSION }, hs.boxKey);
    } catch (e) {
      if (!settled) timedOut = !this.#handshakes.delete(conn);
      const reason = timedOut ? "timeout" : handshakeReason(e);
      this.metrics.handshakeFailure(reason);
      const remoteAddr = opts.remoteHost.includes(":")
        ? `[${opts.remoteHost}]:${opts.remotePort}`
        : `${opts.remoteHost}:${opts.remotePort}`;
      this.#logf(
        `derp: handshake from ${remoteAddr} failed (${reason}): ${
          timedOut ? "no ClientInfo within the deadline" : (e as Error).message
        }`,
      );
      closeQuietly(conn);
      return;
    }
    if (this.#closed) {
      closeQuietly(conn);
      return;
    }
    // Returned, not awaited: the handshake's async frame is released for the
    // connection's (long) lifetime.
    return this.#run(client, reader, serverInfo);
  }

  #run(client: ServerClient, reader: FrameReader, serverInfo: Uint8Array): Promise<void> {
    client.enqueueControl(serverInfo);
    client.nextKeepAliveAt = Date.now() + this.#keepAliveMs + Math.random() * this.#jitterMs;
    this.#registry.register(client);
    client.start();
    const session = new ClientSession(client, this.#sessionHost);
    if (isPushConn(client.conn)) {
      session.start(client.conn, reader);
      return Promise.resolve();
    }
    return readClientFrames(client, reader, (f) => session.frame(f)).then(
      () => session.finish("closed by client"),
      (e) => session.fail(e as Error),
    );
  }

  /** A client's frames stopped: forget it and close it. */
  #finished(client: ServerClient, why: string): void {
    if (client.closed && why === "closed by client" && this.#closed) why = "server shutting down";
    this.#registry.unregister(client);
    if (!this.#closed) client.close();
    this.#logf(`derp: client ${shortKeyOfId(client.id)} ${client.remoteAddr} disconnected: ${why}`);
  }

  /** Registers a mesh route: key is reachable through fwd. */
  addPacketForwarder(key: Uint8Array, fwd: PacketForwarder): void {
    this.#registry.addForwarder(key, fwd);
  }

  /** Removes a mesh route; if the key is then nowhere in the region, its senders get PeerGone. */
  removePacketForwarder(key: Uint8Array, fwd: PacketForwarder): void {
    this.#registry.removeForwarder(key, fwd);
  }

  #sweepClients(): void {
    const now = Date.now();
    this.#registry.forEachClient((c) => {
      if (c.writeStartedAt !== 0 && now - c.writeStartedAt > c.writeTimeoutMs) {
        this.metrics.writeTimeouts++;
        this.#logf(`derp: client ${shortKeyOfId(c.id)} ${c.remoteAddr} write timed out; closing`);
        c.close();
        return;
      }
      if (now >= c.nextKeepAliveAt) {
        c.nextKeepAliveAt = now + this.#keepAliveMs + Math.random() * this.#jitterMs;
        if (c.enqueueControl(KEEPALIVE_FRAME)) this.metrics.keepAlives++;
      }
    });
  }

  /**
   * Stops the server: every client gets a Restarting frame (when restarting is
   * given), queued frames are flushed for up to flushMs, then all connections close.
   */
  async close(
    restarting?: { reconnectInMs: number; tryForMs: number },
    flushMs = 1000,
  ): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    clearInterval(this.#sweep);
    for (const conn of [...this.#handshakes.keys()]) closeQuietly(conn);
    const all = [...this.#registry.clients()];
    const frame = restarting
      ? encodeRestarting(restarting.reconnectInMs, restarting.tryForMs)
      : null;
    for (const c of all) {
      if (frame) c.enqueueControl(frame);
      c.closeAfterFlush();
    }
    const flushed = Promise.all(all.map((c) => c.whenClosed()));
    let t: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([flushed, new Promise((r) => (t = setTimeout(r, flushMs)))]);
    clearTimeout(t);
    for (const c of all) c.close();
  }
}
