/**
 * Builds MapResponses the way Headscale 0.28 does: a full map first, then
 * deltas derived from a {@link Change} — self updates (`Node` only),
 * `PeersChanged` with `UserProfiles`, policy updates (`PeersChanged` with every
 * peer plus `PacketFilters`), `PeersRemoved` and `PeersChangedPatch`.
 * Field order follows Go's struct order so the JSON reads like the fixtures.
 *
 * @module
 */

import { DEFAULT_CAP_MAP, DERP_MAGIC_IP } from "./constants.ts";
import type { TailnetConfig } from "./config.ts";
import { nodeFqdn } from "./names.ts";
import { allowedIpsOf } from "./routes.ts";
import type { Change, Json, NodeRecord, User } from "./types.ts";
import type {
  DERPMap,
  DNSConfig,
  FilterRule,
  Hostinfo,
  MapResponse,
  Node,
  UserProfile,
} from "../../src/netmap/tailcfg.ts";

/** What the mapper reads from the tailnet. */
export interface TailnetView {
  /** Current configuration. */
  readonly config: TailnetConfig;
  /** The user every node belongs to. */
  readonly user: User;
  /** A node by ID. */
  node(id: number): NodeRecord | undefined;
  /** Every other node, by ascending ID. */
  peersOf(id: number): NodeRecord[];
  /** Filter rules in force. */
  filterRules(): FilterRule[];
  /** The prefixes a node is primary router for (none when absent). */
  primaryRoutesOf?(id: number): string[];
}

/** Headscale's default policy: everything may reach everything. */
export const ALLOW_ALL_FILTER: FilterRule[] = [
  { SrcIPs: ["*"], DstPorts: [{ IP: "*", Ports: { First: 0, Last: 65535 } }] },
];

/**
 * Formats a time as Go's encoding/json does: RFC 3339 with the fraction's trailing zeros removed.
 *
 * @example
 * ```ts
 * console.assert(goTime(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 500))) === "2026-01-02T03:04:05.5Z");
 * ```
 */
export function goTime(d: Date): string {
  return d.toISOString().replace(/\.?0+Z$/, "Z");
}

/** The home DERP region a node reported in `Hostinfo.NetInfo.PreferredDERP`, or 0. */
export function homeDerpOf(node: NodeRecord): number {
  const ni = node.hostinfo.NetInfo as Json | undefined;
  const d = ni?.PreferredDERP;
  return typeof d === "number" ? d : 0;
}

/** Reports whether a node's key has expired (logged out). */
export function isExpired(node: NodeRecord, now = Date.now()): boolean {
  return node.expiry !== undefined && node.expiry.getTime() <= now;
}

/**
 * A `tailcfg.Node` for a node, as seen by a client of capability version capVer. `primary`
 * are the prefixes it is primary router for: they and its approved exit routes join its
 * AllowedIPs, as Headscale's tailNode does, for itself and as a peer alike.
 */
export function tailNode(
  node: NodeRecord,
  capVer: number,
  cfg: TailnetConfig,
  primary: readonly string[] = [],
): Node {
  const addresses = [`${node.ipv4}/32`, `${node.ipv6}/128`];
  const derp = homeDerpOf(node);
  const expired = isExpired(node);
  return {
    ID: node.id,
    StableID: String(node.id),
    Name: nodeFqdn(node.givenName, cfg.baseDomain),
    User: 1,
    Key: node.nodeKey,
    KeyExpiry: node.expiry ? goTime(node.expiry) : undefined,
    Machine: node.machineKey,
    DiscoKey: node.discoKey || undefined,
    Addresses: addresses,
    AllowedIPs: allowedIpsOf(node, primary),
    Endpoints: node.endpoints.length > 0 ? [...node.endpoints] : undefined,
    DERP: `${DERP_MAGIC_IP}:${derp}`,
    HomeDERP: derp || undefined,
    Hostinfo: node.hostinfo as Hostinfo,
    Created: goTime(node.created),
    Cap: capVer,
    PrimaryRoutes: primary.length > 0 ? [...primary] : undefined,
    LastSeen: node.online === false && node.lastSeen ? goTime(node.lastSeen) : undefined,
    Online: node.online,
    MachineAuthorized: !expired,
    CapMap: structuredClone(DEFAULT_CAP_MAP),
    Expired: expired || undefined,
  };
}

/** {@link tailNode} with the node's primary routes as the tailnet has them. */
function nodeOf(t: TailnetView, node: NodeRecord, capVer: number): Node {
  return tailNode(node, capVer, t.config, t.primaryRoutesOf?.(node.id) ?? []);
}

/** `UserProfiles` entries. */
export function userProfiles(user: User): UserProfile[] {
  return [{ ID: user.id, LoginName: user.name, DisplayName: user.name }];
}

/** The DERP map: one region with a node per configured URL. */
export function derpMap(cfg: TailnetConfig): DERPMap {
  const d = cfg.derp;
  if (d.map) return structuredClone(d.map) as unknown as DERPMap;
  const regionId = d.regionId!;
  const nodes = (d.urls ?? []).map((raw, i) => {
    const u = new URL(raw);
    const host = u.hostname.replace(/^\[|\]$/g, "");
    const isV4 = /^\d+\.\d+\.\d+\.\d+$/.test(host);
    const isV6 = host.includes(":");
    const port = u.port ? Number(u.port) : u.protocol === "http:" ? 80 : 443;
    return {
      Name: `${regionId}${String.fromCharCode(97 + i)}`,
      RegionID: regionId,
      HostName: host,
      IPv4: isV4 ? host : undefined,
      IPv6: isV6 ? host : undefined,
      STUNPort: d.stunPort,
      DERPPort: port,
      InsecureForTests: (d.insecureForTests ?? u.protocol === "http:") || undefined,
      CertName: d.certName,
    };
  });
  return {
    Regions: {
      [String(regionId)]: {
        RegionID: regionId,
        RegionCode: d.regionCode!,
        RegionName: d.regionName!,
        Nodes: nodes,
      },
    },
    // No omitDefaultRegions: Headscale leaves it out (clients ignore it anyway).
  };
}

/** Reverse zones MagicDNS answers for: 64–127.100.in-addr.arpa and the ULA /48. */
function magicReverseZones(): string[] {
  const zones = ["0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa"];
  for (let i = 64; i <= 127; i++) zones.push(`${i}.100.in-addr.arpa`);
  return zones;
}

/** The DNSConfig (Headscale's dnsToTailcfgDNS plus the MagicDNS routes its mapper adds). */
export function dnsConfig(cfg: TailnetConfig): DNSConfig {
  const dns = cfg.dns;
  const resolvers = dns.nameservers.map((a) => ({ Addr: a }));
  const routes: Record<string, { Addr: string }[]> = {};
  for (const [suffix, rs] of Object.entries(dns.routes)) {
    routes[suffix] = rs.map((a) => ({ Addr: a }));
  }
  if (dns.magicDns) { for (const z of magicReverseZones()) routes[z] = []; }
  const sortedRoutes: Record<string, { Addr: string }[]> = {};
  for (const k of Object.keys(routes).sort()) sortedRoutes[k] = routes[k];
  const domains = dns.magicDns && cfg.baseDomain !== ""
    ? [cfg.baseDomain, ...dns.searchDomains]
    : [...dns.searchDomains];
  return {
    Resolvers: dns.overrideLocalDns && resolvers.length > 0 ? resolvers : undefined,
    Routes: Object.keys(sortedRoutes).length > 0 ? sortedRoutes : undefined,
    FallbackResolvers: !dns.overrideLocalDns && resolvers.length > 0 ? resolvers : undefined,
    Domains: domains.length > 0 ? domains : undefined,
    Proxied: dns.magicDns || undefined,
    ExtraRecords: dns.extraRecords.length > 0 ? structuredClone(dns.extraRecords) : undefined,
  };
}

/** `MapResponse.Domain`: the host name of the server URL, as Headscale sends it. */
export function domainOf(cfg: TailnetConfig): string {
  try {
    return new URL(cfg.serverUrl).hostname.replace(/^\[|\]$/g, "");
  } catch {
    return cfg.baseDomain;
  }
}

/**
 * The first message of a map stream: everything, with empty fields left out as
 * Headscale leaves them out (no `Peers` key for a node alone in the tailnet).
 */
export function fullMapResponse(t: TailnetView, nodeId: number, capVer: number): MapResponse {
  const self = t.node(nodeId);
  if (!self) throw new RangeError(`Cannot build a map for node ${nodeId}: no such node`);
  const peers = t.peersOf(nodeId);
  // Go map iteration order: a client must not depend on the order of Peers.
  if (t.config.shufflePeers) shuffle(peers);
  return {
    Node: nodeOf(t, self, capVer),
    DERPMap: derpMap(t.config),
    Peers: peers.length > 0 ? peers.map((p) => nodeOf(t, p, capVer)) : undefined,
    DNSConfig: dnsConfig(t.config),
    Domain: domainOf(t.config),
    // Headscale never sets CollectServices, so the key is absent (as in the fixtures).
    PacketFilters: { base: t.filterRules() },
    UserProfiles: userProfiles(t.user),
    ControlTime: goTime(new Date()),
  };
}

function shuffle<T>(xs: T[]): void {
  for (let i = xs.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [xs[i], xs[j]] = [xs[j], xs[i]];
  }
}

/** The delta one node's stream gets for a change, or null when it concerns nothing it sees. */
export function buildFromChange(
  t: TailnetView,
  nodeId: number,
  capVer: number,
  c: Change,
): MapResponse | null {
  const self = t.node(nodeId);
  if (!self) return null;
  if (c.ping) {
    return c.ping.node === nodeId
      ? { PingRequest: c.ping.request, ControlTime: goTime(new Date()) }
      : null;
  }
  if (c.originNode !== undefined && c.originNode === nodeId) {
    return { Node: nodeOf(t, self, capVer), ControlTime: goTime(new Date()) };
  }
  const resp: MapResponse = {};
  if (c.derpMap) resp.DERPMap = derpMap(t.config);
  let changed: NodeRecord[] = [];
  if (c.policy) {
    changed = t.peersOf(nodeId);
  } else if (c.peersChanged) {
    changed = c.peersChanged.filter((id) => id !== nodeId).map((id) => t.node(id))
      .filter((n): n is NodeRecord => n !== undefined);
  }
  if (changed.length > 0) resp.PeersChanged = changed.map((p) => nodeOf(t, p, capVer));
  const removed = (c.peersRemoved ?? []).filter((id) => id !== nodeId);
  if (removed.length > 0) resp.PeersRemoved = removed;
  // Headscale 0.28 also sends a node the online patch about itself (see the fixtures).
  const patches = (c.patches ?? []).filter((p) => p.NodeID === nodeId || t.node(p.NodeID));
  if (patches.length > 0) resp.PeersChangedPatch = structuredClone(patches);
  if (c.onlineChange) resp.OnlineChange = { ...c.onlineChange };
  if (c.dns) {
    resp.DNSConfig = dnsConfig(t.config);
    resp.Domain = domainOf(t.config);
  }
  if (c.policy) resp.PacketFilters = { base: t.filterRules() };
  // Headscale 0.28 sends UserProfiles with node changes but not with policy changes.
  if (changed.length > 0 && !c.policy) resp.UserProfiles = userProfiles(t.user);
  if (Object.keys(resp).length === 0) return null;
  resp.ControlTime = goTime(new Date());
  return orderMapResponse(resp as Json) as MapResponse;
}

// Go's tailcfg.MapResponse field order, so deltas read like Headscale's.
const MAP_RESPONSE_ORDER = [
  "KeepAlive",
  "Node",
  "DERPMap",
  "Peers",
  "PeersChanged",
  "PeersRemoved",
  "PeersChangedPatch",
  "PeerSeenChange",
  "OnlineChange",
  "DNSConfig",
  "Domain",
  "CollectServices",
  "PacketFilter",
  "PacketFilters",
  "UserProfiles",
  "ControlTime",
];

function orderMapResponse(r: Json): Json {
  const out: Json = {};
  for (const k of MAP_RESPONSE_ORDER) if (k in r) out[k] = r[k];
  for (const k of Object.keys(r)) if (!(k in out)) out[k] = r[k];
  return out;
}
