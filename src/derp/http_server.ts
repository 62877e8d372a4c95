/**
 * The HTTP/1.1 front end of `warren tun derp`: the `/derp` upgrade (DERP and
 * WebSocket), probe and captive-portal endpoints, a status page and /metrics.
 * Written over raw connections because the DERP upgrade needs the socket itself.
 *
 * @module
 */

import { closeQuietly, type DuplexConn, writeAll } from "./conn.ts";
import {
  CHALLENGE_HEADER,
  CHALLENGE_RESPONSE_HEADER,
  FAST_START_HEADER,
  HANDSHAKE_TIMEOUT_MS,
  IDEAL_NODE_HEADER,
  PROTOCOL_VERSION,
} from "./constants.ts";
import { type HttpHead, httpResponse, readHttpHead } from "./http_head.ts";
import { webSocketAccept, WebSocketConn } from "./http_websocket.ts";
import type { DerpServer } from "./server.ts";
import { isPushConn } from "./push_conn.ts";
import type { FfiTcpListener } from "./ffi_listener.ts";
import type { FfiTlsListener } from "./ffi_tls_listener.ts";
import { Deadlines } from "./deadlines.ts";
import { TokenBucket } from "../net/token_bucket.ts";
import { toHex } from "../bytes/hex.ts";

/** Options of {@link DerpHttpServer}. */
export interface DerpHttpOptions {
  /** The DERP core. */
  server: DerpServer;
  /** Most TCP connections open at once (default 65536); more are refused with 503. */
  maxConns?: number;
  /**
   * Accepted connections per second, and burst, beyond which new ones are closed at once
   * (derper's --accept-connection-limit/--accept-connection-burst); default unlimited.
   */
  acceptLimit?: { perSecond: number; burst: number };
  /** Time to receive a request head and finish the DERP handshake. */
  handshakeTimeoutMs?: number;
  /** Extra lines for the status page. */
  statusLines?: () => string[];
  /** What `/bootstrap-dns` serves (absent: an empty map). */
  bootstrapDns?: { respond(q: string | null): string };
  /** Log one line per event. */
  logf?: (line: string) => void;
}

/** Largest request head accepted. */
const MAX_HEAD_BYTES = 16 * 1024;
/** Largest request body we read and discard on non-upgrade requests. */
const MAX_DISCARD_BODY = 64 * 1024;

const NO_CACHE = "no-cache, no-store, must-revalidate, no-transform, max-age=0";

/** Serves HTTP and DERP on any number of listeners. */
export class DerpHttpServer {
  readonly #server: DerpServer;
  readonly #maxConns: number;
  readonly #acceptLimit: TokenBucket | null;
  readonly #timeoutMs: number;
  readonly #statusLines: () => string[];
  readonly #bootstrapDns: { respond(q: string | null): string } | undefined;
  readonly #logf: (line: string) => void;
  readonly #listeners = new Set<{ close(): void }>();
  readonly #conns = new Set<DuplexConn>();
  readonly #started = Date.now();
  /** The DERP upgrade response: the same bytes for every client. */
  readonly #derpUpgrade: Uint8Array;
  /** Connections waiting for a request head, closed at their deadline. */
  readonly #heads = new Deadlines<DuplexConn>((conn) => closeQuietly(conn));
  /** One close callback for every push connection (a closure each would stay with it). */
  readonly #pushClosed = (conn: DuplexConn) => this.#release(conn);

  /** Creates the front end for a DERP server. */
  constructor(opts: DerpHttpOptions) {
    this.#server = opts.server;
    this.#maxConns = opts.maxConns ?? 65536;
    const l = opts.acceptLimit;
    this.#acceptLimit = l && l.perSecond !== Infinity
      ? new TokenBucket(l.perSecond, l.burst, performance.now())
      : null;
    this.#timeoutMs = opts.handshakeTimeoutMs ?? HANDSHAKE_TIMEOUT_MS;
    this.#statusLines = opts.statusLines ?? (() => []);
    this.#bootstrapDns = opts.bootstrapDns;
    this.#logf = opts.logf ?? (() => {});
    this.#derpUpgrade = httpResponse(101, "Switching Protocols", {
      Upgrade: "DERP",
      Connection: "Upgrade",
      "Derp-Version": String(PROTOCOL_VERSION),
      "Derp-Public-Key": toHex(this.#server.publicKey),
    });
  }

  /**
   * Accepts connections from listener until it is closed. For an {@link FfiTcpListener}
   * it resolves once its connections are closed too (see {@link closeAll}).
   */
  async serve(listener: Deno.Listener | FfiTcpListener | FfiTlsListener): Promise<void> {
    if ("serveConns" in listener) {
      this.#listeners.add(listener);
      try {
        await listener.serveConns((conn, host, port) => {
          this.handleConn(conn, host, port).catch(() => {});
        });
      } finally {
        this.#listeners.delete(listener);
      }
      return;
    }
    this.#listeners.add(listener);
    try {
      for (;;) {
        let conn: Deno.Conn;
        try {
          conn = await listener.accept();
        } catch (e) {
          if (e instanceof Deno.errors.BadResource || e instanceof Deno.errors.Interrupted) return;
          // Out of file descriptors and the like: back off a moment, keep serving.
          this.#logf(`derp: accept failed: ${(e as Error).message}`);
          await new Promise((r) => setTimeout(r, 100));
          continue;
        }
        const addr = conn.remoteAddr as Deno.NetAddr;
        const tcp = conn as Partial<Deno.TcpConn>;
        try {
          tcp.setNoDelay?.(true);
          tcp.setKeepAlive?.(true);
        } catch {
          // Not fatal: the socket may already be gone.
        }
        const host = addr.hostname.startsWith("::ffff:") && addr.hostname.includes(".")
          ? addr.hostname.slice(7)
          : addr.hostname;
        this.handleConn(conn, host, addr.port).catch(() => {});
      }
    } finally {
      this.#listeners.delete(listener);
    }
  }

  /** Stops accepting; open connections are left to {@link DerpServer.close}. */
  closeListeners(): void {
    for (const l of this.#listeners) closeQuietly(l);
  }

  /** Closes every connection still open (after the DERP server flushed its goodbyes). */
  closeAll(): void {
    this.closeListeners();
    for (const c of this.#conns) closeQuietly(c);
  }

  /** Serves one connection; never rejects for network input. */
  handleConn(conn: DuplexConn, remoteHost: string, remotePort: number): Promise<void> {
    const m = this.#server.metrics;
    m.accepts++;
    if (this.#acceptLimit && !this.#acceptLimit.allow(performance.now())) {
      // As derper: close at once rather than accept slowly, so nothing piles up in the kernel
      // and the client's backoff takes over.
      m.refusedRateLimit++;
      closeQuietly(conn);
      return Promise.resolve();
    }
    if (this.#conns.size >= this.#maxConns) {
      m.refusedMaxConns++;
      return writeAll(
        conn,
        httpResponse(503, "Service Unavailable", { Connection: "close" }, "too many connections\n"),
      ).catch(() => {}).finally(() => closeQuietly(conn));
    }
    this.#conns.add(conn);
    m.connections++;
    const done = () => this.#release(conn);
    if (isPushConn(conn)) {
      // Once the DERP core takes it over in push mode, the connection outlives this
      // promise chain and reports its own end.
      conn.onClose = this.#pushClosed;
      const after = () => {
        if (!conn.pushing) done();
      };
      return this.#serveRequests(conn, remoteHost, remotePort).then(after, done);
    }
    // A promise chain, not an awaiting async frame: cheaper for long-lived connections.
    return this.#serveRequests(conn, remoteHost, remotePort).then(done, done);
  }

  /** Forgets and closes conn, once. */
  #release(conn: DuplexConn): void {
    if (!this.#conns.delete(conn)) return;
    this.#server.metrics.connections--;
    closeQuietly(conn);
  }

  async #serveRequests(conn: DuplexConn, remoteHost: string, remotePort: number): Promise<void> {
    let rest: Uint8Array | undefined;
    for (;;) {
      const deadline = Date.now() + this.#timeoutMs;
      this.#heads.add(conn, deadline);
      let head: HttpHead | null;
      try {
        head = await readHttpHead(conn, MAX_HEAD_BYTES, rest);
      } catch (e) {
        // Gone from the deadlines means the deadline closed it.
        const timedOut = !this.#heads.delete(conn);
        const why = timedOut ? "timeout" : "bad_http";
        this.#server.metrics.handshakeFailure(why);
        if (!timedOut) {
          await writeAll(
            conn,
            httpResponse(400, "Bad Request", { Connection: "close" }, "bad request\n"),
          )
            .catch(() => {});
        }
        this.#logf(
          `derp: HTTP from ${remoteHost}:${remotePort} failed: ${
            timedOut ? "no complete request within the deadline" : (e as Error).message
          }`,
        );
        return;
      }
      this.#heads.delete(conn);
      if (!head) return;
      const [method, target, version] = head.startLine;
      const path = (target ?? "").split("?")[0];
      if (path === "/derp" && isUpgrade(head)) {
        // The handshake deadline continues inside DerpServer.accept.
        return this.#upgrade(conn, head, remoteHost, remotePort, deadline);
      }
      const body = await this.#discardBody(conn, head);
      if (body === null) return;
      rest = body;
      const res = this.#route(method, path, head, target ?? "");
      const close = (head.headers.get("connection") ?? "").toLowerCase().includes("close") ||
        version === "HTTP/1.0";
      if (close) res.headers["Connection"] = "close";
      let bytes = httpResponse(res.status, res.reason, res.headers, res.body);
      if (method === "HEAD") {
        bytes = httpResponse(res.status, res.reason, {
          ...res.headers,
          "Content-Length": String(new TextEncoder().encode(res.body).length),
        });
      }
      try {
        await writeAll(conn, bytes);
      } catch {
        return;
      }
      if (close) return;
    }
  }

  /** Reads and drops a small request body; returns bytes past it, or null to close. */
  async #discardBody(conn: DuplexConn, head: HttpHead): Promise<Uint8Array | null> {
    if (head.headers.has("transfer-encoding")) return null;
    const n = Number(head.headers.get("content-length") ?? "0");
    if (!Number.isSafeInteger(n) || n < 0 || n > MAX_DISCARD_BODY) return null;
    let have = head.rest;
    while (have.length < n) {
      const b = new Uint8Array(n - have.length);
      const r = await conn.read(b).catch(() => null);
      if (r === null) return null;
      const next = new Uint8Array(have.length + r);
      next.set(have);
      next.set(b.subarray(0, r), have.length);
      have = next;
    }
    return have.slice(n);
  }

  async #upgrade(
    conn: DuplexConn,
    head: HttpHead,
    remoteHost: string,
    remotePort: number,
    deadline: number,
  ): Promise<void> {
    const up = (head.headers.get("upgrade") ?? "").toLowerCase();
    const proto = head.headers.get("sec-websocket-protocol") ?? "";
    const idealNode = head.headers.get(IDEAL_NODE_HEADER.toLowerCase());
    if (up === "websocket" && proto.includes("derp")) {
      const key = head.headers.get("sec-websocket-key");
      if (!key) {
        await writeAll(conn, httpResponse(400, "Bad Request", {}, "missing Sec-WebSocket-Key\n"))
          .catch(() => {});
        return;
      }
      const ok = await writeAll(
        conn,
        httpResponse(101, "Switching Protocols", {
          Upgrade: "websocket",
          Connection: "Upgrade",
          "Sec-WebSocket-Accept": webSocketAccept(key),
          "Sec-WebSocket-Protocol": "derp",
        }),
      ).then(() => true, () => false);
      if (!ok) return;
      const ws = new WebSocketConn(conn, false, head.rest);
      return this.#server.accept(ws, { remoteHost, remotePort, deadline, idealNode });
    }
    if (head.headers.get(FAST_START_HEADER.toLowerCase()) === "1") {
      this.#server.metrics.fastStarts++;
    } else {
      const ok = await writeAll(conn, this.#derpUpgrade).then(() => true, () => false);
      if (!ok) return;
    }
    return this.#server.accept(conn, {
      remoteHost,
      remotePort,
      initialBytes: head.rest,
      deadline,
      idealNode,
    });
  }

  #route(
    method: string,
    path: string,
    head: HttpHead,
    target: string,
  ): { status: number; reason: string; headers: Record<string, string>; body: string } {
    const text = { "Content-Type": "text/plain; charset=utf-8" };
    switch (path) {
      case "/derp":
        return {
          status: 426,
          reason: "Upgrade Required",
          headers: text,
          body: "DERP requires connection upgrade\n",
        };
      case "/derp/probe":
      case "/derp/latency-check":
        if (method !== "GET" && method !== "HEAD") {
          return {
            status: 405,
            reason: "Method Not Allowed",
            headers: text,
            body: "bogus probe method\n",
          };
        }
        return {
          status: 200,
          reason: "OK",
          headers: { "Access-Control-Allow-Origin": "*" },
          body: "",
        };
      case "/generate_204": {
        const h: Record<string, string> = { "Cache-Control": NO_CACHE };
        const ch = head.headers.get(CHALLENGE_HEADER.toLowerCase());
        if (ch && ch.length <= 64 && /^[A-Za-z0-9._:-]*$/.test(ch)) {
          h[CHALLENGE_RESPONSE_HEADER] = `response ${ch}`;
        }
        return { status: 204, reason: "No Content", headers: h, body: "" };
      }
      case "/metrics":
        return {
          status: 200,
          reason: "OK",
          headers: { "Content-Type": "text/plain; version=0.0.4; charset=utf-8" },
          body: this.#server.metrics.toPrometheus({ ...this.#server.gauges(), ...memoryGauges() }),
        };
      case "/bootstrap-dns": {
        let q: string | null = null;
        try {
          q = new URL(target, "http://derp").searchParams.get("q");
        } catch {
          // A target that is no URL asks for nothing in particular.
        }
        return {
          status: 200,
          reason: "OK",
          headers: { "Content-Type": "application/json", Connection: "close" },
          body: this.#bootstrapDns?.respond(q) ?? "{}",
        };
      }
      case "/robots.txt":
        return { status: 200, reason: "OK", headers: text, body: "User-agent: *\nDisallow: /\n" };
      case "/":
        return {
          status: 200,
          reason: "OK",
          headers: { "Content-Type": "text/html; charset=utf-8" },
          body: this.#statusPage(),
        };
      default:
        return { status: 404, reason: "Not Found", headers: text, body: "not found\n" };
    }
  }

  #statusPage(): string {
    const g = this.#server.gauges();
    const m = this.#server.metrics;
    const esc = (s: string) =>
      s.replace(/[&<>"]/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;" })[c]!);
    const rows = [
      ["server key", `nodekey:${toHex(this.#server.publicKey)}`],
      ["uptime", `${Math.round((Date.now() - this.#started) / 1000)} s`],
      ["connections", String(m.connections)],
      ["clients", String(g.clients)],
      ["home clients", String(g.home_clients)],
      ["mesh peers", String(g.mesh_peers_connected)],
      ["packets relayed", String(m.packetsSent)],
      ["packets dropped", String(m.totalDrops)],
      ...this.#statusLines().map((l) => {
        const i = l.indexOf(": ");
        return i < 0 ? [l, ""] : [l.slice(0, i), l.slice(i + 2)];
      }),
    ];
    return `<!doctype html><html><head><meta charset="utf-8"><title>warren DERP</title></head>` +
      `<body><h1>warren DERP relay</h1><p>This is a <a href="https://tailscale.com/kb/1232/derp-servers">DERP</a> relay server.</p><table>` +
      rows.map(([k, v]) => `<tr><th align="left">${esc(k)}</th><td>${esc(v)}</td></tr>`).join("") +
      `</table><p><a href="/metrics">metrics</a></p></body></html>\n`;
  }
}

/** Process memory figures for /metrics (bytes). */
function memoryGauges(): Record<string, number> {
  const m = Deno.memoryUsage();
  return {
    process_resident_memory_bytes: m.rss,
    js_heap_used_bytes: m.heapUsed,
    js_heap_total_bytes: m.heapTotal,
    js_external_memory_bytes: m.external,
  };
}

function isUpgrade(head: HttpHead): boolean {
  const up = (head.headers.get("upgrade") ?? "").toLowerCase();
  return up === "derp" || up === "websocket";
}
