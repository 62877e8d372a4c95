/**
 * A wg-quick config's peer endpoints as socket addresses: IP literals as
 * they are, host names through DNS (A, then AAAA), once at start as
 * wg-quick does.
 *
 * @module
 */
import { endpointFromString } from "../../ffi/udp.ts";
import type { WgConfig } from "../wireguard/wg_quick.ts";
import { UsageError } from "./usage.ts";

/** Resolves each peer's Endpoint (names through DNS) to a socket address. */
export async function resolveEndpoints(
  config: WgConfig,
  file: string,
): Promise<(Uint8Array | null)[]> {
  const out: (Uint8Array | null)[] = [];
  for (const peer of config.peers) {
    if (peer.endpoint === null) {
      out.push(null);
      continue;
    }
    const m = /^(?:\[([^\]]+)\]|([^:]+)):(\d+)$/.exec(peer.endpoint);
    const host = m?.[1] ?? m?.[2];
    if (!m || !host) throw new UsageError(`${file}: bad Endpoint "${peer.endpoint}"`);
    try {
      out.push(endpointFromString(peer.endpoint));
      continue;
    } catch {
      // Not an IP literal: a host name.
    }
    let addrs: string[] = [];
    for (const type of ["A", "AAAA"] as const) {
      try {
        addrs = await Deno.resolveDns(host, type);
      } catch {
        addrs = [];
      }
      if (addrs.length > 0) break;
    }
    if (addrs.length === 0) {
      throw new UsageError(`${file}: cannot resolve Endpoint host "${host}"`);
    }
    const ip = addrs[0];
    out.push(endpointFromString(ip.includes(":") ? `[${ip}]:${m[3]}` : `${ip}:${m[3]}`));
  }
  return out;
}
