/**
 * {@linkcode Tailnet}: a whole tailnet node inside a Deno program — control,
 * WireGuard, DERP and direct paths, MagicDNS and the packet filter, with
 * warren's own TCP/IP stack in userspace (no TUN, no root, no capability) —
 * and Deno-shaped sockets on it.
 *
 * @module
 */

import { TsNode } from "../daemon/ts_node.ts";
import { TcpStack } from "../netstack/tcp_stack.ts";
import { systemClock } from "../netstack/types.ts";
import type { TailnetConn, TailnetListener } from "./conn.ts";
import type { TailnetDatagramConn } from "./datagram.ts";
import type { HttpHandler } from "./http_server.ts";
import {
  nodeOptions,
  summarizeStatus,
  type TailnetNodeStatus,
  type TailnetUpOptions,
} from "./options.ts";
import {
  type TailnetConnectOptions,
  type TailnetHttpServer,
  type TailnetListenOptions,
  type TailnetServeOptions,
  TailnetSockets,
} from "./sockets.ts";

/** A tailnet node running in this process. */
export class Tailnet implements AsyncDisposable {
  readonly #node: TsNode;
  readonly #tcp: TcpStack;
  readonly #sockets: TailnetSockets;
  #closing: Promise<void> | null = null;

  private constructor(node: TsNode, tcp: TcpStack) {
    this.#node = node;
    this.#tcp = tcp;
    this.#sockets = new TailnetSockets({
      tcp,
      udp: node.netstack!.ip.udp,
      resolve: (name) => node.resolveTailnet(name),
    });
  }

  /**
   * Joins the tailnet: logs in, waits for the first network map and brings
   * the node up. Resolves once it is Running with its addresses.
   *
   * @example
   * ```ts ignore
   * await using node = await Tailnet.up({ authKey: Deno.env.get("TS_AUTHKEY"), hostname: "app" });
   * console.log(node.addresses);
   * ```
   * @throws {Error} (rejects) when login fails (a bad or expired key, an unapproved
   *   machine) or the control server does not answer within `loginTimeoutMs`;
   *   the message says which and `cause` holds the underlying error
   */
  static async up(opts: TailnetUpOptions = {}): Promise<Tailnet> {
    const o = nodeOptions(opts);
    let node: TsNode;
    try {
      node = await TsNode.start(o);
    } catch (e) {
      const why = e instanceof Error ? e.message : String(e);
      throw new Error(`Tailnet.up: cannot join the tailnet at ${o.controlUrl}: ${why}`, {
        cause: e,
      });
    }
    const ns = node.netstack!;
    const tcp = new TcpStack({
      ip: ns.ip,
      device: ns.device,
      clock: systemClock,
      mtu: ns.device.mtu,
    });
    return new Tailnet(node, tcp);
  }

  /** The node's own tailnet addresses (IPv4 first), without prefix lengths. */
  get addresses(): string[] {
    return this.status().addresses;
  }

  /** Who the node is and which peers it sees. */
  status(): TailnetNodeStatus {
    return summarizeStatus(this.#node.status());
  }

  /**
   * The tailnet address of a MagicDNS name (short or FQDN) or IP literal.
   *
   * @throws {Deno.errors.NotFound} for a name that is not on the tailnet
   */
  lookup(hostname: string): string {
    return this.#sockets.lookupText(hostname);
  }

  /**
   * Opens a TCP connection to a peer, as `Deno.connect`.
   *
   * @example
   * ```ts ignore
   * const conn = await node.connect({ hostname: "peer", port: 22 });
   * ```
   * @throws {Deno.errors.NotFound} (rejects) for a name that is not on the tailnet
   * @throws {Deno.errors.ConnectionRefused} (rejects) if the peer refuses (RST)
   * @throws {Deno.errors.TimedOut} (rejects) if the handshake times out or `signal` aborts it
   */
  connect(opts: TailnetConnectOptions): Promise<TailnetConn> {
    return this.#sockets.connect(opts);
  }

  /**
   * Listens for TCP connections on the node's tailnet addresses, as `Deno.listen`.
   *
   * @example
   * ```ts ignore
   * for await (const conn of node.listen({ port: 7 })) void conn.readable.pipeTo(conn.writable);
   * ```
   * @throws {Deno.errors.AddrInUse} if something already listens on the port
   */
  listen(opts: TailnetListenOptions): TailnetListener {
    return this.#sockets.listen(opts);
  }

  /**
   * Binds a UDP port on the node's tailnet addresses, as `Deno.listenDatagram`.
   *
   * @throws {Deno.errors.AddrInUse} if the port is bound already
   */
  listenDatagram(opts: TailnetListenOptions): TailnetDatagramConn {
    return this.#sockets.listenDatagram(opts);
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
    return this.#sockets.serve(opts, handler);
  }

  /**
   * `fetch` to a peer over the tailnet: plain `http:` URLs whose host is a
   * MagicDNS name or a tailnet IP; one connection per request.
   *
   * @example
   * ```ts ignore
   * const res = await node.fetch("http://peer:8080/status");
   * ```
   * @throws {TypeError} (rejects) for a URL that is not `http:`
   * @throws {Deno.errors.NotFound} (rejects) for a host that is not on the tailnet
   */
  fetch(input: string | URL | Request, init?: RequestInit): Promise<Response> {
    return this.#sockets.fetch(input, init);
  }

  /** Settles when the node has stopped (after {@linkcode close}, or if the data plane failed). */
  get done(): Promise<void> {
    return this.#node.done;
  }

  /**
   * Leaves: closes every listener and server, resets open connections, then
   * stops the node. Idempotent; resolves when everything is down.
   */
  close(): Promise<void> {
    this.#closing ??= (async () => {
      await this.#sockets.closeAll();
      this.#tcp.close();
      await this.#node.stop();
    })();
    return this.#closing;
  }

  /** Stops the node (`await using node = await Tailnet.up(...)`). */
  [Symbol.asyncDispose](): Promise<void> {
    return this.close();
  }
}
