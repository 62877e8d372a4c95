/**
 * IPv4/IPv6 packet headers with UDP, TCP and ICMP on top: a no-allocation
 * parser for the data plane (packet filter, DNS responder) and builders that
 * fill in every checksum, including the IPv6 pseudo-header. One import for
 * the many users of all three; each part lives in its own module.
 *
 * @module
 */

export * from "./packet_constants.ts";
export { ParsedPacket, parsePacket } from "./packet_parse.ts";
export {
  finishChecksum,
  sumWords,
  transportChecksumOk,
  verifyChecksums,
  writeChecksums,
} from "./checksum.ts";
export {
  buildIcmpPacket,
  buildTcpPacket,
  buildUdpPacket,
  type IcmpSpec,
  type IpSpec,
  type TcpSpec,
  type UdpSpec,
} from "./packet_build.ts";
