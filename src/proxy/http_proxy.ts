/**
 * The HTTP proxy behind `--outbound-http-proxy-listen`: CONNECT (200, then a
 * raw tunnel) and plain absolute-URI requests (`GET http://host:port/path`),
 * forwarded in origin form with hop-by-hop fields removed and the response
 * streamed back. Optional Basic proxy authentication (407).
 *
 * Deliberately simple: one request per connection. The request goes upstream
 * with `Connection: close`, the response comes back with `Connection: close`,
 * and both connections close after it; clients reconnect for the next one.
 * Bodies travel byte for byte both ways (framing included), so chunked
 * uploads and downloads work without the proxy decoding them.
 *
 * @module
 */

import { ConnTracker } from "./conn_tracker.ts";
import { splitHostPort } from "../net/ip.ts";
import { ByteReader } from "./byte_reader.ts";
import {
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  MAX_HTTP_HEAD_BYTES,
} from "./constants.ts";
import {
  decodeHead,
  encodeHead,
  fieldValue,
  type HeaderField,
  type HttpHead,
  stripHopByHop,
} from "./http_head.ts";
import { relay } from "./relay.ts";
import { credentialsMatch, type ProxyCredentials } from "./credentials.ts";
import { dialFailureOf } from "./types.ts";
import type { AcceptedConn, ProxyConn, ProxyDialer } from "./types.ts";

/** Options for {@linkcode HttpProxyServer}. */
export interface HttpProxyOptions {
  /** Where requests and tunnels go. */
  dialer: ProxyDialer;
  /** When set, requests need `Proxy-Authorization: Basic …` with these, else 407. */
  credentials?: ProxyCredentials;
  /** Time a client has to send its request head; default 10 s. */
  handshakeTimeoutMs?: number;
  /** Time a dial may take before 504; default 15 s. */
  dialTimeoutMs?: number;
  /** Concurrent connections; more get 503; default 1024. */
  maxConnections?: number;
  /** Receives one line per notable event. */
  log?: (line: string) => void;
}

const STATUS_TEXT: Record<number, string> = {
  400: "Bad Request",
  407: "Proxy Authentication Required",
  502: "Bad Gateway",
  503: "Service Unavailable",
  504: "Gateway Timeout",
};

/**
 * Serves the HTTP proxy protocol on accepted connections.
 *
 * @example
 * ```ts ignore
 * import { fromDenoConn } from "./deno_conn.ts";
 * import { hostDialer } from "./host_dialer.ts";
 * import { HttpProxyServer } from "./http_proxy.ts";
 * const server = new HttpProxyServer({ dialer: hostDialer() });
 * for await (const c of Deno.listen({ port: 8080 })) server.handle(fromDenoConn(c));
 * ```
 */
export class HttpProxyServer {
  #opts: HttpProxyOptions;
  readonly #conns: ConnTracker;

  /** Configures the server; it serves nothing until {@linkcode handle} is called. */
  constructor(opts: HttpProxyOptions) {
    this.#opts = opts;
    this.#conns = new ConnTracker(
      opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      "http proxy",
      opts.log,
    );
  }

  /** Connections being served now. */
  get connections(): number {
    return this.#conns.size;
  }

  /** Serves one client connection to its end and closes it. Never rejects. */
  async handle(conn: AcceptedConn): Promise<void> {
    await this.#conns.serve(
      conn,
      (c) => this.#serve(c),
      (c) => writeError(c, 503, "too many connections"),
    );
  }

  /** Closes every connection; later ones are refused. */
  close(): void {
    this.#conns.close();
  }

  #log(line: string): void {
    this.#opts.log?.(line);
  }

  async #serve(conn: AcceptedConn): Promise<void> {
    const timer = setTimeout(
      () => conn.close(),
      this.#opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    );
    const reader = new ByteReader(conn.readable, MAX_HTTP_HEAD_BYTES);
    let head: HttpHead;
    try {
      head = await reader.read("HTTP request head", decodeHead);
    } catch (err) {
      if (err instanceof SyntaxError || err instanceof RangeError) {
        await writeError(conn, 400, err.message);
      }
      throw err;
    } finally {
      clearTimeout(timer);
    }
    const [method, target, version] = head.start;
    if (!this.#authorized(head.fields)) {
      await writeError(conn, 407, "proxy authentication required", [
        ["Proxy-Authenticate", 'Basic realm="warren"'],
      ]);
      return;
    }
    if (method === "CONNECT") {
      let dest;
      try {
        dest = splitHostPort(target);
      } catch (err) {
        await writeError(conn, 400, errText(err));
        return;
      }
      const upstream = await this.#dial(conn, dest.host, dest.port);
      if (upstream === null) return;
      const w = conn.writable.getWriter();
      try {
        await w.write(new TextEncoder().encode(`${version} 200 Connection established\r\n\r\n`));
      } catch (err) {
        upstream.close();
        throw err;
      }
      w.releaseLock();
      await relay(conn, upstream, { toUpstream: reader.release() });
      return;
    }
    let url: URL;
    try {
      url = new URL(target);
    } catch {
      await writeError(
        conn,
        400,
        `not a proxy request: ${JSON.stringify(target)} is not an absolute URI`,
      );
      return;
    }
    if (url.protocol !== "http:") {
      await writeError(conn, 400, `unsupported scheme ${url.protocol} (use CONNECT for https)`);
      return;
    }
    const host = url.hostname.startsWith("[") ? url.hostname.slice(1, -1) : url.hostname;
    const port = url.port === "" ? 80 : Number(url.port);
    const upstream = await this.#dial(conn, host, port);
    if (upstream === null) return;
    await this.#forward(conn, reader, upstream, head, url);
  }

  async #forward(
    conn: AcceptedConn,
    reader: ByteReader,
    upstream: ProxyConn,
    head: HttpHead,
    url: URL,
  ): Promise<void> {
    const [method, , version] = head.start;
    // RFC 9112 §3.2.2: the Host field is replaced by the target URI's authority.
    const fields: HeaderField[] = [
      ["Host", url.host],
      ...stripHopByHop(head.fields).filter(([n]) => n.toLowerCase() !== "host"),
      ["Connection", "close"],
    ];
    try {
      const up = upstream.writable.getWriter();
      await up.write(encodeHead(`${method} ${url.pathname}${url.search} ${version}`, fields));
      const early = reader.release();
      if (early.length > 0) await up.write(early);
      up.releaseLock();
      // The body (if any) streams on while we wait for the response head.
      conn.readable.pipeTo(upstream.writable).catch(() => {});
      const resp = new ByteReader(upstream.readable, MAX_HTTP_HEAD_BYTES);
      const out = conn.writable.getWriter();
      while (true) {
        let rh: HttpHead;
        try {
          rh = await resp.read("HTTP response head", decodeHead);
        } catch (err) {
          out.releaseLock();
          await writeError(conn, 502, `bad response from ${url.host}: ${errText(err)}`);
          return;
        }
        // 1xx (100 Continue, 103 Early Hints) precede the real response: pass them on as they are.
        const interim = /^1\d\d$/.test(rh.start[1]) && rh.start[1] !== "101";
        const fields = stripHopByHop(rh.fields);
        if (!interim) fields.push(["Connection", "close"]);
        await out.write(encodeHead(rh.start.join(" ").trimEnd(), fields));
        if (!interim) break;
      }
      const rest = resp.release();
      if (rest.length > 0) await out.write(rest);
      out.releaseLock();
      // Upstream closes after the response (we asked it to), which ends this.
      await upstream.readable.pipeTo(conn.writable);
    } finally {
      upstream.close();
    }
  }

  async #dial(conn: AcceptedConn, host: string, port: number): Promise<ProxyConn | null> {
    const signal = AbortSignal.any([
      this.#conns.signal,
      AbortSignal.timeout(this.#opts.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS),
    ]);
    try {
      return await this.#opts.dialer.dialTcp(host, port, signal);
    } catch (err) {
      const kind = signal.aborted ? "timeout" : dialFailureOf(err);
      this.#log(`http proxy: dial ${host}:${port}: ${errText(err)}`);
      const why = kind === "timeout"
        ? "timed out"
        : kind === "refused"
        ? "connection refused"
        : kind === "unreachable"
        ? "host unreachable"
        : errText(err);
      await writeError(
        conn,
        kind === "timeout" ? 504 : 502,
        `cannot reach ${host}:${port}: ${why}`,
      );
      return null;
    }
  }

  #authorized(fields: HeaderField[]): boolean {
    const creds = this.#opts.credentials;
    if (creds === undefined) return true;
    const v = fieldValue(fields, "Proxy-Authorization");
    const m = v === null ? null : /^Basic\s+([A-Za-z0-9+/=]+)$/i.exec(v);
    if (m === null) return false;
    let decoded: string;
    try {
      decoded = new TextDecoder().decode(Uint8Array.from(atob(m[1]), (c) => c.charCodeAt(0)));
    } catch {
      return false;
    }
    const colon = decoded.indexOf(":");
    return colon >= 0 && credentialsMatch(creds, decoded.slice(0, colon), decoded.slice(colon + 1));
  }
}

/** Sends a short error response with a one-line text body. */
async function writeError(
  conn: ProxyConn,
  status: number,
  message: string,
  extra: HeaderField[] = [],
): Promise<void> {
  const body = new TextEncoder().encode(`warren proxy: ${message.replace(/[\r\n]+/g, " ")}\n`);
  const head = encodeHead(`HTTP/1.1 ${status} ${STATUS_TEXT[status] ?? "Error"}`, [
    ["Content-Type", "text/plain; charset=utf-8"],
    ["Content-Length", String(body.length)],
    ["Connection", "close"],
    ...extra,
  ]);
  const w = conn.writable.getWriter();
  try {
    await w.write(head);
    await w.write(body);
  } finally {
    w.releaseLock();
  }
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
