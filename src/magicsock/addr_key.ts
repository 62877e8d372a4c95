/**
 * A sockaddr as a map key, for the tables that find a datagram's peer by its source address,
 * and how many a peer keeps.
 *
 * @module
 */
import { endpointToString } from "../../ffi/udp.ts";

/**
 * Source addresses remembered per peer: its LAN, public v4/v6 and a few NAT rebinds.
 * Older ones are forgotten first; a peer that is really there re-proves a new one by disco.
 */
export const MAX_ADDRS_PER_PEER = 8;

/** A map key for a sockaddr: a number for IPv4 (ip·65536 + port), text for IPv6. */
export function addrKey(ep: Uint8Array): number | string {
  // v4-mapped ::ffff:a.b.c.d at bytes 8..24 of sockaddr_in6
  let mapped = ep[18] === 0xff && ep[19] === 0xff;
  for (let i = 8; mapped && i < 18; i++) if (ep[i] !== 0) mapped = false;
  const port = (ep[2] << 8) | ep[3];
  if (mapped) {
    return ((ep[20] << 24 >>> 0) + (ep[21] << 16) + (ep[22] << 8) + ep[23]) * 65536 + port;
  }
  return endpointToString(ep);
}
