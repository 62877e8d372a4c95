/**
 * Chooses between the tailnet and the host for each destination, so the
 * proxies can be an application's only proxy: tailnet IPs (100.64.0.0/10,
 * fd7a:115c:a1e0::/48, or whatever the caller counts, e.g. subnet routes) and
 * names MagicDNS resolves go through the tailnet dialer; everything else is
 * dialled from the host with its name intact — unless an exit node is in use
 * (`exitNode`): then everything goes through the tailnet, other names resolved
 * by the host's resolver first, as tailscaled's userspace proxies do.
 *
 * @module
 */

import { parsePrefix, prefixContains } from "../net/ip.ts";
import { UDP_QUEUE_LIMIT } from "./constants.ts";
import { ipOrNull } from "./socks5_codec.ts";
import {
  type ProxyConn,
  type ProxyDatagram,
  type ProxyDatagramSocket,
  type ProxyDialer,
  ProxyDialError,
} from "./types.ts";

const TAILNET_PREFIXES = [parsePrefix("100.64.0.0/10"), parsePrefix("fd7a:115c:a1e0::/48")];

/**
 * Whether an address is in Tailscale's CGNAT range or its IPv6 ULA prefix.
 *
 * @example
 * ```ts
 * import { parseIp } from "../net/ip.ts";
 * import { isTailnetAddress } from "./routing_dialer.ts";
 * isTailnetAddress(parseIp("100.101.102.103")); // true
 * isTailnetAddress(parseIp("192.0.2.1")); // false
 * ```
 */
export function isTailnetAddress(ip: Uint8Array): boolean {
  return TAILNET_PREFIXES.some((p) => p.ip.length === ip.length && prefixContains(p, ip));
}

/** Options for {@linkcode routingDialer}. */
export interface RoutingDialerOptions {
  /** Dials tailnet destinations (the netstack). */
  tailnet: ProxyDialer;
  /** Dials everything else (usually {@linkcode hostDialer}). */
  host: ProxyDialer;
  /**
   * MagicDNS in process: the IP for a tailnet name (short or FQDN, with or
   * without the trailing dot), or null when the name is not the tailnet's.
   * Without it every name goes to the host.
   */
  resolve?: (name: string) => string | null | Promise<string | null>;
  /** Which IPs are the tailnet's; default {@linkcode isTailnetAddress}. */
  isTailnetIp?: (ip: Uint8Array) => boolean;
  /** Whether an exit node is in use now: then every destination goes through the tailnet. */
  exitNode?: () => boolean;
  /** The host's resolver, for names outside the tailnet while an exit node is in use. */
  resolveHost?: (name: string) => Promise<string | null>;
}

/** Where {@linkcode RoutingDialer.route} sends a destination. */
export interface Route {
  /** Which dialer. */
  via: "tailnet" | "host";
  /** What to hand it: the tailnet IP for a MagicDNS name, else the host as given. */
  host: string;
}

/** A {@linkcode ProxyDialer} that also tells where a destination would go. */
export interface RoutingDialer extends ProxyDialer {
  /** The routing decision for `host`, without dialling. */
  route(host: string): Promise<Route>;
}

/**
 * Builds the routing dialer.
 *
 * @example
 * ```ts ignore
 * import { hostDialer } from "./host_dialer.ts";
 * import { routingDialer } from "./routing_dialer.ts";
 * const dialer = routingDialer({ tailnet: netstackDialer, host: hostDialer(), resolve: magicDns });
 * await dialer.dialTcp("peer", 22);
 * ```
 */
export function routingDialer(opts: RoutingDialerOptions): RoutingDialer {
  const exit = opts.exitNode ?? (() => false);
  const isTailnetIp = (ip: Uint8Array) => exit() || (opts.isTailnetIp ?? isTailnetAddress)(ip);
  const resolveHost = opts.resolveHost ?? resolveOnHost;
  const route = async (host: string): Promise<Route> => {
    const literal = ipOrNull(host);
    if (literal !== null) return { via: isTailnetIp(literal) ? "tailnet" : "host", host };
    const resolved = (opts.resolve === undefined ? null : await opts.resolve(host)) ??
      (exit() ? await resolveHost(host) : null);
    if (resolved === null) {
      if (exit()) throw new ProxyDialError("unreachable", `Cannot resolve ${host}`);
      return { via: "host", host };
    }
    const ip = ipOrNull(resolved);
    // MagicDNS may answer with a non-tailnet address (an extra record); that one is the host's.
    return { via: ip !== null && isTailnetIp(ip) ? "tailnet" : "host", host: resolved };
  };
  const dialer = (via: Route["via"]) => via === "tailnet" ? opts.tailnet : opts.host;
  return {
    route,
    async dialTcp(host: string, port: number, signal?: AbortSignal): Promise<ProxyConn> {
      const r = await route(host);
      return await dialer(r.via).dialTcp(r.host, port, signal);
    },
    openUdp(): Promise<ProxyDatagramSocket> {
      return Promise.resolve(new RoutingUdpSocket(route, dialer));
    },
  };
}

/** The host's resolver: an IPv4 address of `name`, else an IPv6 one, else null. */
async function resolveOnHost(name: string): Promise<string | null> {
  for (const type of ["A", "AAAA"] as const) {
    try {
      const [ip] = await Deno.resolveDns(name, type);
      if (ip) return ip;
    } catch {
      // no such record (or no resolver): try the other family
    }
  }
  return null;
}

/** One socket over two: each side is opened on first use; receives from both are merged. */
class RoutingUdpSocket implements ProxyDatagramSocket {
  #route: (host: string) => Promise<Route>;
  #dialer: (via: Route["via"]) => ProxyDialer;
  #socks = new Map<Route["via"], Promise<ProxyDatagramSocket>>();
  #queue: ProxyDatagram[] = [];
  #waiter: ((d: ProxyDatagram | null) => void) | null = null;
  #closed = false;

  constructor(route: (host: string) => Promise<Route>, dialer: (via: Route["via"]) => ProxyDialer) {
    this.#route = route;
    this.#dialer = dialer;
  }

  async send(data: Uint8Array, hostname: string, port: number): Promise<void> {
    const r = await this.#route(hostname);
    await (await this.#side(r.via)).send(data, r.host, port);
  }

  receive(): Promise<ProxyDatagram | null> {
    if (this.#queue.length > 0) return Promise.resolve(this.#queue.shift()!);
    if (this.#closed) return Promise.resolve(null);
    return new Promise((resolve) => this.#waiter = resolve);
  }

  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    for (const s of this.#socks.values()) s.then((sock) => sock.close(), () => {});
    this.#queue.length = 0;
    this.#waiter?.(null);
    this.#waiter = null;
  }

  #side(via: Route["via"]): Promise<ProxyDatagramSocket> {
    let s = this.#socks.get(via);
    if (s === undefined) {
      s = this.#dialer(via).openUdp();
      this.#socks.set(via, s);
      s.then((sock) => {
        if (this.#closed) sock.close();
        else this.#drain(sock);
      }, () => this.#socks.delete(via));
    }
    return s;
  }

  async #drain(sock: ProxyDatagramSocket): Promise<void> {
    for (let d = await sock.receive(); d !== null; d = await sock.receive()) {
      if (this.#waiter !== null) {
        const w = this.#waiter;
        this.#waiter = null;
        w(d);
      } else if (this.#queue.length < UDP_QUEUE_LIMIT) {
        this.#queue.push(d);
      }
    }
  }
}
