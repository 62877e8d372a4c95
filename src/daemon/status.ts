/**
 * The status a node reports over the LocalAPI: plain JSON, the same data
 * `warren tun status --json` prints.
 *
 * @module
 */
import type { NetstackDeviceCounters } from "../netstack/device.ts";
import type { IpInputCounters } from "../netstack/ip_input.ts";
import type { SubnetRouterStatus } from "./subnet_router.ts";
import type { ExitNodeStatus } from "./exit_node.ts";
import type { RoutedFlowsStatus } from "./routed_flows.ts";

/** One peer as `wg show` (and, for tailnet peers, `tailscale status`) would describe it. */
export interface PeerStatus {
  /** Public key: base64 for wg-config peers, `nodekey:` for tailnet peers. */
  publicKey: string;
  /** MagicDNS name (tailnet peers). */
  name?: string;
  /** The peer's own addresses (tailnet peers). */
  addresses?: string[];
  /** Whether control reports the peer online; null if unknown (tailnet peers). */
  online?: boolean | null;
  /** How packets travel: "derp-<region>", "ip:port" (direct) or "none" (tailnet peers). */
  path?: string;
  /** Disco path state: unknown, probing, direct, degraded, relay-only, derp-only (tailnet peers). */
  pathState?: string;
  /** Last measured latency of the direct path, ms (tailnet peers). */
  latencyMs?: number | null;
  /** "ip:port", or null if unknown. */
  endpoint: string | null;
  /** Prefixes routed to the peer. */
  allowedIps: string[];
  /** Unix seconds of the latest handshake, 0 if none. */
  latestHandshake: number;
  /** Bytes received from the peer. */
  rxBytes: number;
  /** Bytes sent to the peer. */
  txBytes: number;
  /** Persistent keepalive in seconds, 0 if off. */
  persistentKeepalive: number;
  /** Whether a preshared key is set (never the key itself). */
  presharedKey: boolean;
  /** Whether it offers to be an exit node: its AllowedIPs hold both /0s (tailnet peers). */
  exitNodeOption?: boolean;
  /** Whether it is the exit node in use (tailnet peers). */
  exitNode?: boolean;
}

/** Tailnet-only facts. */
export interface TailnetStatus {
  /** Coordination server. */
  controlUrl: string;
  /** This node as control named it. */
  self: { name: string; addresses: string[]; nodeKey: string } | null;
  /** Home DERP region, 0 if none yet. */
  homeDerp: number;
  /** Measured latency to the home region, ms. */
  homeDerpLatencyMs: number | null;
  /** Open DERP connections; `dropped` counts packets shed by a full write queue. */
  derp: { region: number; connected: boolean; home: boolean; dropped: number }[];
  /** Peers in the netmap the data plane leaves out, and why (a bad key, a clashing address). */
  skippedPeers: { name: string; reason: string }[];
  /** Inbound filter counters. */
  filter: { accepted: number; dropped: number; byReason: Record<string, number> } | null;
  /** The MagicDNS suffix. */
  magicDnsSuffix: string;
  /** Routes this node offers and which control approved; absent when it offers none. */
  subnetRouter?: SubnetRouterStatus;
  /** The exit node asked for and in use; absent when none is asked for. */
  exitNode?: ExitNodeStatus;
}

/** A listener of a userspace node: a proxy on the host, or a forward on the tailnet side. */
export interface NetstackListenerStatus {
  /** Which service. */
  kind: "socks5" | "http" | "tcp-forward" | "udp-forward";
  /** Where it listens: `host:port` on the host for a proxy, `:PORT` on the node's tailnet addresses for a forward. */
  listen: string;
  /** A forward's target on the host, `host:port`. */
  target?: string;
  /** Flows open now: a proxy's connections being served, a forward's relayed connections or UDP flows. */
  flows: number;
  /** A forward's flows since the start. */
  opened?: number;
  /** A forward's flows that could not reach the target. */
  failed?: number;
  /** A UDP forward's new flows dropped at its flow limit. */
  refused?: number;
}

/** The services on a userspace node's stack: its TCP, the listeners, the flows. */
export interface NetstackServicesStatus {
  /** warren's TCP on the stack (only present once something uses TCP: a proxy or a forward). */
  tcp: {
    /** Connections in the table now (dialled and accepted). */
    connections: number;
    /** The table's limit (`--netstack-max-connections`). */
    maxConnections: number;
    /** The most each connection's send and receive buffer grows to (`--netstack-tcp-buffer`). */
    bufferBytes: number;
    /** TCP buffer bytes the connections hold a claim on now. */
    memoryBytes: number;
    /** All connections' buffers together at most (`--netstack-tcp-memory`). */
    memoryLimit: number;
    /** Dials and accepted connections refused (reset) because the table was full. */
    refused: number;
    /** RSTs sent to segments for no connection and no listener (closed ports). */
    resets: number;
    /** Segments that did not decode. */
    malformed: number;
  };
  /** Every proxy and forward listener. */
  listeners: NetstackListenerStatus[];
  /** Flows to routed addresses (subnet router, exit node), re-dialled from the host. */
  routed?: RoutedFlowsStatus;
  /** Open flows by kind: through the proxies, the forwards, and to routed addresses. */
  flows: { proxy: number; forward: number; routed?: number };
}

/** The userspace stack's counters, and its services when any run. */
export type NetstackStatus =
  & { ip: IpInputCounters; device: NetstackDeviceCounters }
  & Partial<NetstackServicesStatus>;

/** A node's whole status. */
export interface NodeStatus {
  /** Backend state, as tailscaled names it. */
  state: "NoState" | "NeedsLogin" | "NeedsMachineAuth" | "Starting" | "Running" | "Stopped";
  /** TUN interface name, or "userspace-networking" when there is none. */
  interface: string;
  /** The network's name in a `tun up --config` file; absent for a node started by flags. */
  network?: string;
  /**
   * How packets reach the node's side: a kernel TUN, or warren's own IP
   * stack (`--tun userspace-networking`). Absent from older nodes: "tun".
   */
  mode?: "tun" | "userspace-networking";
  /** What the userspace stack did with packets, by outcome, and what runs on it (userspace mode). */
  netstack?: NetstackStatus | null;
  /** Public key of the node. */
  publicKey: string;
  /** UDP port WireGuard listens on (0: none, tailnet over DERP only). */
  listenPort: number;
  /** Interface addresses with prefix length. */
  addresses: string[];
  /** Interface MTU. */
  mtu: number;
  /** Routes warren installed. */
  routes: string[];
  /**
   * The same routes with the routing table each is in (254 is main), for
   * wg-config nodes; a full tunnel's default routes are in a table of their own.
   */
  routeTables?: { prefix: string; table: number }[];
  /** Policy-routing rules warren added, as `ip rule` lists them (wg-config nodes). */
  rules?: { family: 4 | 6; rule: string }[];
  /** Firewall mark on the WireGuard socket's packets, 0 for none (wg-config nodes). */
  fwmark?: number;
  /**
   * Where the data plane runs: its own Worker, or the main thread waiting through Deno's
   * thread pool (`WARREN_DATAPLANE=pool`, userspace networking, or a Worker that could not
   * start).
   */
  dataPlane?: "worker" | "pool";
  /** The Worker data plane sleeps (an idle tailnet node; the next packet wakes it). */
  dataPlaneAsleep?: true;
  /** Peers. */
  peers: PeerStatus[];
  /**
   * Dropped packets by reason: the WireGuard device's (`noRoute`, `malformed`,
   * `unauthenticated`, `replay`, `sourceNotAllowed`, `handshake`), a tailnet node's `noPath`,
   * and where the Worker data plane sleeps `heldOverflow`: packets read while it slept or woke
   * past the 256 it holds for the next Worker.
   */
  drops: Record<string, number>;
  /** Process id of the node. */
  pid: number;
  /** Present when the node is part of a tailnet. */
  tailnet?: TailnetStatus;
}
