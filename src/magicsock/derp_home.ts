/**
 * Choosing the home DERP region: the region with the lowest measured
 * latency, measured with a STUN binding request to the region's STUN port
 * (as netcheck does), or by timing a TCP connect to its DERP port where STUN
 * is disabled or unanswered. A region's nodes are tried in order, over IPv4 and
 * IPv6, until one answers. Regions marked NoMeasureNoHome are never chosen.
 *
 * @module
 */
import type { DERPMap, DERPNode, DERPRegion } from "../netmap/tailcfg.ts";
import { deadline, raceAbort } from "../net/abortable.ts";
import { dialTcp } from "../net/bypass_dial.ts";
import { defaultHostCache, type HostCache } from "../net/host_cache.ts";
import { stunQuery } from "../stun/client.ts";
import { choosePreferred } from "./preferred_derp.ts";

/** How long one probe may take (netcheck's STUN probe timeout). */
export const PROBE_TIMEOUT_MS = 3000;

/** A region's measured latency, or null if no probe came back. */
export interface RegionLatency {
  /** Region ID. */
  regionId: number;
  /** Best round trip in ms, null if unreachable. */
  latencyMs: number | null;
  /** How it was measured. */
  method: "stun" | "tcp" | "none";
}

/** Options for {@link measureRegions}. */
export interface MeasureOptions {
  /** Resolves nodes given only by HostName (default: a shared cache over the system DNS). */
  hosts?: HostCache;
  /** Per-probe limit (default {@link PROBE_TIMEOUT_MS}). */
  probeTimeoutMs?: number;
  /**
   * One STUN round trip to ip:port in ms, null without an answer. Default: a fresh socket
   * ({@link stunQuery}); a node passes its own (marked) socket's prober, as tailscaled's
   * netcheck sends from magicsock's socket.
   */
  stun?: (ip: string, port: number, timeoutMs: number) => Promise<number | null>;
}

/** The default {@link MeasureOptions.stun}: a query from a socket of its own. */
function freshSocketStun(ip: string, port: number, timeoutMs: number): Promise<number | null> {
  return stunQuery(ip, port, timeoutMs).then((r) => r.rttMs, () => null);
}

/**
 * Measures every measurable region concurrently. Within a region the nodes are
 * tried in order, each at its IPv4 and IPv6 addresses (the map's, or its HostName's
 * when the map gives none), until one answers.
 */
export async function measureRegions(
  map: DERPMap,
  plainHttp: boolean,
  opts: MeasureOptions = {},
): Promise<RegionLatency[]> {
  const regions = Object.values(map.Regions ?? {}).filter((r): r is DERPRegion =>
    !!r && !r.NoMeasureNoHome
  );
  return await Promise.all(regions.map((r) => measureRegion(r, plainHttp, opts)));
}

/**
 * A node's addresses: the map's IPv4/IPv6 where set ("none" disables a family), the
 * HostName's A/AAAA records where both are unset.
 */
export async function nodeAddrs(node: DERPNode, hosts: HostCache): Promise<string[]> {
  const forced = [node.IPv4, node.IPv6].filter((a): a is string => !!a && a !== "none");
  if (forced.length > 0) return forced;
  if (node.IPv4 === "none" && node.IPv6 === "none") return [];
  const { v4, v6 } = await hosts.lookup(node.HostName);
  return [
    ...(node.IPv4 === "none" ? [] : v4.slice(0, 1)),
    ...(node.IPv6 === "none" ? [] : v6.slice(0, 1)),
  ];
}

async function measureRegion(
  region: DERPRegion,
  plainHttp: boolean,
  opts: MeasureOptions,
): Promise<RegionLatency> {
  const hosts = opts.hosts ?? defaultHostCache;
  const timeout = opts.probeTimeoutMs ?? PROBE_TIMEOUT_MS;
  for (const node of region.Nodes ?? []) {
    if (!node) continue;
    const addrs = await nodeAddrs(node, hosts);
    const stunPort = node.STUNPort === undefined || node.STUNPort === 0 ? 3478 : node.STUNPort;
    if (stunPort > 0) {
      const ms = best(
        await Promise.all(
          addrs.map((a) => (opts.stun ?? freshSocketStun)(a, stunPort, timeout)),
        ),
      );
      if (ms !== null) return { regionId: region.RegionID, latencyMs: ms, method: "stun" };
    }
    if (!node.STUNOnly) {
      const port = node.DERPPort && node.DERPPort > 0 ? node.DERPPort : (plainHttp ? 80 : 443);
      const ms = best(await Promise.all(addrs.map((a) => tcpConnectTime(a, port, timeout))));
      if (ms !== null) return { regionId: region.RegionID, latencyMs: ms, method: "tcp" };
    }
  }
  return { regionId: region.RegionID, latencyMs: null, method: "none" };
}

function best(samples: (number | null)[]): number | null {
  const got = samples.filter((x): x is number => x !== null);
  return got.length > 0 ? Math.min(...got) : null;
}

/** Time to complete a TCP connect, null on failure or after `timeoutMs`; the socket is closed. */
export async function tcpConnectTime(
  hostname: string,
  port: number,
  timeoutMs = PROBE_TIMEOUT_MS,
): Promise<number | null> {
  const started = performance.now();
  using limit = deadline(timeoutMs);
  try {
    const conn = await raceAbort(
      dialTcp({ hostname, port, signal: limit.signal }),
      limit.signal,
    );
    const ms = performance.now() - started;
    conn.close();
    return ms;
  } catch {
    return null;
  }
}

/**
 * The home region from one round of measurements: the lowest latency (scaled by
 * HomeParams.RegionScore when set), keeping the current home unless the new one is
 * clearly better ({@link choosePreferred}'s rule, with this round as the only history).
 * `current` if nothing answered. NetcheckLoop (netcheck_loop.ts) applies the same rule over the
 * recent rounds.
 */
export function chooseHome(
  measured: RegionLatency[],
  current: number,
  scores: Record<string, number> | null | undefined,
): number {
  const bestRecent = new Map<number, number>();
  for (const m of measured) if (m.latencyMs !== null) bestRecent.set(m.regionId, m.latencyMs);
  const p = choosePreferred({ current: measured, bestRecent, previous: current, scores });
  return p === 0 ? current : p;
}
