/**
 * `--socks5-server HOST:PORT` and `--outbound-http-proxy-listen HOST:PORT`:
 * flag parsing and the accept loops. As in tailscaled, the two flags may name
 * the same address; then one listener serves both, telling SOCKS (first byte
 * 4 or 5) from HTTP by the first byte.
 *
 * @module
 */

import { fromDenoConn } from "./deno_conn.ts";
import { DEFAULT_HANDSHAKE_TIMEOUT_MS } from "./constants.ts";
import { HttpProxyServer } from "./http_proxy.ts";
import type { ProxyCredentials } from "./credentials.ts";
import { Socks5Server } from "./socks5_server.ts";
import type { AcceptedConn, ProxyAddr, ProxyDialer } from "./types.ts";
import { formatListenAddr, parseListenAddr } from "./listen_addr.ts";

export { formatListenAddr, parseListenAddr };

/** Options for {@linkcode startProxies}. */
export interface StartProxiesOptions {
  /** Where proxied traffic goes (a {@linkcode routingDialer} in the daemon). */
  dialer: ProxyDialer;
  /** `--socks5-server`, e.g. "localhost:1055"; absent: no SOCKS5 server. */
  socks5?: string;
  /** `--outbound-http-proxy-listen`, e.g. "localhost:8080"; absent: no HTTP proxy. */
  http?: string;
  /** Credentials the SOCKS5 server requires (RFC 1929); absent: no auth. */
  socks5Credentials?: ProxyCredentials;
  /** Credentials the HTTP proxy requires (Basic); absent: no auth. */
  httpCredentials?: ProxyCredentials;
  /** Concurrent connections per server; default 1024. */
  maxConnections?: number;
  /** Handshake / request-head timeout; default 10 s. */
  handshakeTimeoutMs?: number;
  /** Dial timeout; default 15 s. */
  dialTimeoutMs?: number;
  /** Receives one line per notable event. */
  log?: (line: string) => void;
}

/** Running proxies: where they listen, and how to stop them. */
export interface ProxyListeners {
  /** The SOCKS5 server's address (the real port when the flag said 0). */
  socks5?: ProxyAddr;
  /** The HTTP proxy's address. */
  http?: ProxyAddr;
  /** What `warren tun status` shows: each listener and its open connections. */
  status(): ProxyStatus[];
  /** Stops accepting, closes every connection, and waits for the accept loops to end. */
  close(): Promise<void>;
}

/** One proxy's entry in {@linkcode ProxyListeners.status}. */
export interface ProxyStatus {
  /** Which proxy. */
  kind: "socks5" | "http";
  /** Where it listens (host:port, IPv6 in brackets). */
  listen: string;
  /** Connections being served now (CONNECT tunnels, UDP associations, requests). */
  connections: number;
}

/**
 * Starts the configured proxies on `Deno.listen` listeners.
 *
 * @example
 * ```ts ignore
 * import { hostDialer } from "./host_dialer.ts";
 * import { startProxies } from "./listen.ts";
 * const proxies = startProxies({ dialer: hostDialer(), socks5: "localhost:1055" });
 * await proxies.close();
 * ```
 * @throws {SyntaxError} if a flag does not parse
 * @throws {Deno.errors.AddrInUse} and friends if a listener cannot be opened
 */
export function startProxies(opts: StartProxiesOptions): ProxyListeners {
  const common = {
    dialer: opts.dialer,
    maxConnections: opts.maxConnections,
    handshakeTimeoutMs: opts.handshakeTimeoutMs,
    dialTimeoutMs: opts.dialTimeoutMs,
    log: opts.log,
  };
  const socksAddr = opts.socks5 === undefined
    ? undefined
    : parseListenAddr(opts.socks5, "--socks5-server");
  const httpAddr = opts.http === undefined
    ? undefined
    : parseListenAddr(opts.http, "--outbound-http-proxy-listen");
  const socks = socksAddr && new Socks5Server({ ...common, credentials: opts.socks5Credentials });
  const http = httpAddr && new HttpProxyServer({ ...common, credentials: opts.httpCredentials });
  const listeners: Deno.Listener[] = [];
  const loops: Promise<void>[] = [];
  // Handlers in flight, so close() returns only once every connection is down.
  const handlers = new Set<Promise<void>>();
  const sniffing = new Set<Deno.Conn>();
  const track = (p: Promise<void>) => {
    handlers.add(p);
    p.finally(() => handlers.delete(p));
  };
  const open = (addr: ProxyAddr, serve: (c: Deno.Conn) => void): ProxyAddr => {
    const ln = Deno.listen({ hostname: addr.hostname, port: addr.port });
    listeners.push(ln);
    loops.push(acceptLoop(ln, serve));
    const a = ln.addr as Deno.NetAddr;
    return { hostname: a.hostname, port: a.port };
  };
  const out: ProxyListeners = { close, status };
  function status(): ProxyStatus[] {
    const fmt = formatListenAddr;
    const rows: ProxyStatus[] = [];
    if (socks && out.socks5) {
      rows.push({ kind: "socks5", listen: fmt(out.socks5), connections: socks.connections });
    }
    if (http && out.http) {
      rows.push({ kind: "http", listen: fmt(out.http), connections: http.connections });
    }
    return rows;
  }
  try {
    const shared = socksAddr !== undefined && httpAddr !== undefined && socksAddr.port !== 0 &&
      socksAddr.hostname === httpAddr.hostname && socksAddr.port === httpAddr.port;
    if (shared) {
      const timeout = opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
      out.socks5 = out.http = open(socksAddr, (c) => {
        sniffing.add(c);
        track(
          sniff(c, timeout).then((conn) => {
            sniffing.delete(c);
            if (conn === null) return;
            const first = conn.first;
            return first === 4 || first === 5 ? socks!.handle(conn.conn) : http!.handle(conn.conn);
          }),
        );
      });
    } else {
      if (socksAddr !== undefined) {
        out.socks5 = open(socksAddr, (c) => track(socks!.handle(fromDenoConn(c))));
      }
      if (httpAddr !== undefined) {
        out.http = open(httpAddr, (c) => track(http!.handle(fromDenoConn(c))));
      }
    }
  } catch (err) {
    for (const ln of listeners) ln.close();
    throw err;
  }
  async function close(): Promise<void> {
    for (const ln of listeners) {
      try {
        ln.close();
      } catch {
        // Closed twice; nothing left to do.
      }
    }
    socks?.close();
    http?.close();
    for (const c of sniffing) {
      try {
        c.close();
      } catch {
        // The sniff already closed it.
      }
    }
    await Promise.all(loops);
    await Promise.all([...handlers]);
  }
  return out;
}

async function acceptLoop(ln: Deno.Listener, serve: (c: Deno.Conn) => void): Promise<void> {
  while (true) {
    let c: Deno.Conn;
    try {
      c = await ln.accept();
    } catch (err) {
      if (err instanceof Deno.errors.BadResource || err instanceof Deno.errors.Interrupted) return;
      // EMFILE and friends: back off briefly rather than spin.
      await new Promise((r) => setTimeout(r, 50));
      continue;
    }
    serve(c);
  }
}

/** Reads the first chunk to see which protocol the client speaks, then replays it. */
async function sniff(
  c: Deno.Conn,
  timeoutMs: number,
): Promise<{ conn: AcceptedConn; first: number } | null> {
  const timer = setTimeout(() => c.close(), timeoutMs);
  const buf = new Uint8Array(4096);
  let n: number | null = null;
  try {
    n = await c.read(buf);
  } catch {
    // Closed by the timer or reset by the peer.
  } finally {
    clearTimeout(timer);
  }
  if (n === null || n === 0) {
    try {
      c.close();
    } catch {
      // Already closed by the timer.
    }
    return null;
  }
  return { conn: fromDenoConn(c, buf.subarray(0, n)), first: buf[0] };
}
