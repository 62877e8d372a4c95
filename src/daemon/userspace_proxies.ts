/**
 * The outbound proxies of a userspace-networking node (`--socks5-server`,
 * `--outbound-http-proxy-listen`): warren's TCP on the node's netstack
 * carries tailnet destinations, the host carries the rest, and MagicDNS
 * names resolve in process — so the proxy can be an application's only one.
 *
 * @module
 */

import { formatIp, unmap } from "../net/ip.ts";
import type { UdpEndpoint, UdpTable } from "../netstack/udp_endpoints.ts";
import type { TcpStack } from "../netstack/tcp_stack.ts";
import {
  type DialFailure,
  type ProxyConn,
  type ProxyDatagram,
  type ProxyDatagramSocket,
  type ProxyDialer,
  ProxyDialError,
} from "../proxy/mod.ts";
import { ipOrNull } from "../proxy/socks5_codec.ts";
import type { Netstack } from "./node_link.ts";

/** Where the proxies listen (the flags' text, parsed by `startProxies`). */
export interface ProxyListenFlags {
  /** `--socks5-server HOST:PORT`. */
  "socks5-server"?: string;
  /** `--outbound-http-proxy-listen HOST:PORT`. */
  "outbound-http-proxy-listen"?: string;
}

/**
 * A {@linkcode ProxyDialer} over warren's TCP and the netstack's UDP: IP
 * literals only (the routing dialer resolves names first). Without `udp`,
 * openUdp fails.
 */
export function netstackDialer(tcp: TcpStack, udp?: UdpTable): ProxyDialer {
  return {
    async dialTcp(host: string, port: number, signal?: AbortSignal): Promise<ProxyConn> {
      const ip = ipOrNull(host);
      if (ip === null) {
        throw new ProxyDialError("unreachable", `Cannot dial ${host}:${port}: not a tailnet IP`);
      }
      try {
        return await tcp.dial(unmap(ip), port, signal);
      } catch (e) {
        const cause = e instanceof Error ? e.cause : undefined;
        const kind: DialFailure = cause === "refused" || cause === "timeout" ||
            cause === "unreachable"
          ? cause
          : cause === "aborted"
          ? "timeout"
          : "failed";
        throw new ProxyDialError(
          kind,
          `Cannot dial ${host}:${port} through the tailnet: ${e instanceof Error ? e.message : e}`,
          { cause: e },
        );
      }
    },
    openUdp(): Promise<ProxyDatagramSocket> {
      if (udp === undefined) {
        return Promise.reject(new ProxyDialError("failed", "No UDP on this netstack"));
      }
      try {
        return Promise.resolve(netstackUdpSocket(udp.bind({ port: 0 })));
      } catch (e) {
        return Promise.reject(
          new ProxyDialError("failed", `Cannot bind UDP on the netstack: ${errText(e)}`, {
            cause: e,
          }),
        );
      }
    },
  };
}

/** A netstack UDP endpoint as the proxies' datagram socket. */
function netstackUdpSocket(ep: UdpEndpoint): ProxyDatagramSocket {
  return {
    send(data: Uint8Array, hostname: string, port: number): Promise<void> {
      const ip = ipOrNull(hostname);
      if (ip === null) {
        return Promise.reject(new TypeError(`Cannot send UDP to ${hostname}: not a tailnet IP`));
      }
      try {
        ep.send(data, { ip: unmap(ip), port });
        return Promise.resolve();
      } catch (e) {
        return Promise.reject(e);
      }
    },
    receive(): Promise<ProxyDatagram | null> {
      return ep.receive().then(
        (d) => ({ data: d.payload, hostname: formatIp(d.src.ip), port: d.src.port }),
        () => null, // closed
      );
    },
    close: () => ep.close(),
  };
}

function errText(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The node as the proxies need it. */
export interface ProxyNode {
  /** The userspace stack (null in TUN mode). */
  readonly netstack: Netstack | null;
  /** A MagicDNS name's tailnet address, or null for a name that is not the tailnet's. */
  resolveTailnet(name: string): string | null;
  /** The node's status; its `listenPort` is the WireGuard socket's (a TsNode has it). */
  status?(): { listenPort: number };
  /** Whether an exit node is in use: then the proxies send every destination through it. */
  exitNodeActive?(): boolean;
}
