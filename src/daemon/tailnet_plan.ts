/**
 * The planner: what the data plane should look like for a netmap — the
 * WireGuard peers with their allowed IPs and magicsock's view of them, the
 * TUN addresses, the routes to install, the packet filter rules and the DERP
 * map — computed whole before anything is touched, so the engine
 * (`engine.ts`) can commit it or keep the old one. Everything that could make
 * a commit fail half-way is decided here: a peer with a key WireGuard cannot
 * use (unparsable, low-order, ours, a duplicate), a prefix that does not parse,
 * an address that is not a single IP, or an address another node already holds
 * is skipped with a reason instead. A peer's exit routes (/0) enter WireGuard's
 * allowed IPs only for the selected exit node, as tailscaled: any other peer
 * offering exit could otherwise inject packets with any source address past the
 * filter. Pure, apart from the X25519 used for the low-order check (cached per
 * key).
 *
 * @module
 */
import { sharedSecret } from "../crypto/x25519.ts";
import { formatNodePublic, parseDiscoPublic, parseNodePublic } from "../key/node_key.ts";
import {
  formatPrefix,
  type IpPrefix,
  parsePrefix,
  prefixContains,
  splitHostPort,
} from "../net/ip.ts";
import { comparePrefix } from "../net/advertise_routes.ts";
import { homeDerpOf } from "../netmap/node.ts";
import type { NetworkMap } from "../netmap/network_map.ts";
import type { DERPMap, FilterRule, Node } from "../netmap/tailcfg.ts";

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
  /** Disco key, or null when it has none we can use (then it is reached over DERP only). */
  discoKey: Uint8Array | null;
  /** Endpoints control reported for it ("ip:port"). */
  endpoints: string[];
}

/** A peer the plan leaves out, and why. */
export interface SkippedPeer {
  /** Node ID. */
  id: number;
  /** Its name as control sent it (without the trailing dot). */
  name: string;
  /** Why, as a phrase: "node key is low-order". */
  reason: string;
}

/** The data-plane configuration of a netmap. */
export interface TailnetPlan {
  /** Our addresses, for the TUN. */
  addresses: IpPrefix[];
  /**
   * Routes control approved for this node to serve (its own AllowedIPs beyond its addresses,
   * and its PrimaryRoutes), exit routes included, sorted: what `tun status` shows approved.
   */
  selfRoutes: IpPrefix[];
  /** Peers we can send to, in node-ID order. */
  peers: PeerPlan[];
  /** Routes to install through the TUN, as text ("100.64.0.2/32"), sorted. */
  routes: string[];
  /** Inbound filter rules (null: control never sent any, deny inbound). */
  packetFilter: FilterRule[] | null;
  /** DERP map, or null while control has sent none. */
  derpMap: DERPMap | null;
  /** Peers left out, with the reason. */
  skipped: SkippedPeer[];
  /** Prefixes dropped from a peer's allowed IPs (duplicates, exit routes), as "name: prefix: why". */
  dropped: string[];
  /**
   * The exit node whose /0s are in its allowed IPs (not in {@link routes}: the
   * exit routes go in table 52, see exit_routing.ts); null when none is in use.
   */
  exitNode: { id: number; name: string } | null;
}

/** An empty plan: what the data plane holds before the first netmap. */
export const EMPTY_PLAN: TailnetPlan = Object.freeze({
  addresses: [],
  selfRoutes: [],
  peers: [],
  routes: [],
  packetFilter: null,
  derpMap: null,
  skipped: [],
  dropped: [],
  exitNode: null,
});

/** Options that change which peers' prefixes are used. */
export interface PlanOptions {
  /** Route peers' advertised subnets (--accept-routes); otherwise only their own addresses. */
  acceptRoutes: boolean;
}

/** What a netmap gives the planner. */
export interface PlanInput {
  /** This node. */
  self: Node;
  /** Its peers, in any order. */
  peers: Iterable<Node>;
  /** Effective inbound filter rules. */
  packetFilter?: FilterRule[] | null;
  /** DERP map. */
  derpMap?: DERPMap | null;
  /** The node ID of the selected exit node (see exit_node.ts); none when absent or null. */
  exitNodeId?: number | null;
}

/** Any clamped scalar maps a low-order point to the identity, so one fixed key tests them all. */
const PROBE_PRIVATE = new Uint8Array(32).fill(0x42);
/** Keys whose check is cached; beyond this the cache starts over (a netmap holds far fewer). */
const KEY_CACHE_MAX = 65_536;

/** Plans netmaps; keeps a cache of key checks between calls. */
export class TailnetPlanner {
  #opts: PlanOptions;
  readonly #keyChecks = new Map<string, string | null>();

  /** A planner with fixed options. */
  constructor(opts: PlanOptions) {
    this.#opts = opts;
  }

  /** Changes options for the next plan (`tun set --accept-routes`). */
  setOptions(opts: Partial<PlanOptions>): void {
    this.#opts = { ...this.#opts, ...opts };
  }

  /**
   * Plans the data plane for a self node and its peers.
   *
   * @example
   * ```ts
   * const planner = new TailnetPlanner({ acceptRoutes: false });
   * const self = { ID: 1, Name: "a.ts.net.", Key: "nodekey:" + "11".repeat(32),
   *   Addresses: ["100.64.0.1/32"] } as never;
   * planner.plan({ self, peers: [] }).addresses.length; // 1
   * ```
   */
  plan(input: PlanInput): TailnetPlan {
    const { self } = input;
    const addresses = singleAddresses(self.Addresses ?? []).ok;
    const owners = new Map<string, string>(); // address → who holds it
    for (const a of addresses) owners.set(formatPrefix(a), "this node");
    const keys = new Set<string>();
    try {
      keys.add(formatNodePublic(parseNodePublic(self.Key)));
    } catch {
      // our own key is not ours to check
    }
    const routes = new Set<string>();
    const routedBy = new Map<string, string>();
    const peers: PeerPlan[] = [];
    const skipped: SkippedPeer[] = [];
    const dropped: string[] = [];
    let exitNode: TailnetPlan["exitNode"] = null;
    const sorted = [...input.peers].sort((a, b) => a.ID - b.ID);
    for (const peer of sorted) {
      if (peer.Expired) continue; // its key expired: no traffic to it, nothing to report
      const name = (peer.Name ?? "").replace(/\.$/, "") || `node ${peer.ID}`;
      const skip = (reason: string) => skipped.push({ id: peer.ID, name, reason });
      const key = this.#checkKey(peer.Key);
      if (typeof key === "string") {
        skip(key);
        continue;
      }
      const keyText = formatNodePublic(key);
      if (keys.has(keyText)) {
        skip("node key is this node's or another peer's");
        continue;
      }
      const own = singleAddresses(peer.Addresses ?? []);
      if (own.error) {
        skip(own.error);
        continue;
      }
      const clash = own.ok.map(formatPrefix).find((a) => owners.has(a));
      if (clash !== undefined) {
        skip(`address ${clash} is already held by ${owners.get(clash)}`);
        continue;
      }
      // capver ≥ 112: absent AllowedIPs means the same as Addresses.
      const all = peer.AllowedIPs == null ? { ok: own.ok } : parseAll(peer.AllowedIPs);
      if (all.error) {
        skip(all.error);
        continue;
      }
      keys.add(keyText);
      for (const a of own.ok) owners.set(formatPrefix(a), name);
      const ownText = new Set(own.ok.map(formatPrefix));
      const allowedIps: IpPrefix[] = [];
      for (const p of all.ok) {
        const text = formatPrefix(p);
        if (p.bits === 0) {
          // tailscaled takes exit routes from the exit node in use only, --accept-routes or not.
          if (peer.ID === input.exitNodeId) {
            allowedIps.push(p);
            exitNode = { id: peer.ID, name };
          } else if (this.#opts.acceptRoutes) {
            dropped.push(`${name}: ${text}: exit routes are used only from the selected exit node`);
          }
          continue;
        }
        const isOwn = ownText.has(text);
        if (!isOwn && !this.#opts.acceptRoutes) continue;
        const holder = routedBy.get(text);
        if (holder !== undefined) {
          dropped.push(`${name}: ${text}: already routed to ${holder}`);
          continue;
        }
        routedBy.set(text, name);
        allowedIps.push(p);
        routes.add(text);
      }
      let discoKey: Uint8Array | null = null;
      try {
        discoKey = peer.DiscoKey ? parseDiscoPublic(peer.DiscoKey) : null;
      } catch {
        // a peer with a bad disco key is reached over DERP only
      }
      peers.push({
        id: peer.ID,
        name,
        nodeKey: key,
        allowedIps,
        homeDerp: homeDerpOf(peer),
        addresses: own.ok,
        discoKey,
        endpoints: peer.Endpoints ?? [],
      });
    }
    // A peer's endpoint inside a subnet we route into the TUN (a router's own LAN address)
    // would carry WireGuard through the tunnel it is the path of, a loop: tailscaled's marked
    // sockets bypass its routes there; warren leaves such endpoints out. Not for the exit
    // routes: those take only unmarked packets, and warren's own sockets are marked.
    const tunnelled = peers.flatMap((p) => p.allowedIps.filter((a) => a.bits !== 0));
    for (const p of peers) p.endpoints = p.endpoints.filter((e) => !inside(tunnelled, e));
    return {
      addresses,
      selfRoutes: selfRoutes(self, addresses),
      peers,
      routes: [...routes].sort(),
      packetFilter: input.packetFilter ?? null,
      derpMap: input.derpMap ?? null,
      skipped,
      dropped,
      exitNode,
    };
  }

  /** {@link plan} for a netmap; null while it has no self node. */
  planNetmap(nm: NetworkMap, exitNodeId: number | null = null): TailnetPlan | null {
    if (!nm.self) return null;
    return this.plan({
      self: nm.self,
      peers: nm.peers.values(),
      packetFilter: nm.packetFilter,
      derpMap: nm.derpMap,
      exitNodeId,
    });
  }

  /** The parsed key, or why WireGuard cannot use it. */
  #checkKey(text: string | undefined): Uint8Array | string {
    if (!text) return "node key is missing";
    let key: Uint8Array;
    try {
      key = parseNodePublic(text);
    } catch {
      return "node key does not parse";
    }
    let verdict = this.#keyChecks.get(text);
    if (verdict === undefined) {
      try {
        sharedSecret(PROBE_PRIVATE, key);
        verdict = null;
      } catch {
        verdict = "node key is low-order (no shared secret is possible)";
      }
      if (this.#keyChecks.size >= KEY_CACHE_MAX) this.#keyChecks.clear();
      this.#keyChecks.set(text, verdict);
    }
    return verdict ?? key;
  }
}

/** Whether endpoint `ep` ("ip:port") is inside one of `prefixes` (false if it does not parse). */
function inside(prefixes: readonly IpPrefix[], ep: string): boolean {
  let ip: Uint8Array | null;
  try {
    ip = splitHostPort(ep).ip;
  } catch {
    return false;
  }
  return ip !== null && prefixes.some((p) => prefixContains(p, ip));
}

/** The self node's approved routes: AllowedIPs beyond its addresses, and PrimaryRoutes. */
function selfRoutes(self: Node, addresses: readonly IpPrefix[]): IpPrefix[] {
  const own = new Set(addresses.map(formatPrefix));
  const out = new Map<string, IpPrefix>();
  for (const s of [...(self.AllowedIPs ?? []), ...(self.PrimaryRoutes ?? [])]) {
    try {
      const p = parsePrefix(s);
      const text = formatPrefix(p);
      if (!own.has(text)) out.set(text, p);
    } catch {
      // a prefix that does not parse grants nothing
    }
  }
  return [...out.values()].sort(comparePrefix);
}

function parseAll(list: readonly string[]): { ok: IpPrefix[]; error?: string } {
  const ok: IpPrefix[] = [];
  for (const s of list) {
    try {
      ok.push(parsePrefix(s));
    } catch {
      return { ok: [], error: `prefix "${s}" does not parse` };
    }
  }
  return { ok };
}

/** A node's own addresses: each must be one IP (a /32 or /128). */
function singleAddresses(list: readonly string[]): { ok: IpPrefix[]; error?: string } {
  const r = parseAll(list);
  if (r.error) return r;
  const wide = r.ok.find((p) => p.bits !== p.ip.length * 8);
  if (wide) return { ok: [], error: `address ${formatPrefix(wide)} is not a single address` };
  return r;
}
