/**
 * The DERP server core: handshake, client registry, routing, mesh forwarding,
 * keep-alives and graceful shutdown. Transport-agnostic: it is handed a
 * connection whose HTTP upgrade is already done (see http_server.ts).
 *
 * @module
 */

import { closeQuietly, type DuplexConn, writeAll } from "./conn.ts";
import {
  FrameType,
  HANDSHAKE_TIMEOUT_MS,
  KEEPALIVE_JITTER_MS,
  KEEPALIVE_MS,
  KEY_LEN,
  looksLikeDisco,
  MAX_CLIENT_INFO_LEN,
  MAX_PACKET_SIZE,
  MAX_SERVER_FRAME_LEN,
  MESH_WRITE_TIMEOUT_MS,
  PEER_GONE_NOT_HERE_BURST,
  PEER_GONE_NOT_HERE_PER_SEC,
  PeerGoneReason,
  PeerPresentFlags,
  PER_CLIENT_QUEUE_DEPTH,
  PROTOCOL_VERSION,
  WRITE_TIMEOUT_MS,
} from "./constants.ts";
import { type Frame, FrameReader, FrameTooLargeError } from "./frame.ts";
import { FrameAssembler } from "./frame_assembler.ts";
import { isPushConn, type PushConn } from "./push_conn.ts";
import { keyId } from "./key_id.ts";
import {
  type ClientInfo,
  decodeClientInfo,
  decodeForwardPacket,
  decodeNotePreferred,
  decodePing,
  encodeKeepAlive,
  encodePeerGone,
  encodePeerPresent,
  encodeRestarting,
  encodeServerInfo,
  encodeServerKey,
} from "./messages.ts";
import { DerpMetrics } from "./metrics.ts";
import { BufferPool, ServerClient } from "./server_client.ts";
import { publicFromPrivate, shortKey } from "../key/node_key.ts";
import { parseIp, to16 } from "../net/ip.ts";

/** Something that can carry a packet to a key connected to another server of the mesh. */
export interface PacketForwarder {
  /** Sends src→dst packet towards the server holding dst; returns false if it was dropped. */
  forwardPacket(src: Uint8Array, dst: Uint8Array, packet: Uint8Array): boolean;
  /** A name for logs. */
  readonly name: string;
}

/** Admission check: resolves if the client may connect, rejects with the reason otherwise. */
export type VerifyClient = (nodeKey: Uint8Array, sourceIp: string) => Promise<void>;

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

interface ClientSet {
  clients: ServerClient[];
  active: ServerClient;
}

/** A DERP relay server. */
export class DerpServer {
  /** The server's public key (its DERP identity). */
  readonly publicKey: Uint8Array;
  /** Counters. */
  readonly metrics: DerpMetrics;
  readonly #privateKey: Uint8Array;
  readonly #meshKey?: Uint8Array;
  readonly #verify?: VerifyClient;
  readonly #logf: (line: string) => void;
  readonly #keepAliveMs: number;
  readonly #jitterMs: number;
  readonly #depth: number;
  readonly #writeTimeoutMs: number;
  readonly #pool = new BufferPool();
  readonly #clients = new Map<string, ClientSet>();
  readonly #forwarders = new Map<string, PacketForwarder[]>();
  readonly #peerGoneWatchers = new Map<string, Set<ServerClient>>();
  readonly #watchers = new Set<ServerClient>();
  readonly #pending = new Set<DuplexConn>();
  readonly #sweep: ReturnType<typeof setInterval>;
  #closed = false;

  /** Creates a server; it accepts connections through {@link accept}. */
  constructor(opts: DerpServerOptions) {
    this.#privateKey = opts.privateKey;
    this.publicKey = publicFromPrivate(opts.privateKey);
    this.#meshKey = opts.meshKey;
    this.#verify = opts.verifyClient;
    this.#logf = opts.logf ?? (() => {});
    this.metrics = opts.metrics ?? new DerpMetrics();
    this.#keepAliveMs = opts.keepAliveMs ?? KEEPALIVE_MS;
    this.#jitterMs = opts.keepAliveJitterMs ?? KEEPALIVE_JITTER_MS;
    this.#depth = opts.queueDepth ?? PER_CLIENT_QUEUE_DEPTH;
    this.#writeTimeoutMs = opts.writeTimeoutMs ?? WRITE_TIMEOUT_MS;
    this.#sweep = setInterval(() => this.#sweepClients(), opts.sweepIntervalMs ?? 1000);
    Deno.unrefTimer(this.#sweep as unknown as number);
  }

  /** Whether a mesh key is configured. */
  get hasMeshKey(): boolean {
    return this.#meshKey !== undefined;
  }

  /** Distinct client keys connected locally. */
  get clientKeys(): number {
    return this.#clients.size;
  }

  /** Client connections (duplicates included). */
  get clientConns(): number {
    let n = 0;
    for (const s of this.#clients.values()) n += s.clients.length;
    return n;
  }

  /** Point-in-time gauges for /metrics and the status page. */
  gauges(): Record<string, number> {
    let conns = 0, dupKeys = 0, home = 0, mesh = 0;
    for (const s of this.#clients.values()) {
      conns += s.clients.length;
      if (s.clients.length > 1) dupKeys++;
      for (const c of s.clients) {
        if (c.preferred) home++;
        if (c.canMesh) mesh++;
      }
    }
    return {
      clients: conns,
      client_keys: this.#clients.size,
      home_clients: home,
      dup_client_keys: dupKeys,
      mesh_peers_connected: mesh,
      mesh_watchers: this.#watchers.size,
      mesh_remote_keys: this.#forwarders.size,
    };
  }

  /** Whether the key has an active local connection. */
  isConnected(key: Uint8Array): boolean {
    return this.#clients.has(keyId(key));
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
    const reader = new FrameReader(conn, opts.initialBytes);
    const remoteAddr = opts.remoteHost.includes(":")
      ? `[${opts.remoteHost}]:${opts.remotePort}`
      : `${opts.remoteHost}:${opts.remotePort}`;
    const deadline = opts.deadline ?? Date.now() + HANDSHAKE_TIMEOUT_MS;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      closeQuietly(conn);
    }, Math.max(0, deadline - Date.now()));
    this.#pending.add(conn);
    let client: ServerClient;
    try {
      const hs = await this.#handshake(conn, reader, opts.remoteHost);
      clearTimeout(timer);
      client = new ServerClient({
        key: hs.key,
        id: keyId(hs.key),
        conn,
        info: hs.info,
        canMesh: hs.canMesh,
        remoteIp16: safeIp16(opts.remoteHost),
        remotePort: opts.remotePort,
        remoteAddr,
        notIdeal: (opts.idealNode ?? "") !== "",
        queueDepth: this.#depth,
        writeTimeoutMs: hs.canMesh ? MESH_WRITE_TIMEOUT_MS : this.#writeTimeoutMs,
        metrics: this.metrics,
        pool: this.#pool,
      }, PEER_GONE_NOT_HERE_BURST);
    } catch (e) {
      clearTimeout(timer);
      const reason = timedOut ? "timeout" : handshakeReason(e);
      this.metrics.handshakeFailure(reason);
      this.#logf(
        `derp: handshake from ${remoteAddr} failed (${reason}): ${
          timedOut ? "no ClientInfo within the deadline" : (e as Error).message
        }`,
      );
      closeQuietly(conn);
      return;
    } finally {
      this.#pending.delete(conn);
    }
    if (this.#closed) {
      closeQuietly(conn);
      return;
    }
    // Returned, not awaited: the handshake's async frame is released for the
    // connection's (long) lifetime.
    return this.#run(client, reader);
  }

  #run(client: ServerClient, reader: FrameReader): Promise<void> {
    client.enqueueControl(
      encodeServerInfo({ version: PROTOCOL_VERSION }, this.#privateKey, client.key),
    );
    client.nextKeepAliveAt = Date.now() + this.#keepAliveMs + Math.random() * this.#jitterMs;
    this.#register(client);
    client.start();
    let finished = false;
    const finish = (why: string) => {
      if (finished) return;
      finished = true;
      if (client.closed && why === "closed by client" && this.#closed) why = "server shutting down";
      this.#unregister(client);
      if (!this.#closed) client.close();
      this.#logf(`derp: client ${shortKey(client.key)} ${client.remoteAddr} disconnected: ${why}`);
    };
    if (isPushConn(client.conn)) return this.#pushLoop(client, client.conn, reader, finish);
    return this.#readLoop(client, reader).then(
      () => finish("closed by client"),
      (e: Error) => {
        if (client.closed) return finish("closed by client");
        this.metrics.protocolErrors++;
        finish(e.message);
      },
    );
  }

  async #handshake(
    conn: DuplexConn,
    reader: FrameReader,
    remoteHost: string,
  ): Promise<{ key: Uint8Array; info: ClientInfo; canMesh: boolean }> {
    await writeAll(conn, encodeServerKey(this.publicKey));
    let f: Frame | null;
    try {
      f = await reader.readFrame(MAX_CLIENT_INFO_LEN);
    } catch (e) {
      if (e instanceof FrameTooLargeError) throw new HandshakeError("oversize", e.message);
      throw new HandshakeError("eof", (e as Error).message);
    }
    if (f === null) throw new HandshakeError("eof", "connection closed before ClientInfo");
    if (f.type !== FrameType.ClientInfo) {
      throw new HandshakeError(
        "bad_frame",
        `first frame is type 0x${f.type.toString(16)}, want ClientInfo`,
      );
    }
    let opened;
    try {
      opened = decodeClientInfo(f.payload, this.#privateKey);
    } catch (e) {
      const msg = (e as Error).message;
      const reason = msg.includes("does not open")
        ? "bad_box"
        : msg.includes("too short")
        ? "short"
        : "bad_json";
      throw new HandshakeError(reason, msg);
    }
    const canMesh = this.#isMeshKey(opened.info.meshKey);
    if (opened.info.meshKey && !canMesh) {
      throw new HandshakeError("bad_mesh_key", "client presented a wrong mesh key");
    }
    if (!canMesh && this.#verify) {
      try {
        await this.#verify(opened.clientPublic, remoteHost);
      } catch (e) {
        this.metrics.verifyRejects++;
        throw new HandshakeError("rejected", `admission denied: ${(e as Error).message}`);
      }
    }
    return { key: opened.clientPublic, info: opened.info, canMesh };
  }

  #isMeshKey(k: Uint8Array | undefined): boolean {
    if (!k || !this.#meshKey || k.length !== this.#meshKey.length) return false;
    let d = 0;
    for (let i = 0; i < k.length; i++) d |= k[i] ^ this.#meshKey[i];
    return d === 0;
  }

  async #readLoop(c: ServerClient, reader: FrameReader): Promise<void> {
    while (!c.closed) {
      const f = reader.tryFrame(MAX_SERVER_FRAME_LEN);
      if (f === null) {
        if (!(await reader.fill())) return;
        continue;
      }
      this.#onFrame(c, f);
    }
  }

  /**
   * Push delivery (push_conn.ts): frames are handled as bytes arrive, so an idle client
   * holds no pending read. Returns at once; finish runs when the stream ends.
   */
  #pushLoop(
    c: ServerClient,
    conn: PushConn,
    reader: FrameReader,
    finish: (why: string) => void,
  ): Promise<void> {
    const asm = new FrameAssembler();
    const fail = (e: Error) => {
      if (c.closed) return finish("closed by client");
      this.metrics.protocolErrors++;
      finish(e.message);
    };
    const onFrame = (f: Frame) => {
      if (c.closed) return false;
      this.#onFrame(c, f);
    };
    const feed = (chunk: Uint8Array) => {
      if (c.closed) return;
      try {
        asm.push(chunk, MAX_SERVER_FRAME_LEN, onFrame);
      } catch (e) {
        fail(e as Error);
      }
    };
    // Bytes that arrived with the handshake come first.
    const early = reader.takeBuffered();
    if (early.length > 0) feed(early);
    conn.push(feed, (err) => {
      if (err) fail(err);
      else if (asm.partial && !c.closed) fail(new Error("DERP stream ended inside a frame"));
      else finish("closed by client");
    });
    return Promise.resolve();
  }

  /** Handles one frame from a client; throws to close it for a protocol error. */
  #onFrame(c: ServerClient, f: Frame): void {
    const set = this.#clients.get(c.id);
    if (set && set.clients.length > 1 && set.active !== c) set.active = c; // last writer wins
    switch (f.type) {
      case FrameType.SendPacket:
        this.#onSendPacket(c, f.payload);
        break;
      case FrameType.ForwardPacket:
        this.#onForwardPacket(c, f.payload);
        break;
      case FrameType.NotePreferred:
        c.preferred = decodeNotePreferred(f.payload);
        break;
      case FrameType.Ping:
        this.metrics.pings++;
        c.enqueuePong(decodePing(f.payload));
        break;
      case FrameType.WatchConns:
        if (f.payload.length !== 0) throw new Error("WatchConns frame has a payload");
        if (!c.canMesh) throw new Error("WatchConns without the mesh key");
        this.#addWatcher(c);
        break;
      case FrameType.ClosePeer:
        if (f.payload.length !== KEY_LEN) throw new Error("ClosePeer frame has the wrong size");
        if (!c.canMesh) throw new Error("ClosePeer without the mesh key");
        this.#closePeer(c, f.payload);
        break;
      default:
        this.metrics.unknownFrames++;
    }
  }

  #onSendPacket(c: ServerClient, payload: Uint8Array): void {
    if (payload.length < KEY_LEN) throw new Error("SendPacket shorter than a key");
    const packet = payload.subarray(KEY_LEN);
    if (packet.length > MAX_PACKET_SIZE) {
      throw new Error(`SendPacket of ${packet.length} bytes is over the limit`);
    }
    const disco = looksLikeDisco(packet);
    this.metrics.packetsRecv++;
    this.metrics.bytesRecv += packet.length;
    if (disco) this.metrics.packetsRecvDisco++;
    const dstId = keyId(payload.subarray(0, KEY_LEN));
    const set = this.#clients.get(dstId);
    if (set) {
      this.#deliver(set.active, c.key, c.id, packet, disco);
      return;
    }
    const fwds = this.#forwarders.get(dstId);
    if (fwds && fwds.length > 0) {
      this.metrics.packetsForwardedOut++;
      if (!fwds[fwds.length - 1].forwardPacket(c.key, payload.subarray(0, KEY_LEN), packet)) {
        this.metrics.drop("queue_tail", packet.length);
      }
      return;
    }
    this.metrics.drop("unknown_dest", packet.length);
    if (disco) this.#peerGoneNotHere(c, payload.subarray(0, KEY_LEN));
  }

  #onForwardPacket(c: ServerClient, payload: Uint8Array): void {
    if (!c.canMesh) throw new Error("ForwardPacket without the mesh key");
    const fp = decodeForwardPacket(payload);
    if (fp.packet.length > MAX_PACKET_SIZE) {
      throw new Error(`ForwardPacket of ${fp.packet.length} bytes is over the limit`);
    }
    this.metrics.packetsForwardedIn++;
    const disco = looksLikeDisco(fp.packet);
    const set = this.#clients.get(keyId(fp.dst));
    if (!set) {
      // Never re-forward a forwarded packet: that could loop between servers.
      this.metrics.drop("unknown_dest_on_fwd", fp.packet.length);
      if (disco) this.#peerGoneNotHere(c, fp.dst);
      return;
    }
    const src = fp.src.slice();
    this.#deliver(set.active, src, keyId(src), fp.packet, disco);
  }

  #deliver(
    dst: ServerClient,
    src: Uint8Array,
    srcId: string,
    packet: Uint8Array,
    disco: boolean,
  ): void {
    dst.enqueuePacket(src, packet, disco);
    const watching = dst.watching ??= new Set();
    if (!watching.has(srcId)) {
      watching.add(srcId);
      let w = this.#peerGoneWatchers.get(srcId);
      if (!w) this.#peerGoneWatchers.set(srcId, w = new Set());
      w.add(dst);
    }
  }

  #peerGoneNotHere(c: ServerClient, dst: Uint8Array): void {
    const now = Date.now();
    c.peerGoneTokens = Math.min(
      PEER_GONE_NOT_HERE_BURST,
      c.peerGoneTokens + (now - c.peerGoneRefillAt) / 1000 * PEER_GONE_NOT_HERE_PER_SEC,
    );
    c.peerGoneRefillAt = now;
    if (c.peerGoneTokens < 1) return;
    c.peerGoneTokens -= 1;
    if (c.enqueueControl(encodePeerGone(dst, PeerGoneReason.NotHere))) {
      this.metrics.peerGoneNotHere++;
    }
  }

  #presentFlags(c: ServerClient): number {
    let f = 0;
    if (c.info.IsProber) f |= PeerPresentFlags.IsProber;
    if (c.canMesh) f |= PeerPresentFlags.IsMeshPeer;
    if (f === 0) f |= PeerPresentFlags.IsRegular;
    if (c.notIdeal) f |= PeerPresentFlags.NotIdeal;
    return f;
  }

  #register(c: ServerClient): void {
    const set = this.#clients.get(c.id);
    if (set) {
      set.clients.push(c);
      set.active = c;
      this.#logf(
        `derp: client ${
          shortKey(c.key)
        } ${c.remoteAddr} connected again (${set.clients.length} connections for this key; newest is active)`,
      );
    } else {
      this.#clients.set(c.id, { clients: [c], active: c });
      this.#logf(
        `derp: client ${shortKey(c.key)} ${c.remoteAddr} connected${
          c.canMesh ? " (mesh peer)" : ""
        }`,
      );
    }
    const frame = encodePeerPresent(c.key, c.remoteIp16, c.remotePort, this.#presentFlags(c));
    for (const w of this.#watchers) w.enqueueControl(frame);
  }

  #unregister(c: ServerClient): void {
    this.#watchers.delete(c);
    for (const srcId of c.watching ?? []) {
      const w = this.#peerGoneWatchers.get(srcId);
      if (w) {
        w.delete(c);
        if (w.size === 0) this.#peerGoneWatchers.delete(srcId);
      }
    }
    c.watching = null;
    const set = this.#clients.get(c.id);
    if (!set) return;
    const i = set.clients.indexOf(c);
    if (i < 0) return;
    set.clients.splice(i, 1);
    if (set.clients.length > 0) {
      if (set.active === c) set.active = set.clients[set.clients.length - 1];
      return;
    }
    this.#clients.delete(c.id);
    if (!this.#forwarders.has(c.id)) this.#notePeerGoneFromRegion(c.id, c.key);
    const frame = encodePeerGone(c.key, PeerGoneReason.Disconnected);
    for (const w of this.#watchers) w.enqueueControl(frame);
  }

  #notePeerGoneFromRegion(id: string, key: Uint8Array): void {
    const w = this.#peerGoneWatchers.get(id);
    if (!w) return;
    this.#peerGoneWatchers.delete(id);
    const frame = encodePeerGone(key, PeerGoneReason.Disconnected);
    for (const dst of w) {
      dst.watching?.delete(id);
      if (dst.enqueueControl(frame)) this.metrics.peerGoneDisconnected++;
    }
  }

  #addWatcher(c: ServerClient): void {
    if (c.id === keyId(this.publicKey)) return; // our own mesh client dialled us
    for (const set of this.#clients.values()) {
      const a = set.active;
      c.enqueueControl(encodePeerPresent(a.key, a.remoteIp16, a.remotePort, this.#presentFlags(a)));
    }
    this.#watchers.add(c);
    this.#logf(`derp: mesh peer ${shortKey(c.key)} ${c.remoteAddr} is watching connections`);
  }

  #closePeer(by: ServerClient, key: Uint8Array): void {
    const set = this.#clients.get(keyId(key));
    if (!set) return;
    this.#logf(`derp: mesh peer ${shortKey(by.key)} closed client ${shortKey(key)}`);
    for (const c of [...set.clients]) c.close();
  }

  /** Registers a mesh route: key is reachable through fwd. */
  addPacketForwarder(key: Uint8Array, fwd: PacketForwarder): void {
    const id = keyId(key);
    const list = this.#forwarders.get(id);
    if (!list) this.#forwarders.set(id, [fwd]);
    else if (!list.includes(fwd)) list.push(fwd);
  }

  /** Removes a mesh route; if the key is then nowhere in the region, its senders get PeerGone. */
  removePacketForwarder(key: Uint8Array, fwd: PacketForwarder): void {
    const id = keyId(key);
    const list = this.#forwarders.get(id);
    if (!list) return;
    const i = list.indexOf(fwd);
    if (i < 0) return;
    list.splice(i, 1);
    if (list.length > 0) return;
    this.#forwarders.delete(id);
    if (!this.#clients.has(id)) this.#notePeerGoneFromRegion(id, key.slice());
  }

  #sweepClients(): void {
    const now = Date.now();
    for (const set of this.#clients.values()) {
      for (const c of set.clients) {
        if (c.writeStartedAt !== 0 && now - c.writeStartedAt > c.writeTimeoutMs) {
          this.metrics.writeTimeouts++;
          this.#logf(`derp: client ${shortKey(c.key)} ${c.remoteAddr} write timed out; closing`);
          c.close();
          continue;
        }
        if (now >= c.nextKeepAliveAt) {
          c.nextKeepAliveAt = now + this.#keepAliveMs + Math.random() * this.#jitterMs;
          if (c.enqueueControl(encodeKeepAlive())) this.metrics.keepAlives++;
        }
      }
    }
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
    for (const conn of this.#pending) closeQuietly(conn);
    const all: ServerClient[] = [];
    for (const set of this.#clients.values()) all.push(...set.clients);
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

/** A handshake failure with a short reason label for metrics. */
class HandshakeError extends Error {
  constructor(readonly reason: string, message: string) {
    super(message);
    this.name = "HandshakeError";
  }
}

function handshakeReason(e: unknown): string {
  return e instanceof HandshakeError ? e.reason : "io";
}

function safeIp16(host: string): Uint8Array {
  try {
    return to16(parseIp(host));
  } catch {
    return new Uint8Array(16);
  }
}
