/**
 * The HTTP/2 application a TS2021 connection carries: `POST /machine/register`,
 * `POST /machine/map` (streaming and lite updates) and Headscale's 501 stubs.
 * It runs over any node:stream Duplex — the Noise connection in production,
 * plain h2c in tests — and knows the Noise machine key of that connection.
 *
 * @module
 */

import { concatBytes } from "../../src/bytes/concat.ts";
import http2 from "node:http2";
import type { Duplex } from "node:stream";
import { NOISE_BODY_LIMIT } from "./constants.ts";
import { buildFromChange, fullMapResponse } from "./mapper.ts";
import type { ControlReply } from "./control_reply.ts";
import type { Tailnet } from "./tailnet.ts";
import type { Change, Json, Logf, NodeRecord } from "./types.ts";
import { encodeMapMessage } from "./map_message.ts";
import type { MapResponse } from "../../src/netmap/tailcfg.ts";
import { PING_RESPONSE_PATH, type PingBook } from "./pings.ts";

// Paths Headscale routes to NotImplementedHandler.
const NOT_IMPLEMENTED = new Set([
  "/machine/whoami",
  "/machine/set-dns",
  "/machine/set-device-attr",
  "/machine/audit-log",
  "/machine/id-token",
  "/machine/feature/query",
  "/machine/update-health",
  "/machine/c2n",
]);

/** One live HTTP/2 connection. */
interface Conn {
  session?: http2.Http2Session;
  duplex: Duplex;
  machineKey: string;
}

/**
 * Serves control requests on HTTP/2 connections.
 *
 * @example
 * ```ts ignore
 * const app = new ControlApp(tailnet);
 * app.serveConnection(noiseDuplex(noiseConn), "mkey:…");
 * ```
 */
export class ControlApp {
  readonly #tailnet: Tailnet;
  readonly #logf: Logf;
  readonly #conns = new Set<Conn>();
  readonly #streams = new Set<MapStream>();
  readonly #pings: PingBook | undefined;

  /** Creates the application over a tailnet; with pings, it takes ping answers over Noise. */
  constructor(tailnet: Tailnet, logf: Logf = () => {}, pings?: PingBook) {
    this.#tailnet = tailnet;
    this.#logf = logf;
    this.#pings = pings;
  }

  /** Number of open map streams. */
  get streamCount(): number {
    return this.#streams.size;
  }

  /** Starts HTTP/2 on a connection whose client proved this machine key. */
  serveConnection(duplex: Duplex, machineKey: string): void {
    const conn: Conn = { duplex, machineKey };
    this.#conns.add(conn);
    duplex.on("close", () => this.#conns.delete(conn));
    duplex.on("error", () => {});
    // One server per connection, so every stream knows its connection's machine key.
    const server = http2.createServer();
    server.on("session", (session: http2.Http2Session) => {
      conn.session = session;
      session.on("error", () => {});
    });
    server.on("stream", (stream, headers) => {
      this.#handle(conn, stream, headers).catch((e) => {
        this.#logf(`control: request failed: ${(e as Error).message}`);
        if (!stream.destroyed) stream.destroy();
      });
    });
    server.emit("connection", duplex);
  }

  /** Drops every connection and map stream (a control outage, or shutdown). */
  closeAll(): void {
    for (const s of [...this.#streams]) s.close();
    for (const c of [...this.#conns]) {
      c.session?.destroy();
      c.duplex.destroy();
    }
    this.#conns.clear();
  }

  async #handle(
    conn: Conn,
    stream: http2.ServerHttp2Stream,
    headers: http2.IncomingHttpHeaders,
  ): Promise<void> {
    const method = String(headers[":method"] ?? "");
    const path = String(headers[":path"] ?? "").split("?")[0];
    stream.on("error", () => {});
    if (path === PING_RESPONSE_PATH && this.#pings && (method === "HEAD" || method === "POST")) {
      const body = await readBody(stream) ?? new Uint8Array(0);
      const ok = this.#pings.complete(String(headers[":path"]), method, true, body);
      return reply(
        stream,
        ok ? { status: 200, body: "" } : {
          status: 404,
          body: "unknown or expired ping",
        },
      );
    }
    if (NOT_IMPLEMENTED.has(path)) {
      await readBody(stream);
      return reply(stream, { status: 501, body: "Not implemented yet" });
    }
    if (path !== "/machine/register" && path !== "/machine/map") {
      await readBody(stream);
      return reply(stream, { status: 404, body: "404 page not found" });
    }
    if (method !== "POST") {
      await readBody(stream);
      return reply(stream, { status: 405, body: "method not allowed" });
    }
    const raw = await readBody(stream);
    if (raw === null) return reply(stream, { status: 413, body: "request body too large" });
    let body: unknown;
    try {
      body = JSON.parse(new TextDecoder().decode(raw));
    } catch (e) {
      const text = `invalid JSON: ${(e as Error).message}`;
      // Headscale answers a register body it cannot decode as HTTP 200 with Error.
      if (path === "/machine/register") {
        return reply(stream, { status: 200, body: { Error: text } });
      }
      return reply(stream, { status: 400, body: text });
    }
    if (path === "/machine/register") {
      const ac = new AbortController();
      stream.on("close", () => ac.abort());
      const r = await this.#tailnet.register(body, conn.machineKey, ac.signal);
      this.#logf(
        `register ${conn.machineKey.slice(0, 13)} → ${r.status}` +
          (typeof r.body === "object" && r.body.Error ? ` error=${r.body.Error}` : "") +
          (typeof r.body === "object" && r.body.AuthURL ? ` authURL=${r.body.AuthURL}` : ""),
      );
      return reply(stream, r);
    }
    const found = this.#tailnet.nodeForMapRequest(body, conn.machineKey);
    if (!("id" in found)) return reply(stream, found);
    const req = body as Json;
    if (req.Stream !== true) {
      this.#tailnet.emit(this.#tailnet.applyMapRequest(found, req));
      this.#logf(`map lite update from node ${found.id}`);
      stream.respond({ ":status": 200 });
      stream.end();
      return;
    }
    const s = new MapStream(this.#tailnet, found, req, stream, this.#logf);
    this.#streams.add(s);
    s.onClose = () => this.#streams.delete(s);
    s.start();
  }
}

/** One long-poll map stream. */
class MapStream {
  readonly #tailnet: Tailnet;
  readonly #node: NodeRecord;
  readonly #req: Json;
  readonly #stream: http2.ServerHttp2Stream;
  readonly #logf: Logf;
  readonly #zstd: boolean;
  readonly #capVer: number;
  #unsubscribe: () => void = () => {};
  #keepAlive: ReturnType<typeof setTimeout> | undefined;
  #closed = false;
  #connected = false;
  onClose: () => void = () => {};

  constructor(
    tailnet: Tailnet,
    node: NodeRecord,
    req: Json,
    stream: http2.ServerHttp2Stream,
    logf: Logf,
  ) {
    this.#tailnet = tailnet;
    this.#node = node;
    this.#req = req;
    this.#stream = stream;
    this.#logf = logf;
    this.#zstd = req.Compress === "zstd";
    this.#capVer = Number(req.Version);
  }

  start(): void {
    this.#stream.respond({ ":status": 200, "content-type": "application/json; charset=utf-8" });
    this.#stream.on("close", () => this.close());
    const delay = this.#tailnet.config.firstMapDelayMs;
    if (delay > 0) {
      this.#keepAlive = setTimeout(() => this.#begin(), delay);
    } else {
      this.#begin();
    }
  }

  #begin(): void {
    if (this.#closed) return;
    const t = this.#tailnet;
    // Headscale: apply the request, mark online, send the full map, then announce both.
    // Changes from before this point are in the full map, so subscribe only now.
    const reqChange = t.applyMapRequest(this.#node, this.#req);
    const online = t.connect(this.#node);
    this.#connected = true;
    this.#unsubscribe = t.subscribe((c) => this.#onChange(c));
    this.#logf(`map stream opened for node ${this.#node.id} ${this.#node.givenName}`);
    this.#write(fullMapResponse(t, this.#node.id, this.#capVer));
    t.emit(reqChange);
    t.emit(online);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#unsubscribe();
    clearTimeout(this.#keepAlive);
    if (!this.#stream.destroyed) this.#stream.destroy();
    this.#logf(`map stream closed for node ${this.#node.id} ${this.#node.givenName}`);
    if (this.#connected && this.#tailnet.node(this.#node.id)) {
      this.#tailnet.disconnect(this.#node);
    }
    this.onClose();
  }

  #onChange(c: Change): void {
    if (this.#closed) return;
    if (c.peersRemoved?.includes(this.#node.id) || !this.#tailnet.node(this.#node.id)) {
      this.close();
      return;
    }
    const msg = buildFromChange(this.#tailnet, this.#node.id, this.#capVer, c);
    if (msg) this.#write(msg);
  }

  #write(msg: MapResponse): void {
    if (this.#closed || this.#stream.destroyed) return;
    this.#stream.write(encodeMapMessage(msg, this.#zstd));
    this.#armKeepAlive();
  }

  #armKeepAlive(): void {
    clearTimeout(this.#keepAlive);
    const cfg = this.#tailnet.config;
    const ms = cfg.keepAliveMs + Math.floor(Math.random() * (cfg.keepAliveJitterMs + 1));
    this.#keepAlive = setTimeout(() => this.#write({ KeepAlive: true }), ms);
  }
}

/** Reads a request body; null if it exceeds the Noise body limit. */
async function readBody(stream: http2.ServerHttp2Stream): Promise<Uint8Array | null> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of stream) {
    total += (chunk as Uint8Array).length;
    if (total > NOISE_BODY_LIMIT) return null;
    chunks.push(chunk as Uint8Array);
  }
  return concatBytes(chunks);
}

function reply(stream: http2.ServerHttp2Stream, r: ControlReply): void {
  if (stream.destroyed) return;
  if (typeof r.body === "string") {
    stream.respond({ ":status": r.status, "content-type": "text/plain; charset=utf-8" });
    stream.end(r.body + "\n");
  } else {
    stream.respond({ ":status": r.status, "content-type": "application/json; charset=utf-8" });
    stream.end(JSON.stringify(r.body) + "\n");
  }
}
