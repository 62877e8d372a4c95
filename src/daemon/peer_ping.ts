/**
 * Disco pings of a peer, for the two who ask: `warren tun ping PEER` (through the
 * LocalAPI) and control's "disco" PingRequest, answered as tailcfg.PingResponse
 * (`tailscale ping`'s result, as control sees it).
 *
 * @module
 */

import type { NetworkMap } from "../netmap/network_map.ts";
import type { PingResponse } from "../netmap/tailcfg.ts";
import type { PingResult } from "../magicsock/magicsock.ts";
import { parseNodePublic } from "../key/node_key.ts";
import { findPeer } from "./tailnet_status.ts";

/** What `tun ping` shows. */
export interface PeerPingResult {
  /** The peer's MagicDNS name, without the trailing dot. */
  peer: string;
  /** Its first address. */
  address: string;
  /** The pong, or null if none came in time. */
  result: PingResult | null;
}

/**
 * Pings a peer named by MagicDNS name, short name or address.
 *
 * @throws {Error} when no peer has that name or address
 */
export async function pingPeer(
  nm: NetworkMap,
  target: string,
  ping: (nodeKey: Uint8Array) => Promise<PingResult | null>,
): Promise<PeerPingResult> {
  const node = findPeer(nm, target);
  if (!node) throw new Error(`no peer named "${target}" in the netmap`);
  return {
    peer: node.Name.replace(/\.$/, ""),
    address: (node.Addresses ?? [])[0]?.split("/")[0] ?? "",
    result: await ping(parseNodePublic(node.Key)),
  };
}

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
