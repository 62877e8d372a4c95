/**
 * How to reach a DERP region from its DERPMap entry: which nodes, which URLs,
 * which addresses to dial in which order, and how to check their certificates.
 *
 * @module
 */
import type { DerpDialCandidate } from "../derp/dial.ts";
import type { DERPMap, DERPNode, DERPRegion } from "../netmap/tailcfg.ts";

/** Dial parameters for one region's DERP server. */
export interface DerpTarget {
  /** Region ID. */
  regionId: number;
  /** `https://host:port/derp` (or `http://` when plain HTTP is forced). */
  url: string;
  /** Address to dial instead of resolving the host name, if the map forces one. */
  dialHost?: string;
  /** DERPNode.CertName: a name to verify, or a `sha256-raw:` pin. */
  certName?: string;
  /** DERPNode.InsecureForTests. */
  insecureForTests: boolean;
  /** The region's other addresses, in the order to try them when the first fails. */
  alternates: DerpDialCandidate[];
}

/** A DERPNode.IPv4/IPv6 value that names an address (not empty, not "none"). */
function forcedAddr(v: string | undefined): string | undefined {
  return v && v !== "none" ? v : undefined;
}

/**
 * Where one node can be dialled, IPv4 first, then IPv6 (derphttp's dialNode races the
 * two; we try them in turn). A node with neither address forced is dialled by name; one
 * with both set to "none" cannot be dialled at all.
 */
function nodeCandidates(node: DERPNode, plainHttp: boolean): DerpDialCandidate[] {
  const scheme = plainHttp ? "http" : "https";
  const port = node.DERPPort && node.DERPPort > 0 ? node.DERPPort : (plainHttp ? 80 : 443);
  const host = node.HostName.includes(":") ? `[${node.HostName}]` : node.HostName;
  const base: DerpDialCandidate = {
    url: `${scheme}://${host}:${port}/derp`,
    certName: node.CertName || undefined,
    insecureForTests: !!node.InsecureForTests,
  };
  const v4 = forcedAddr(node.IPv4), v6 = forcedAddr(node.IPv6);
  if (v4 || v6) {
    return [v4, v6].filter((a): a is string => !!a).map((a) => ({ ...base, dialHost: a }));
  }
  return node.IPv4 === "none" && node.IPv6 === "none" ? [] : [base];
}

/**
 * The region's DERP-capable nodes (in priority order, STUN-only ones skipped) as a dial
 * target: the first address, then the rest as alternates; null if it has none. An
 * address of a node other than the first carries that first node's name as Ideal-Node.
 */
export function derpTarget(region: DERPRegion, plainHttp: boolean): DerpTarget | null {
  const nodes = (region.Nodes ?? []).filter((n): n is DERPNode => !!n && !n.STUNOnly);
  const all: DerpDialCandidate[] = [];
  for (const [i, node] of nodes.entries()) {
    for (const c of nodeCandidates(node, plainHttp)) {
      all.push(i === 0 || !nodes[0].Name ? c : { ...c, idealNode: nodes[0].Name });
    }
  }
  if (all.length === 0) return null;
  const [first, ...alternates] = all;
  return {
    regionId: region.RegionID,
    url: first.url,
    dialHost: first.dialHost,
    certName: first.certName,
    insecureForTests: !!first.insecureForTests,
    alternates,
  };
}

/** Every region of the map that has a DERP server, by ID. */
export function derpTargets(map: DERPMap | null, plainHttp: boolean): Map<number, DerpTarget> {
  const out = new Map<number, DerpTarget>();
  for (const region of Object.values(map?.Regions ?? {})) {
    if (!region) continue;
    const t = derpTarget(region, plainHttp);
    if (t) out.set(region.RegionID, t);
  }
  return out;
}
