/**
 * A node's own WireGuard and disco datagrams looping into its TUN. A peer
 * advertises every interface address as an endpoint, a subnet router its LAN
 * address too; a node that routes that LAN to the router (`--accept-routes`)
 * sends its probes to that endpoint through the TUN, where they would be
 * encrypted and carried to the router inside the tunnel, and a "direct"
 * path through the tunnel itself could be chosen. tailscaled avoids it with
 * its routing table 52, which its marked sockets skip; warren's subnet routes
 * live in the main table, so the data plane drops such datagrams instead.
 *
 * @module
 */
import { formatIp } from "../net/ip.ts";
import { IPPROTO_UDP, type ParsedPacket } from "../net/packet.ts";

/**
 * Whether a packet read from the TUN is a datagram of the node's own UDP
 * socket (`port`, the WireGuard listen port; 0: none) — from that port and
 * from one of the node's own tailnet addresses (`self`, as the netmap gives
 * them, `100.64.0.2/32`), which the kernel picks as the source of what it
 * routes into the TUN. No other program can send from that port: warren
 * holds it; a LAN host's datagram a kernel router forwards has the LAN's
 * source.
 *
 * @example
 * ```ts
 * import { buildUdpPacket, parsePacket } from "../net/packet.ts";
 * const p = buildUdpPacket({
 *   src: Uint8Array.of(100, 64, 0, 2), dst: Uint8Array.of(10, 99, 0, 1),
 *   srcPort: 41641, dstPort: 41641, payload: new Uint8Array(4),
 * });
 * isOwnUnderlay(parsePacket(p), 41641, ["100.64.0.2/32"]); // true
 * ```
 */
export function isOwnUnderlay(
  p: ParsedPacket,
  port: number,
  self: readonly string[] | null | undefined,
): boolean {
  if (port === 0 || p.problem !== null || p.proto !== IPPROTO_UDP || p.laterFragment) return false;
  if (p.srcPort !== port) return false;
  const src = formatIp(p.srcIp());
  return (self ?? []).some((a) => a.split("/")[0] === src);
}
