/**
 * How to reach a DERP region from its DERPMap entry: which node, which URL,
 * which address to dial and how to check its certificate.
 *
 * @module
 */
import type { DERPMap, DERPRegion } from "../netmap/tailcfg.ts";

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
}

/**
 * The first DERP-capable node of `region` (nodes are in priority order,
 * STUN-only ones skipped), as a dial target; null if it has none.
 */
export function derpTarget(region: DERPRegion, plainHttp: boolean): DerpTarget | null {
  for (const node of region.Nodes ?? []) {
    if (!node || node.STUNOnly) continue;
    const scheme = plainHttp ? "http" : "https";
    const port = node.DERPPort && node.DERPPort > 0 ? node.DERPPort : (plainHttp ? 80 : 443);
    const host = node.HostName.includes(":") ? `[${node.HostName}]` : node.HostName;
    const forced = node.IPv4 && node.IPv4 !== "none"
      ? node.IPv4
      : (node.IPv6 && node.IPv6 !== "none" ? node.IPv6 : undefined);
    return {
      regionId: region.RegionID,
      url: `${scheme}://${host}:${port}/derp`,
      dialHost: forced,
      certName: node.CertName || undefined,
      insecureForTests: !!node.InsecureForTests,
    };
  }
  return null;
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
