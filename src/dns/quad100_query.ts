/**
 * Which packets read from the TUN are DNS queries to MagicDNS at quad-100, for a data plane
 * that hands them on without loading the DNS codec.
 *
 * @module
 */
import { parseIp } from "../net/ip.ts";
import { IPPROTO_UDP, type ParsedPacket } from "../net/packet.ts";
import { DNS_PORT, QUAD100_V4, QUAD100_V6 } from "./constants.ts";

const Q4 = parseIp(QUAD100_V4);
const Q6 = parseIp(QUAD100_V6);

/**
 * Whether a parsed packet is UDP to quad-100 port 53 (IPv4 or IPv6): the
 * data plane's test for diverting a packet here instead of the TUN.
 *
 * @example
 * ```ts
 * import { isQuad100Query } from "./quad100_query.ts";
 * import { buildUdpPacket, parsePacket } from "../net/packet.ts";
 * import { parseIp } from "../net/ip.ts";
 * const b = buildUdpPacket({
 *   src: parseIp("100.64.0.1"), dst: parseIp("100.100.100.100"), srcPort: 4000, dstPort: 53,
 *   payload: new Uint8Array(12),
 * });
 * isQuad100Query(parsePacket(b)); // true
 * ```
 */
export function isQuad100Query(p: ParsedPacket): boolean {
  if (p.problem !== null || p.proto !== IPPROTO_UDP || p.laterFragment || p.dstPort !== DNS_PORT) {
    return false;
  }
  const q = p.version === 4 ? Q4 : Q6;
  const b = p.buf;
  for (let i = 0; i < q.length; i++) if (b[p.dstOff + i] !== q[i]) return false;
  return true;
}
