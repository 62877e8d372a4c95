/**
 * Applying one MapResponse (full or delta) to a netmap, with the semantics
 * of the capability version warren claims (see control/constants.ts):
 * absent/nil means unchanged; `Peers` replaces all peers; then PeersRemoved,
 * PeersChanged, PeerSeenChange, OnlineChange, PeersChangedPatch; DERPMap with
 * nil regions dropped and nil Regions/HomeParams kept from before;
 * PacketFilter(s) and DisplayMessages by name with `"*": null` clearing;
 * DNSConfig, Domain, UserProfiles. Pure.
 *
 * A netmap belongs to one map stream: the first message of every stream is a
 * full map and must be applied to `null`, not to the previous stream's netmap
 * (a field it leaves out, such as `Peers` for a node alone, means empty).
 *
 * @module
 */
import type {
  DERPMap,
  DERPRegion,
  FilterRule,
  MapResponse,
  Node,
  NodeID,
  UserID,
  UserProfile,
} from "./tailcfg.ts";
import { emptyNetworkMap, type NetworkMap } from "./network_map.ts";
import { normalizeNode } from "./node.ts";

/**
 * Returns the netmap after `resp`; `prev` is not modified. `prev` is null
 * for the first message of a map stream. Keep-alive messages return `prev`
 * unchanged (or an empty map when there is none).
 *
 * @example
 * ```ts
 * const nm = applyMapResponse(null, { Node: { ID: 1 } as never, OnlineChange: {} }, 0);
 * nm.self?.ID; // 1
 * ```
 */
export function applyMapResponse(
  prev: NetworkMap | null,
  resp: MapResponse,
  now: number,
): NetworkMap {
  const base = prev ?? emptyNetworkMap(now);
  if (resp.KeepAlive) return base;
  const nm: NetworkMap = { ...base, updatedAt: now };

  if (resp.Node) nm.self = normalizeNode(resp.Node);
  nm.peers = applyPeers(base.peers, resp, now);
  if (resp.DERPMap) nm.derpMap = mergeDerpMap(base.derpMap, resp.DERPMap);
  if (resp.DNSConfig) nm.dns = resp.DNSConfig;
  if (resp.Domain) nm.domain = resp.Domain;
  if (typeof resp.CollectServices === "boolean") nm.collectServices = resp.CollectServices;
  if (resp.Health) nm.health = resp.Health;
  if (resp.DisplayMessages) {
    nm.displayMessages = applyNamed(base.displayMessages, resp.DisplayMessages);
  }
  if (resp.SSHPolicy !== undefined && resp.SSHPolicy !== null) nm.sshPolicy = resp.SSHPolicy;
  if (resp.ControlTime) nm.controlTime = resp.ControlTime;
  if (resp.UserProfiles && resp.UserProfiles.length > 0) {
    const profiles = new Map<UserID, UserProfile>(base.userProfiles);
    for (const up of resp.UserProfiles) profiles.set(up.ID, up);
    nm.userProfiles = profiles;
  }
  applyFilters(nm, base, resp);
  return nm;
}

function applyPeers(
  prev: ReadonlyMap<NodeID, Node>,
  resp: MapResponse,
  now: number,
): ReadonlyMap<NodeID, Node> {
  if (resp.Peers && resp.Peers.length > 0) {
    return new Map(resp.Peers.map((n) => [n.ID, normalizeNode(n)]));
  }
  const hasDelta = (resp.PeersRemoved?.length ?? 0) > 0 ||
    (resp.PeersChanged?.length ?? 0) > 0 ||
    (resp.PeersChangedPatch?.length ?? 0) > 0 ||
    Object.keys(resp.PeerSeenChange ?? {}).length > 0 ||
    Object.keys(resp.OnlineChange ?? {}).length > 0;
  if (!hasDelta) return prev;
  const peers = new Map(prev);
  for (const id of resp.PeersRemoved ?? []) peers.delete(id);
  for (const n of resp.PeersChanged ?? []) peers.set(n.ID, normalizeNode(n));
  for (const [id, seen] of Object.entries(resp.PeerSeenChange ?? {})) {
    const p = peers.get(Number(id));
    if (p === undefined) continue;
    const q = { ...p };
    if (seen) q.LastSeen = new Date(now).toISOString();
    else delete q.LastSeen;
    peers.set(p.ID, q);
  }
  for (const [id, online] of Object.entries(resp.OnlineChange ?? {})) {
    const p = peers.get(Number(id));
    if (p !== undefined) peers.set(p.ID, { ...p, Online: online });
  }
  for (const pc of resp.PeersChangedPatch ?? []) {
    if (pc === null) continue;
    const p = peers.get(pc.NodeID);
    if (p === undefined) continue;
    const q: Node = { ...p };
    if (pc.DERPRegion) {
      q.HomeDERP = pc.DERPRegion;
      // A stale legacy string must not contradict the patched home region.
      delete q.DERP;
    }
    if (pc.Cap) q.Cap = pc.Cap;
    if (pc.Endpoints !== undefined && pc.Endpoints !== null) q.Endpoints = pc.Endpoints;
    if (pc.Key) q.Key = pc.Key;
    if (pc.DiscoKey) q.DiscoKey = pc.DiscoKey;
    if (pc.Online !== undefined && pc.Online !== null) q.Online = pc.Online;
    if (pc.LastSeen) q.LastSeen = pc.LastSeen;
    if (pc.KeyExpiry) q.KeyExpiry = pc.KeyExpiry;
    if (pc.KeySignature) q.KeySignature = pc.KeySignature;
    if (pc.CapMap !== undefined && pc.CapMap !== null) q.CapMap = pc.CapMap;
    peers.set(p.ID, q);
  }
  return peers;
}

/** Merges a DERPMap update: nil regions dropped; nil Regions / HomeParams / RegionScore kept. */
export function mergeDerpMap(prev: DERPMap | null, next: DERPMap): DERPMap {
  const out: DERPMap = { ...next };
  if (next.Regions !== null && next.Regions !== undefined) {
    const regions: Record<string, DERPRegion> = {};
    for (const [id, r] of Object.entries(next.Regions)) {
      if (r === null) continue;
      regions[id] = { ...r, Nodes: (r.Nodes ?? []).filter((n) => n !== null) };
    }
    out.Regions = regions;
  } else if (prev !== null) {
    out.Regions = prev.Regions;
    if (prev.omitDefaultRegions !== undefined) out.omitDefaultRegions = prev.omitDefaultRegions;
  } else {
    out.Regions = {};
  }
  if (prev !== null) {
    if (next.HomeParams === undefined || next.HomeParams === null) {
      if (prev.HomeParams !== undefined) out.HomeParams = prev.HomeParams;
    } else if (
      (next.HomeParams.RegionScore === undefined || next.HomeParams.RegionScore === null) &&
      prev.HomeParams?.RegionScore
    ) {
      out.HomeParams = { ...next.HomeParams, RegionScore: prev.HomeParams.RegionScore };
    }
  }
  return out;
}

/** An incremental by-name update: null deletes a name, `"*": null` clears everything first. */
function applyNamed<T>(
  prev: ReadonlyMap<string, T>,
  update: Record<string, T | null>,
): ReadonlyMap<string, T> {
  const out = "*" in update && update["*"] === null ? new Map<string, T>() : new Map(prev);
  for (const [name, v] of Object.entries(update)) {
    if (name === "*") continue;
    if (v !== null) out.set(name, v);
    else out.delete(name);
  }
  return out;
}

function applyFilters(nm: NetworkMap, base: NetworkMap, resp: MapResponse): void {
  let changed = false;
  let named = base.packetFilters;
  const edit = () => {
    if (named === base.packetFilters) named = new Map(base.packetFilters);
    return named as Map<string, FilterRule[]>;
  };
  if (resp.PacketFilter !== undefined && resp.PacketFilter !== null) {
    changed = true;
    edit().set("base", resp.PacketFilter);
  }
  const m = resp.PacketFilters;
  if (m !== undefined && m !== null) {
    changed = true;
    if ("*" in m && m["*"] === null) named = new Map();
    for (const [name, rules] of Object.entries(m)) {
      if (name === "*") continue;
      if (rules !== null) edit().set(name, rules);
      else edit().delete(name);
    }
  }
  if (!changed) return;
  nm.packetFilters = named;
  const effective: FilterRule[] = [];
  for (const name of [...named.keys()].sort()) effective.push(...named.get(name)!);
  nm.packetFilter = effective;
}
