/**
 * Finding nodes for the LocalAPI: `whois` (by node key or IP[:port], self
 * included, answered as apitype.WhoIsResponse) and `ping`'s choice of peer
 * (exact Tailscale IP first, then the peer whose AllowedIPs hold the address
 * most specifically, as wgengine's PeerForIP does).
 *
 * @module
 */
import type { NetworkMap } from "../netmap/network_map.ts";
import { type Node, type UserProfile, ZERO_TIME } from "../netmap/tailcfg.ts";
import { parseIp, parsePrefix, prefixContains } from "../net/ip.ts";
import { magicDnsSuffixOf, profile, tailscaleIps, trimDnsSuffix } from "./names.ts";

/** apitype.WhoIsResponse. */
export interface WhoIsResponse {
  /** The node, as tailcfg.Node JSON. */
  Node: Record<string, unknown>;
  /** Its owner. */
  UserProfile: UserProfile;
  /** Peer capabilities granted to its first address (warren: none, null). */
  CapMap: null;
}

/** An `addr` parameter: an IP, `IP:port`, `[v6]:port` or `nodekey:…`; null if none of those. */
export function parseWhoisAddr(v: string): { nodeKey: string } | { ip: string } | null {
  if (v.startsWith("nodekey:")) return /^nodekey:[0-9a-f]{64}$/.test(v) ? { nodeKey: v } : null;
  try {
    parseIp(v);
    return { ip: v };
  } catch {
    // not a bare IP: maybe IP:port
  }
  const m = v.match(/^\[([^\]]+)\]:(\d{1,5})$/) ?? v.match(/^([^:\[\]]+):(\d{1,5})$/);
  if (!m || Number(m[2]) > 65535) return null;
  try {
    parseIp(m[1]);
    return { ip: m[1] };
  } catch {
    return null;
  }
}

function sameIp(a: string, b: string): boolean {
  try {
    return parseIp(a).join() === parseIp(b).join();
  } catch {
    return false;
  }
}

/** The node (self or peer) that owns `ip` as one of its Tailscale addresses. */
export function nodeByAddr(nm: NetworkMap, ip: string): Node | undefined {
  const all = [...(nm.self ? [nm.self] : []), ...nm.peers.values()];
  return all.find((n) => tailscaleIps(n).some((a) => sameIp(a, ip)));
}

/** The node (self or peer) with this `nodekey:…`. */
export function nodeByKey(nm: NetworkMap, key: string): Node | undefined {
  if (nm.self?.Key === key) return nm.self;
  return [...nm.peers.values()].find((n) => n.Key === key);
}

/** Where a ping to `ip` goes: this node, a peer, or nowhere. */
export type PingTarget = { self: true } | { self: false; node: Node } | null;

/** Which routes the data plane uses (wgengine looks only at its WireGuard config's routes). */
export interface RouteUse {
  /** Subnet routes of peers are used (Prefs.RouteAll). */
  routeAll: boolean;
  /** The exit node in use ("" for none): only its /0 routes are used. */
  exitNodeId: string;
}

/**
 * wgengine's PeerForIP: self, a peer by address, else the most specific
 * route among those the data plane uses.
 */
export function peerForIp(nm: NetworkMap, ip: string, use: RouteUse): PingTarget {
  if (nm.self && tailscaleIps(nm.self).some((a) => sameIp(a, ip))) return { self: true };
  const exact = [...nm.peers.values()].find((n) => tailscaleIps(n).some((a) => sameIp(a, ip)));
  if (exact) return { self: false, node: exact };
  let bytes: Uint8Array;
  try {
    bytes = parseIp(ip);
  } catch {
    return null;
  }
  let best: { node: Node; bits: number } | null = null;
  for (const n of nm.peers.values()) {
    for (const r of n.AllowedIPs ?? []) {
      let p;
      try {
        p = parsePrefix(r);
      } catch {
        continue;
      }
      const own = (n.Addresses ?? []).includes(r);
      if (!own && p.bits === 0 && n.StableID !== use.exitNodeId) continue;
      if (!own && p.bits > 0 && !use.routeAll) continue;
      if (prefixContains(p, bytes) && (!best || p.bits > best.bits)) {
        best = { node: n, bits: p.bits };
      }
    }
  }
  return best ? { self: false, node: best.node } : null;
}

/** Node keys in Go's tailcfg.Node order; Computed* sit before these (when present). */
const AFTER_COMPUTED = [
  "DataPlaneAuditLogID",
  "Expired",
  "SelfNodeV4MasqAddrForThisPeer",
  "SelfNodeV6MasqAddrForThisPeer",
  "IsWireGuardOnly",
  "IsJailed",
  "ExitNodeDNSResolvers",
];

/**
 * The node as tailscaled's whois shows it: the legacy `DERP` string dropped
 * (HomeDERP carries it), zero times left out, ComputedName and
 * ComputedNameWithHost filled in as tailcfg's InitDisplayNames does.
 */
export function whoisNode(n: Node, magicDnsSuffix: string): Record<string, unknown> {
  let name = trimDnsSuffix(n.Name, magicDnsSuffix);
  let host = (n.Hostinfo?.Hostname ?? "").toLowerCase().replace(/[^a-z0-9-]+/g, "-")
    .replace(/^-+|-+$/g, "");
  if (name.toLowerCase() === host) host = "";
  if (name === "") [name, host] = host ? [host, ""] : [n.Key, ""];
  const computed = {
    ComputedName: name,
    ComputedNameWithHost: host ? `${name} (${host})` : name,
  };
  const out: Record<string, unknown> = {};
  let placed = false;
  for (const [k, v] of Object.entries(n)) {
    if (k === "DERP" || k === "ComputedName" || k === "ComputedNameWithHost") continue;
    if ((k === "KeyExpiry" || k === "LastSeen") && (v === ZERO_TIME || v === null)) continue;
    if (!placed && AFTER_COMPUTED.includes(k)) {
      Object.assign(out, computed);
      placed = true;
    }
    out[k] = v;
  }
  if (!placed) Object.assign(out, computed);
  return out;
}

/** The whois answer for `addr`, or null for tailscaled's 404 ("no match"). */
export function whois(
  nm: NetworkMap,
  addr: { nodeKey: string } | { ip: string },
): WhoIsResponse | null {
  const node = "nodeKey" in addr ? nodeByKey(nm, addr.nodeKey) : nodeByAddr(nm, addr.ip);
  if (!node) return null;
  const up = nm.userProfiles.get(node.User);
  if (!up) return null;
  const suffix = nm.self ? magicDnsSuffixOf(nm.self.Name) : "";
  return { Node: whoisNode(node, suffix), UserProfile: profile(up), CapMap: null };
}
