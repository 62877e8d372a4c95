/**
 * The socket API of an in-process tailnet node over its userspace stack:
 * TCP `connect`/`listen`, UDP `listenDatagram`, an HTTP server (`serve`)
 * and client (`fetch`), with names resolved by MagicDNS in process. Apart
 * from the node's lifecycle (`Tailnet`), so it can run over any netstack —
 * tests wire two of them together without a tailnet.
 *
 * @module
 */

import { formatIp, parseIp, unmap } from "../net/ip.ts";
import type { TcpStack } from "../netstack/tcp_stack.ts";
import type { UdpTable } from "../netstack/udp_endpoints.ts";
import { TailnetConn, TailnetListener } from "./conn.ts";
import { TailnetDatagramConn } from "./datagram.ts";
import { httpFetch } from "./http_client.ts";
import { type HttpHandler, serveConn } from "./http_server.ts";

/** What the socket API runs on. */
export interface SocketsBackend {
  /** The node's TCP. */
  readonly tcp: TcpStack;
  /** The node's UDP endpoints. */
  readonly udp: UdpTable;
  /** MagicDNS in process: a tailnet name's address (short name or FQDN), or null. */
  resolve(name: string): string | null;
}

/** Where to connect, as `Deno.connect` takes it. */
export interface TailnetConnectOptions {
  /** A MagicDNS short name ("peer"), FQDN ("peer.tail1234.ts.net"), or IP literal. */
  hostname: string;
  /** The port. */
  port: number;
  /** Gives up on the handshake when aborted (the connect rejects with Deno.errors.TimedOut). */
  signal?: AbortSignal;
}

/** Where to listen, as `Deno.listen` takes it; always on all the node's tailnet addresses. */
export interface TailnetListenOptions {
  /** The port; 0 picks a free one (see the listener's `addr`). */
  port: number;
}

/** Options of {@linkcode TailnetSockets.serve}, as `Deno.serve` takes them. */
export interface TailnetServeOptions extends TailnetListenOptions {
  /** Stops the server when aborted. */
  signal?: AbortSignal;
  /** Answers a handler that threw (default: 500 and the error on the console). */
  onError?: (error: unknown) => Response | Promise<Response>;
  /** Called once listening, with the address (as `Deno.serve`'s onListen). */
  onListen?: (addr: Deno.NetAddr) => void;
}

/** A running HTTP server on the tailnet, shaped like `Deno.HttpServer`. */
export interface TailnetHttpServer extends AsyncDisposable {
  /** Where it listens. */
  readonly addr: Deno.NetAddr;
  /** Settles once the server has stopped and its connections ended. */
  readonly finished: Promise<void>;
  /** Stops accepting, closes open connections, and waits for them. */
  shutdown(): Promise<void>;
}

const EPHEMERAL_LOW = 49152;

/** The node's sockets: see the module doc. */
export class TailnetSockets {
  readonly #b: SocketsBackend;
  /** What close() must end: listeners, datagram sockets, servers. */
  readonly #open = new Set<{ close(): void | Promise<void> }>();

  /** Runs the socket API over `backend`. */
  constructor(backend: SocketsBackend) {
    this.#b = backend;
  }

  /**
   * The address for `hostname`: an IP literal as it is (brackets allowed for
   * IPv6), a name through MagicDNS.
   *
   * @throws {Deno.errors.NotFound} for a name that is not on the tailnet
   */
  lookup(hostname: string): Uint8Array {
    const bare = hostname.replace(/^\[(.*)\]$/, "$1");
    try {
      return unmap(parseIp(bare));
    } catch {
      // not an IP literal: a name
    }
    const ip = this.#b.resolve(bare);
    if (ip === null) {
      throw new Deno.errors.NotFound(`${hostname} is not a name on this tailnet (MagicDNS)`);
    }
    return parseIp(ip);
  }

  /** {@linkcode lookup}, formatted. */
  lookupText(hostname: string): string {
    return formatIp(this.lookup(hostname));
  }

  /**
   * Opens a TCP connection to a peer, as `Deno.connect`.
   *
   * @example
   * ```ts ignore
   * const conn = await node.connect({ hostname: "peer", port: 22 });
   * ```
   * @throws {Deno.errors.NotFound} for a name that is not on the tailnet
   * @throws {Deno.errors.ConnectionRefused} if the peer refuses (RST)
   * @throws {Deno.errors.TimedOut} if the handshake times out or `signal` aborts it
   * @throws {Deno.errors.NetworkUnreachable} if the node has no address of that family
   */
  async connect(opts: TailnetConnectOptions): Promise<TailnetConn> {
    const ip = this.lookup(opts.hostname);
    try {
      return new TailnetConn(await this.#b.tcp.dial(ip, opts.port, opts.signal));
    } catch (e) {
      throw denoDialError(e, `${opts.hostname}:${opts.port}`);
    }
  }

  /**
   * Listens for TCP connections on every tailnet address of the node, as `Deno.listen`.
   *
   * @example
   * ```ts ignore
   * for await (const conn of node.listen({ port: 7 })) void conn.readable.pipeTo(conn.writable);
   * ```
   * @throws {Deno.errors.AddrInUse} if something already listens on the port
   */
  listen(opts: TailnetListenOptions): TailnetListener {
    const tcp = this.#b.tcp;
    let inner;
    if (opts.port === 0) {
      for (let i = 0; i < 64 && inner === undefined; i++) {
        try {
          inner = tcp.listen(EPHEMERAL_LOW + Math.floor(Math.random() * (65536 - EPHEMERAL_LOW)));
        } catch {
          // taken: try another
        }
      }
      if (inner === undefined) throw new Deno.errors.AddrInUse("No free TCP port to listen on");
    } else {
      if (!Number.isInteger(opts.port) || opts.port < 1 || opts.port > 65535) {
        throw new RangeError(`Port ${opts.port} out of range 0-65535`);
      }
      try {
        inner = tcp.listen(opts.port);
      } catch (e) {
        throw new Deno.errors.AddrInUse(`TCP port ${opts.port}: ${(e as Error).message}`);
      }
    }
    const l: TailnetListener = new TailnetListener(inner, () => this.#open.delete(l));
    this.#open.add(l);
    return l;
  }

  /**
   * Binds a UDP port on every tailnet address of the node, as `Deno.listenDatagram`.
   *
   * @throws {Deno.errors.AddrInUse} if the port is bound already
   */
  listenDatagram(opts: TailnetListenOptions): TailnetDatagramConn {
    const ep = this.#b.udp.bind({ port: opts.port });
    const d: TailnetDatagramConn = new TailnetDatagramConn(
      ep,
      (h) => Promise.resolve(this.lookup(h)),
      () => this.#open.delete(d),
    );
    this.#open.add(d);
    return d;
  }

  /**
   * Serves HTTP/1.1 on a tailnet port with a `Deno.serve`-style handler.
   *
   * @example
   * ```ts ignore
   * node.serve({ port: 80 }, (req) => new Response(`hello ${new URL(req.url).pathname}`));
   * ```
   * @throws {Deno.errors.AddrInUse} if something already listens on the port
   */
  serve(opts: TailnetServeOptions, handler: HttpHandler): TailnetHttpServer {
    const listener = this.listen(opts);
    const conns = new Set<TailnetConn>();
    const serving = new Set<Promise<void>>();
    let stopping: Promise<void> | null = null;
    const loop = (async () => {
      for await (const conn of listener) {
        conns.add(conn);
        const p: Promise<void> = serveConn(conn, handler, { onError: opts.onError })
          .finally(() => {
            conns.delete(conn);
            serving.delete(p);
          });
        serving.add(p);
      }
    })();
    const finished = loop.then(async () => {
      while (serving.size > 0) await Promise.all(serving);
    });
    const shutdown = () => {
      stopping ??= (async () => {
        listener.close();
        for (const c of conns) c.close();
        await finished;
        this.#open.delete(entry);
      })();
      return stopping;
    };
    const server: TailnetHttpServer = {
      addr: listener.addr,
      finished,
      shutdown,
      [Symbol.asyncDispose]: shutdown,
    };
    const entry = { close: shutdown };
    this.#open.add(entry);
    opts.signal?.addEventListener("abort", () => void shutdown(), { once: true });
    opts.onListen?.(listener.addr);
    return server;
  }

  /**
   * `fetch` to a peer over the tailnet: plain `http:` URLs whose host is a
   * MagicDNS name or a tailnet IP. One connection per request.
   *
   * @example
   * ```ts ignore
   * const res = await node.fetch("http://peer:8080/status");
   * ```
   * @throws {TypeError} (rejects) for a URL that is not `http:`
   * @throws {Deno.errors.NotFound} (rejects) for a host that is not on the tailnet
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    return httpFetch(
      (hostname, port, signal) => this.connect({ hostname, port, signal }),
      input,
      init,
    );
  }

  /** Closes every listener, datagram socket and server opened here. */
  async closeAll(): Promise<void> {
    await Promise.all([...this.#open].map((s) => s.close()));
  }
}

/** A netstack dial failure as the `Deno.errors` class `Deno.connect` would throw. */
function denoDialError(e: unknown, dest: string): Error {
  const cause = e instanceof Error ? e.cause : undefined;
  const text = `Cannot connect to ${dest} over the tailnet: ${e instanceof Error ? e.message : e}`;
  switch (cause) {
    case "refused":
      return new Deno.errors.ConnectionRefused(text, { cause: e });
    case "timeout":
    case "aborted":
      return new Deno.errors.TimedOut(text, { cause: e });
    case "unreachable":
      return new Deno.errors.NetworkUnreachable(text, { cause: e });
    default:
      return new Error(text, { cause: e });
  }
}
