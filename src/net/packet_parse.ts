/**
 * A no-allocation parser of IPv4/IPv6 headers and the UDP, TCP, SCTP and
 * ICMP headers on top, for the data plane (packet filter, DNS responder).
 *
 * @module
 */

import {
  ICMP_HEADER_LEN,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_IPV6_FRAGMENT,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_HEADER_LEN,
  IPV6_HEADER_LEN,
  MIN_LATER_FRAGMENT_BLOCKS,
  TCP_HEADER_LEN,
  UDP_HEADER_LEN,
} from "./packet_constants.ts";

const EMPTY = new Uint8Array(0);

/**
 * The parsed view of one IP packet. Fields are offsets into `buf` and plain
 * numbers, so a single instance can be reused for every packet on the hot
 * path; addresses are copied out only when asked for.
 */
export class ParsedPacket {
  /** The packet bytes last parsed into this object. */
  buf: Uint8Array = EMPTY;
  /** 4 or 6; 0 if the first nibble is neither or the buffer is empty. */
  version: 0 | 4 | 6 = 0;
  /** Why the packet could not be fully parsed, or null. A packet with a problem must be dropped. */
  problem: string | null = "empty packet";
  /** Transport protocol (IANA number), after stepping over an IPv6 Fragment header. */
  proto: number = -1;
  /** Length of the IP packet from its header (bytes past it in `buf` are ignored). */
  length = 0;
  /** Offset of the source address in `buf`. */
  srcOff = 0;
  /** Offset of the destination address in `buf`. */
  dstOff = 0;
  /** 4 for IPv4, 16 for IPv6. */
  addrLen = 0;
  /** Offset of the transport header. */
  l4Off = 0;
  /** Offset of the transport payload (after the UDP/TCP/ICMP header). */
  payloadOff = 0;
  /** Source port for TCP, UDP and SCTP; 0 otherwise. */
  srcPort = 0;
  /** Destination port for TCP, UDP and SCTP; 0 otherwise. */
  dstPort = 0;
  /** TCP flags byte; 0 for other protocols. */
  tcpFlags = 0;
  /** ICMP/ICMPv6 type; -1 for other protocols. */
  icmpType: number = -1;
  /** ICMP/ICMPv6 code; -1 for other protocols. */
  icmpCode: number = -1;
  /** A non-first fragment: it carries no transport header, so ports and flags are unknown. */
  laterFragment = false;

  /** A copy of the source address (allocates; not for the per-packet path). */
  srcIp(): Uint8Array {
    return this.buf.slice(this.srcOff, this.srcOff + this.addrLen);
  }

  /** A copy of the destination address (allocates; not for the per-packet path). */
  dstIp(): Uint8Array {
    return this.buf.slice(this.dstOff, this.dstOff + this.addrLen);
  }

  /** The transport payload (a view into `buf`, not a copy). */
  payload(): Uint8Array {
    return this.buf.subarray(this.payloadOff, this.length);
  }
}

/**
 * Parses the IP header and, for UDP, TCP, SCTP, ICMP and ICMPv6, the
 * transport header. Never throws: a malformed packet comes back with
 * `problem` set. Follows tailscaled's rules for fragments: a first fragment
 * must hold the whole transport header; a later fragment is marked
 * `laterFragment` unless its offset could overlap a transport header (then
 * it is a problem). IPv6 extension headers other than a Fragment header
 * directly after the fixed header are not parsed (a problem).
 *
 * @example
 * ```ts
 * import { buildUdpPacket, parsePacket } from "./packet.ts";
 * import { parseIp } from "./ip.ts";
 * const b = buildUdpPacket({
 *   src: parseIp("100.64.0.1"), dst: parseIp("100.100.100.100"),
 *   srcPort: 5353, dstPort: 53, payload: new Uint8Array(12),
 * });
 * parsePacket(b).dstPort; // 53
 * ```
 */
export function parsePacket(b: Uint8Array, out: ParsedPacket = new ParsedPacket()): ParsedPacket {
  out.buf = b;
  out.version = 0;
  out.problem = null;
  out.proto = -1;
  out.length = 0;
  out.srcOff = out.dstOff = out.addrLen = 0;
  out.l4Off = out.payloadOff = 0;
  out.srcPort = out.dstPort = out.tcpFlags = 0;
  out.icmpType = out.icmpCode = -1;
  out.laterFragment = false;
  if (b.length === 0) {
    out.problem = "empty packet";
    return out;
  }
  const v = b[0] >> 4;
  if (v === 4) parse4(b, out);
  else if (v === 6) parse6(b, out);
  else out.problem = "not an IPv4 or IPv6 packet";
  return out;
}

function parse4(b: Uint8Array, out: ParsedPacket): void {
  out.version = 4;
  if (b.length < IPV4_HEADER_LEN) {
    out.problem = "shorter than an IPv4 header";
    return;
  }
  const ihl = (b[0] & 0x0f) << 2;
  const total = (b[2] << 8) | b[3];
  out.proto = b[9];
  out.addrLen = 4;
  out.srcOff = 12;
  out.dstOff = 16;
  if (ihl < IPV4_HEADER_LEN || total < ihl) {
    out.problem = "bad IPv4 header or total length";
    return;
  }
  if (b.length < total) {
    out.problem = "IPv4 packet cut short of its total length";
    return;
  }
  out.length = total;
  out.l4Off = ihl;
  const frag = (b[6] << 8) | b[7];
  const fragOff = frag & 0x1fff;
  if (fragOff !== 0) {
    markLaterFragment(out, fragOff);
    return;
  }
  parseTransport(b, out, ihl);
}

function parse6(b: Uint8Array, out: ParsedPacket): void {
  out.version = 6;
  if (b.length < IPV6_HEADER_LEN) {
    out.problem = "shorter than an IPv6 header";
    return;
  }
  const total = ((b[4] << 8) | b[5]) + IPV6_HEADER_LEN;
  out.proto = b[6];
  out.addrLen = 16;
  out.srcOff = 8;
  out.dstOff = 24;
  if (b.length < total) {
    out.problem = "IPv6 packet cut short of its payload length";
    return;
  }
  out.length = total;
  let off = IPV6_HEADER_LEN;
  if (out.proto === IPPROTO_IPV6_FRAGMENT) {
    if (total < off + 8) {
      out.problem = "IPv6 fragment header cut short";
      return;
    }
    out.proto = b[off];
    const fragOff = ((b[off + 2] << 8) | b[off + 3]) >> 3;
    off += 8;
    out.l4Off = off;
    if (fragOff !== 0) {
      markLaterFragment(out, fragOff);
      return;
    }
  }
  out.l4Off = off;
  parseTransport(b, out, off);
}

function markLaterFragment(out: ParsedPacket, blocks: number): void {
  out.laterFragment = true;
  out.payloadOff = out.l4Off;
  if (blocks < MIN_LATER_FRAGMENT_BLOCKS) {
    out.problem = "fragment offset could overlap the transport header";
  }
}

function parseTransport(b: Uint8Array, out: ParsedPacket, off: number): void {
  const have = out.length - off;
  switch (out.proto) {
    case IPPROTO_TCP:
      if (have < TCP_HEADER_LEN) {
        out.problem = "TCP header cut short";
        return;
      }
      out.srcPort = (b[off] << 8) | b[off + 1];
      out.dstPort = (b[off + 2] << 8) | b[off + 3];
      out.tcpFlags = b[off + 13];
      out.payloadOff = off + ((b[off + 12] >> 4) << 2);
      if (out.payloadOff < off + TCP_HEADER_LEN || out.payloadOff > out.length) {
        out.problem = "bad TCP data offset";
      }
      return;
    case IPPROTO_UDP:
    case IPPROTO_SCTP:
      if (have < (out.proto === IPPROTO_UDP ? UDP_HEADER_LEN : 12)) {
        out.problem = out.proto === IPPROTO_UDP ? "UDP header cut short" : "SCTP header cut short";
        return;
      }
      out.srcPort = (b[off] << 8) | b[off + 1];
      out.dstPort = (b[off + 2] << 8) | b[off + 3];
      out.payloadOff = off + (out.proto === IPPROTO_UDP ? UDP_HEADER_LEN : 12);
      return;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      if ((out.proto === IPPROTO_ICMP) !== (out.version === 4)) {
        out.problem = "ICMP of the wrong IP family";
        return;
      }
      if (have < ICMP_HEADER_LEN) {
        out.problem = "ICMP header cut short";
        return;
      }
      out.icmpType = b[off];
      out.icmpCode = b[off + 1];
      out.payloadOff = off + ICMP_HEADER_LEN;
      return;
    case 0: // hop-by-hop
    case 43: // routing
    case 44: // a second fragment header
    case 50: // ESP
    case 51: // AH
    case 60: // destination options
      if (out.version === 6) {
        out.problem = "unsupported IPv6 extension header";
        return;
      }
      out.payloadOff = off;
      return;
    default:
      out.payloadOff = off;
  }
}
