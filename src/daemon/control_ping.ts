/**
 * The node's side of a "disco" PingRequest from control: ping the peer that owns
 * an IP over whatever path magicsock uses, and describe the answer as
 * tailcfg.PingResponse (`tailscale ping`'s result, as control sees it).
 *
 * @module
 */

import type { NetworkMap } from "../netmap/network_map.ts";
import type { PingResponse } from "../netmap/tailcfg.ts";
import type { PingResult } from "../magicsock/magicsock.ts";
import { parseNodePublic } from "../key/node_key.ts";
import { findPeer } from "./tailnet_status.ts";

/**
 * Pings the peer owning ip. A peer that is unknown, is this node, or has no
 * disco key gives a PingResponse with Err (tailscaled reports those, too).
 *
 * @param ping magicsock's disco ping: null when no pong came in time
 * @throws {Error} when no pong came (the answer is then not posted, as in tailscaled)
 */
export async function discoPingResponse(
  nm: NetworkMap,
  ip: string,
  ping: (nodeKey: Uint8Array) => Promise<PingResult | null>,
): Promise<PingResponse> {
  const own = (nm.self?.Addresses ?? []).some((a) => a.split("/")[0] === ip);
  if (own) return { Type: "disco", IP: ip, Err: `${ip} is local Tailscale IP`, IsLocalIP: true };
  const node = findPeer(nm, ip);
  if (!node) return { Type: "disco", IP: ip, Err: `no matching peer` };
  const result = await ping(parseNodePublic(node.Key));
  if (!result) throw new Error(`disco ping to ${ip} timed out`);
  const res: PingResponse = {
    Type: "disco",
    IP: ip,
    NodeIP: (node.Addresses ?? [])[0]?.split("/")[0],
    NodeName: node.Name.split(".")[0],
    LatencySeconds: result.latencyMs / 1000,
  };
  const derp = result.via.match(/^derp-(\d+)$/);
  if (derp) {
    res.DERPRegionID = Number(derp[1]);
    const code = nm.derpMap?.Regions?.[derp[1]]?.RegionCode;
    if (code) res.DERPRegionCode = code;
  } else {
    res.Endpoint = result.via;
  }
  return res;
}
