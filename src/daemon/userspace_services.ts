/**
 * What runs on a userspace-networking node's stack besides ping: one TCP
 * for everything (bounded by the netstack limits), the outbound proxies
 * (`--socks5-server`, `--outbound-http-proxy-listen`) and the inbound
 * forwards (`--forward`), and the routed flows of a subnet router or exit
 * node (./routed_flows.ts: which prefixes, the node sets on the IP layer). It reports its listeners and flows into the
 * node's status, so `tun status` shows them.
 *
 * @module
 */
import {
  DEFAULT_NETSTACK_LIMITS,
  formatForward,
  type ForwardSpec,
  type NetstackLimits,
  TCP_BUFFER_START,
} from "../config/userspace.ts";
import { TcpStack } from "../netstack/tcp_stack.ts";
import { TcpMemoryBudget } from "../netstack/tcp_memory.ts";
import { systemClock } from "../netstack/types.ts";
import { hostDialer, type ProxyListeners, routingDialer, startProxies } from "../proxy/mod.ts";
import type { ProxyDialer } from "../proxy/types.ts";
import { TcpForward } from "./forward_tcp.ts";
import { UdpForward } from "./forward_udp.ts";
import { RoutedFlows } from "./routed_flows.ts";
import type { NetstackServicesStatus } from "./status.ts";
import { netstackDialer, type ProxyListenFlags, type ProxyNode } from "./userspace_proxies.ts";

/** What to run on the stack. */
export interface UserspaceServicesConfig {
  /** Where the proxies listen; absent flags start no proxy. */
  proxies: ProxyListenFlags;
  /** Inbound forwards. */
  forwards: ForwardSpec[];
  /** The netstack's limits (defaults: {@linkcode DEFAULT_NETSTACK_LIMITS}). */
  limits?: Partial<NetstackLimits>;
}

/** The services running on a node's stack. */
export interface UserspaceServices {
  /** warren's TCP on the node's netstack. */
  readonly tcp: TcpStack;
  /** The proxies, or null without any proxy flag. */
  readonly proxies: ProxyListeners | null;
  /** What `tun status` shows of them. */
  status(): NetstackServicesStatus;
  /** Stops the listeners and every flow, then the TCP stack. */
  close(): Promise<void>;
}

/** Whether `config` asks for anything to run. */
export function wantsServices(config: UserspaceServicesConfig): boolean {
  const p = config.proxies;
  return config.forwards.length > 0 || p["socks5-server"] !== undefined ||
    p["outbound-http-proxy-listen"] !== undefined;
}

/**
 * Starts the proxies and forwards `config` names on `node`'s netstack and
 * hooks their status into the node's. `hostSide` dials the forwards'
 * targets and the proxies' off-tailnet destinations (default the host).
 *
 * @throws {Error} if the node has no netstack, or a listener cannot open (nothing is left running)
 */
export function startUserspaceServices(
  node: ProxyNode,
  config: UserspaceServicesConfig,
  log: (line: string) => void,
  hostSide: ProxyDialer = hostDialer(),
): UserspaceServices {
  const ns = node.netstack;
  if (ns === null) throw new Error("The proxies and forwards need the userspace stack");
  const limits = { ...DEFAULT_NETSTACK_LIMITS, ...config.limits };
  const memory = new TcpMemoryBudget(limits.tcpMemoryBytes);
  const tcp = new TcpStack({
    ip: ns.ip,
    device: ns.device,
    clock: systemClock,
    mtu: ns.device.mtu,
    maxConnections: limits.maxConnections,
    conn: {
      sendBufferBytes: Math.min(TCP_BUFFER_START, limits.tcpBufferBytes),
      recvBufferBytes: Math.min(TCP_BUFFER_START, limits.tcpBufferBytes),
      sendBufferMaxBytes: limits.tcpBufferBytes,
      recvBufferMaxBytes: limits.tcpBufferBytes,
      memory,
    },
  });
  const forwards: (TcpForward | UdpForward)[] = [];
  let proxies: ProxyListeners | null = null;
  let wgPort = 0;
  const routed = new RoutedFlows(ns.ip, tcp, hostSide, log, {
    isOwnSocket: (ip, port) => {
      wgPort ||= node.status?.().listenPort ?? 0;
      return port === wgPort && Deno.networkInterfaces().some((n) => n.address === ip);
    },
  });
  const stopAll = async () => {
    ns.servicesStatus = null;
    await Promise.all([proxies?.close(), routed.close(), ...forwards.map((f) => f.close())]);
    tcp.close();
  };
  try {
    for (const spec of config.forwards) {
      forwards.push(
        spec.proto === "tcp"
          ? new TcpForward(tcp, spec, hostSide, log)
          : new UdpForward(ns.ip.udp, spec, hostSide, log),
      );
      log(`forwarding ${formatForward(spec)}`);
    }
    const p = config.proxies;
    if (p["socks5-server"] !== undefined || p["outbound-http-proxy-listen"] !== undefined) {
      proxies = startProxies({
        dialer: routingDialer({
          tailnet: netstackDialer(tcp, ns.ip.udp),
          host: hostSide,
          resolve: (name) => node.resolveTailnet(name),
          exitNode: () => node.exitNodeActive?.() ?? false,
        }),
        socks5: p["socks5-server"],
        http: p["outbound-http-proxy-listen"],
        log,
      });
      for (const s of proxies.status()) log(`${s.kind} proxy listening on ${s.listen}`);
    }
  } catch (e) {
    void stopAll();
    throw e;
  }
  const status = (): NetstackServicesStatus => {
    const proxyRows = (proxies?.status() ?? []).map((s) => ({
      kind: s.kind,
      listen: s.listen,
      flows: s.connections,
    }));
    const forwardRows = forwards.map((f) => f.status());
    const sum = (rows: { flows: number }[]) => rows.reduce((n, r) => n + r.flows, 0);
    return {
      tcp: {
        connections: tcp.connections,
        maxConnections: limits.maxConnections,
        bufferBytes: limits.tcpBufferBytes,
        memoryBytes: memory.used,
        memoryLimit: memory.limit,
        refused: tcp.counters.tableFull,
        resets: tcp.counters.resets,
        malformed: tcp.counters.malformed,
      },
      listeners: [...proxyRows, ...forwardRows],
      routed: routed.status(),
      flows: { proxy: sum(proxyRows), forward: sum(forwardRows), routed: routed.flows },
    };
  };
  ns.servicesStatus = status;
  let closing: Promise<void> | null = null;
  return { tcp, proxies, status, close: () => closing ??= stopAll() };
}
