/**
 * What the data plane should look like for a netmap: the WireGuard peers
 * with their allowed IPs, magicsock's view of them, the TUN addresses and
 * the routes to install. Pure, so reconfiguration is a diff of two results.
 *
 * @module
 */
import { parseNodePublic } from "../key/node_key.ts";
import { formatPrefix, type IpPrefix, parsePrefix } from "../net/ip.ts";
import { homeDerpOf } from "../netmap/node.ts";
import type { Node } from "../netmap/tailcfg.ts";

/** One peer as the data plane needs it. */
export interface PeerPlan {
  /** Node ID, for logs and status. */
  id: number;
  /** MagicDNS name without the trailing dot. */
  name: string;
  /** WireGuard static key (node key). */
  nodeKey: Uint8Array;
  /** Prefixes routed to the peer through WireGuard. */
  allowedIps: IpPrefix[];
  /** Home DERP region (HomeDERP, else legacy DERP "127.3.3.40:N"), 0 if unknown. */
  homeDerp: number;
  /** The peer's own addresses. */
  addresses: IpPrefix[];
}

/** The data-plane configuration of a netmap. */
export interface TailnetPlan {
  /** Our addresses, for the TUN. */
  addresses: IpPrefix[];
  /** Peers we can send to. */
  peers: PeerPlan[];
  /** Routes to install through the TUN, as text ("100.64.0.2/32"). */
  routes: string[];
}

/** Options that change which peers' prefixes are used. */
export interface PlanOptions {
  /** Route peers' advertised subnets (--accept-routes); otherwise only their own addresses. */
  acceptRoutes: boolean;
}

/** Plans the data plane for a self node and its peers. */
export function planTailnet(self: Node, peers: Node[], opts: PlanOptions): TailnetPlan {
  const addresses = prefixes(self.Addresses);
  const plans: PeerPlan[] = [];
  const routes = new Set<string>();
  for (const peer of peers) {
    if (peer.Expired) continue; // its key expired: no traffic to it
    let nodeKey: Uint8Array;
    try {
      nodeKey = parseNodePublic(peer.Key);
    } catch {
      continue; // a peer we cannot address is skipped, not fatal
    }
    const own = prefixes(peer.Addresses);
    // capver ≥ 112: absent AllowedIPs means the same as Addresses.
    const all = peer.AllowedIPs == null ? own : prefixes(peer.AllowedIPs);
    const ownText = new Set(own.map(formatPrefix));
    const allowedIps = opts.acceptRoutes ? all : all.filter((p) => ownText.has(formatPrefix(p)));
    for (const p of allowedIps) if (p.bits > 0) routes.add(formatPrefix(p));
    plans.push({
      id: peer.ID,
      name: peer.Name.replace(/\.$/, ""),
      nodeKey,
      allowedIps,
      homeDerp: homeDerpOf(peer),
      addresses: own,
    });
  }
  return { addresses, peers: plans, routes: [...routes].sort() };
}

/** Routes to add and remove to go from `before` to `after`. */
export function diffRoutes(before: string[], after: string[]): { add: string[]; remove: string[] } {
  const a = new Set(after), b = new Set(before);
  return { add: after.filter((r) => !b.has(r)), remove: before.filter((r) => !a.has(r)) };
}

function prefixes(list: string[] | null | undefined): IpPrefix[] {
  const out: IpPrefix[] = [];
  for (const s of list ?? []) {
    try {
      out.push(parsePrefix(s));
    } catch {
      // A prefix we cannot parse is skipped rather than failing the whole map.
    }
  }
  return out;
}
