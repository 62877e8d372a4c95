/**
 * Choosing the home DERP region: the region with the lowest measured
 * latency, measured with a STUN binding request to the region's STUN port
 * (as netcheck does), or by timing a TCP connect to its DERP port where STUN
 * is disabled. Regions marked NoMeasureNoHome are never chosen.
 *
 * @module
 */
import type { DERPMap, DERPRegion } from "../netmap/tailcfg.ts";
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

/** Measures every measurable region concurrently. */
export async function measureRegions(
  map: DERPMap,
  plainHttp: boolean,
): Promise<RegionLatency[]> {
  const regions = Object.values(map.Regions ?? {}).filter((r): r is DERPRegion =>
    !!r && !r.NoMeasureNoHome
  );
  return await Promise.all(regions.map((r) => measureRegion(r, plainHttp)));
}

async function measureRegion(region: DERPRegion, plainHttp: boolean): Promise<RegionLatency> {
  let best: number | null = null;
  let method: RegionLatency["method"] = "none";
  for (const node of region.Nodes ?? []) {
    if (!node) continue;
    const host = node.IPv4 && node.IPv4 !== "none" ? node.IPv4 : node.HostName;
    const stunPort = node.STUNPort === undefined || node.STUNPort === 0 ? 3478 : node.STUNPort;
    let ms: number | null = null;
    if (stunPort > 0) {
      ms = await stunQuery(host, stunPort, PROBE_TIMEOUT_MS).then((r) => r.rttMs, () => null);
      if (ms !== null) method = "stun";
    }
    if (ms === null && !node.STUNOnly) {
      const port = node.DERPPort && node.DERPPort > 0 ? node.DERPPort : (plainHttp ? 80 : 443);
      ms = await tcpConnectTime(host, port);
      if (ms !== null && method === "none") method = "tcp";
    }
    if (ms !== null && (best === null || ms < best)) best = ms;
  }
  return { regionId: region.RegionID, latencyMs: best, method };
}

async function tcpConnectTime(hostname: string, port: number): Promise<number | null> {
  const started = performance.now();
  const timeout = AbortSignal.timeout(PROBE_TIMEOUT_MS);
  try {
    const conn = await Promise.race([
      Deno.connect({ hostname, port }),
      new Promise<never>((_, reject) =>
        timeout.addEventListener("abort", () => reject(timeout.reason))
      ),
    ]);
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
