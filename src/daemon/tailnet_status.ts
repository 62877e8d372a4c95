/**
 * The LocalAPI status of a tailnet node, built from its parts: netmap,
 * data-plane plan, WireGuard counters, magicsock paths, DERP and filter.
 *
 * @module
 */
import { formatNodePublic, shortKey } from "../key/node_key.ts";
import type { Magicsock } from "../magicsock/magicsock.ts";
import { formatPrefix, type IpPrefix } from "../net/ip.ts";
import type { NetworkMap } from "../netmap/network_map.ts";
import type { Node } from "../netmap/tailcfg.ts";
import type { FilterStats } from "../filter/filter.ts";
import type { DeviceView } from "./node_plane.ts";
import type { NodeStatus, PeerStatus } from "./status.ts";
import type { SubnetRouterStatus } from "./subnet_router.ts";
import type { ExitNodeStatus } from "./exit_node.ts";
import { offersExit } from "../localapi/names.ts";
import { EXIT_ROUTES, EXIT_TABLE } from "./exit_routing.ts";
import { RT_TABLE_MAIN } from "../../ffi/netlink_codec.ts";
import type { TailnetPlan } from "./tailnet_plan.ts";

/** Everything the status is made of. */
export interface TailnetStatusParts {
  /** Backend state. */
  state: NodeStatus["state"];
  /** TUN interface name, or "userspace-networking". */
  interface: string;
  /** The config file's name for the network, if any. */
  network?: string;
  /** Kernel TUN or warren's own IP stack. */
  mode: NonNullable<NodeStatus["mode"]>;
  /** Where the data plane runs, once it does. */
  dataPlane?: NodeStatus["dataPlane"];
  /** The Worker data plane sleeps. */
  dataPlaneAsleep?: true;
  /** The userspace stack's counters (userspace mode). */
  netstack: NodeStatus["netstack"];
  /** Coordination server. */
  controlUrl: string;
  /** TUN MTU. */
  mtu: number;
  /** Latest netmap. */
  netmap: NetworkMap | null;
  /** The data plane as planned from the netmap. */
  plan: TailnetPlan;
  /** The WireGuard device's counters and handshakes. */
  device: DeviceView | null;
  /** Paths and DERP links. */
  magic: Magicsock | null;
  /** UDP port. */
  listenPort: number;
  /** Routes installed. */
  routes: readonly IpPrefix[];
  /** Latency to the home DERP region, ms. */
  homeLatencyMs: number | null;
  /** The inbound filter's counters. */
  filterStats: FilterStats | null;
  /** Packets dropped for want of a path to their peer. */
  noPath: number;
  /** Packets dropped past the held queue while a sleeping Worker plane woke (absent: it never sleeps). */
  heldOverflow?: number;
  /** Routes offered and approved, when the node offers any. */
  subnetRouter?: SubnetRouterStatus;
  /** The exit node choice. */
  exitNode?: ExitNodeStatus;
}

/** The peer a user means by `target`: FQDN, short name, or one of its addresses. */
export function findPeer(nm: NetworkMap, target: string): Node | undefined {
  const want = target.toLowerCase().replace(/\.$/, "");
  return [...nm.peers.values()].find((n) => {
    const name = n.Name.toLowerCase().replace(/\.$/, "");
    return name === want || name.split(".")[0] === want ||
      (n.Addresses ?? []).some((a) => a.split("/")[0] === target);
  });
}

/** Builds the status JSON. */
export function buildTailnetStatus(p: TailnetStatusParts): NodeStatus {
  const { device: dev, netmap: nm, magic } = p;
  const self = nm?.self;
  const byKey = new Map(p.plan.peers.map((x) => [formatNodePublic(x.nodeKey), x]));
  const peers: PeerStatus[] = [];
  for (const node of nm?.peers.values() ?? []) {
    const plan = byKey.get(node.Key);
    const wg = plan ? dev?.peer(plan.nodeKey) : undefined;
    const path = plan && magic ? magic.pathOf(plan.nodeKey) : null;
    peers.push({
      publicKey: node.Key,
      name: node.Name.replace(/\.$/, ""),
      addresses: node.Addresses ?? [],
      online: node.Online ?? null,
      path: path?.path ?? "none",
      pathState: path?.state ?? "unknown",
      latencyMs: path?.latencyMs ?? null,
      endpoint: null,
      allowedIps: plan ? plan.allowedIps.map(formatPrefix) : [],
      latestHandshake: wg ? Math.floor(wg.lastHandshakeWall / 1000) : 0,
      rxBytes: wg?.rxBytes ?? 0,
      txBytes: wg?.txBytes ?? 0,
      persistentKeepalive: 0,
      presharedKey: false,
      exitNodeOption: offersExit(node.AllowedIPs),
      exitNode: node.ID === p.exitNode?.node?.id,
    });
  }
  const selfName = self ? self.Name.replace(/\.$/, "") : "";
  return {
    state: p.state,
    interface: p.interface,
    ...(p.network === undefined ? {} : { network: p.network }),
    mode: p.mode,
    ...(p.dataPlane ? { dataPlane: p.dataPlane } : {}),
    ...(p.dataPlaneAsleep ? { dataPlaneAsleep: true } : {}),
    ...(p.netstack ? { netstack: p.netstack } : {}),
    publicKey: dev ? formatNodePublic(dev.publicKey) : "",
    listenPort: p.listenPort,
    addresses: p.plan.addresses.map(formatPrefix),
    mtu: p.mtu,
    ...routesAndRules(p.routes, p.exitNode),
    peers,
    drops: dev
      ? {
        ...dev.drops,
        noPath: p.noPath,
        ...(p.heldOverflow === undefined ? {} : { heldOverflow: p.heldOverflow }),
      }
      : {},
    pid: Deno.pid,
    tailnet: {
      controlUrl: p.controlUrl,
      self: self
        ? {
          name: selfName,
          addresses: self.Addresses ?? [],
          nodeKey: dev ? shortKey(dev.publicKey) : "",
        }
        : null,
      homeDerp: magic?.derp.home ?? 0,
      homeDerpLatencyMs: p.homeLatencyMs,
      derp: magic?.derp.status() ?? [],
      skippedPeers: p.plan.skipped.map(({ name, reason }) => ({ name, reason })),
      filter: p.filterStats,
      magicDnsSuffix: selfName.split(".").slice(1).join("."),
      ...(p.subnetRouter ? { subnetRouter: p.subnetRouter } : {}),
      ...(p.exitNode?.requested ? { exitNode: p.exitNode } : {}),
    },
  };
}

/** The routes in main, and while an exit node is in use table 52's and the rules (`--routes`). */
function routesAndRules(
  main: readonly IpPrefix[],
  exit: ExitNodeStatus | undefined,
): Pick<NodeStatus, "routes" | "routeTables" | "rules"> {
  const routes = main.map(formatPrefix);
  if (!exit?.routing) return { routes };
  const exitRoutes = EXIT_ROUTES.map(formatPrefix);
  return {
    routes: [...routes, ...exitRoutes],
    routeTables: [
      ...routes.map((prefix) => ({ prefix, table: RT_TABLE_MAIN })),
      ...exitRoutes.map((prefix) => ({ prefix, table: EXIT_TABLE })),
    ],
    rules: exit.rules,
  };
}
