/**
 * Endpoint discovery: the addresses peers may reach our UDP socket at —
 * local interface addresses, and the public mappings STUN servers report
 * for the socket — with the types MapRequest.EndpointTypes uses.
 *
 * @module
 */
import { endpointFromIp } from "../../ffi/udp.ts";
import { formatIp, parseIp } from "../net/ip.ts";
import { defaultHostCache, type HostCache } from "../net/host_cache.ts";
import type { DERPMap, DERPNode } from "../netmap/tailcfg.ts";
import { nodeAddrs } from "./derp_home.ts";
import type { StunProber } from "./stun_prober.ts";

/** tailcfg.EndpointType values. */
export const ENDPOINT_LOCAL = 1;
/** Found by STUN. */
export const ENDPOINT_STUN = 2;

/** One discovered endpoint. */
export interface Endpoint {
  /** "ip:port" or "[ip]:port". */
  addr: string;
  /** ENDPOINT_LOCAL or ENDPOINT_STUN. */
  type: number;
}

/** What a discovery round found. */
export interface Discovery {
  /** Endpoints, STUN first (most useful to peers), then local. */
  endpoints: Endpoint[];
  /** Whether different STUN servers saw different mappings (a hard, symmetric NAT). */
  mappingVariesByDestIp: boolean | null;
  /** Whether any STUN server answered over UDP. */
  udp: boolean;
}

/** "ip:port" for an address and port. */
function joinHostPort(ip: Uint8Array, port: number): string {
  const s = formatIp(ip);
  return ip.length === 16 ? `[${s}]:${port}` : `${s}:${port}`;
}

function isTailnetAddr(ip: Uint8Array): boolean {
  if (ip.length === 4) return ip[0] === 100 && (ip[1] & 0xc0) === 64; // 100.64.0.0/10
  return ip[0] === 0xfd && ip[1] === 0x7a && ip[2] === 0x11 && ip[3] === 0x5c && ip[4] === 0xa1 &&
    ip[5] === 0xe0;
}

/** Local interface addresses usable by peers on the same network (no loopback, link-local, tailnet). */
export function localEndpoints(port: number): Endpoint[] {
  const out: Endpoint[] = [];
  const seen = new Set<string>();
  for (const nic of Deno.networkInterfaces()) {
    let ip: Uint8Array;
    try {
      ip = parseIp(nic.address.split("%")[0]);
    } catch {
      continue;
    }
    if (ip.length === 4 && (ip[0] === 127 || (ip[0] === 169 && ip[1] === 254))) continue;
    if (
      ip.length === 16 &&
      ((ip[0] === 0xfe && (ip[1] & 0xc0) === 0x80) || ip.every((b, i) => b === (i === 15 ? 1 : 0)))
    ) {
      continue;
    }
    if (isTailnetAddr(ip)) continue;
    const addr = joinHostPort(ip, port);
    if (!seen.has(addr)) {
      seen.add(addr);
      out.push({ addr, type: ENDPOINT_LOCAL });
    }
  }
  return out;
}

/**
 * The STUN servers of a DERP map: every node with STUN enabled, at its IPv4 and IPv6
 * addresses (the map's, or its HostName's when the map gives none; the socket is
 * dual-stack), as socket endpoints.
 */
export async function stunServers(
  map: DERPMap | null,
  hosts: HostCache = defaultHostCache,
): Promise<Uint8Array[]> {
  const nodes = Object.values(map?.Regions ?? {}).flatMap((r) => r?.Nodes ?? [])
    .filter((n): n is DERPNode => !!n && n.STUNPort !== -1);
  const lists = await Promise.all(nodes.map(async (node) => {
    const port = node.STUNPort && node.STUNPort > 0 ? node.STUNPort : 3478;
    return (await nodeAddrs(node, hosts)).map((a) => endpointFromIp(parseIp(a), port));
  }));
  return lists.flat();
}

/** Options for {@link discoverEndpoints}. */
export interface DiscoverOptions {
  /** Resolves STUN servers given only by HostName (default: a shared cache over the system DNS). */
  hosts?: HostCache;
  /** Per-probe limit (default 3 s, netcheck's stunProbeTimeout). */
  probeTimeoutMs?: number;
  /** The host's own endpoints on `port` (default {@link localEndpoints}, read afresh). */
  local?: (port: number) => Endpoint[];
}

/** One discovery round: STUN every server through the shared socket, plus local addresses. */
export async function discoverEndpoints(
  prober: StunProber,
  map: DERPMap | null,
  port: number,
  opts: DiscoverOptions = {},
): Promise<Discovery> {
  const servers = await stunServers(map, opts.hosts);
  const timeout = opts.probeTimeoutMs ?? 3000;
  // A send that fails at once (no IPv6 route) is an unanswered probe, not a failed round.
  const results = await Promise.all(
    servers.map((s) => prober.probe(s, timeout).catch(() => null)),
  );
  const mapped = new Set<string>();
  const mappedV4 = new Set<string>();
  for (const r of results) {
    if (!r) continue;
    mapped.add(joinHostPort(r.ip, r.port));
    if (r.ip.length === 4) mappedV4.add(joinHostPort(r.ip, r.port));
  }
  const endpoints: Endpoint[] = [...mapped].map((addr) => ({ addr, type: ENDPOINT_STUN }));
  const have = new Set(mapped);
  for (const e of (opts.local ?? localEndpoints)(port)) if (!have.has(e.addr)) endpoints.push(e);
  const answeredV4 = results.filter((r) => r !== null && r.ip.length === 4).length;
  return {
    endpoints,
    // Judged on IPv4 alone: an IPv6 mapping always differs from an IPv4 one.
    mappingVariesByDestIp: answeredV4 >= 2 ? mappedV4.size > 1 : null,
    udp: results.some((r) => r !== null),
  };
}
