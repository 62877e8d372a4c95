/**
 * Builders of IPv4/IPv6 packets carrying UDP, TCP or ICMP, every checksum
 * filled in.
 *
 * @module
 */

import { writeChecksums } from "./checksum.ts";
import {
  ICMP_HEADER_LEN,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPV4_HEADER_LEN,
  IPV6_HEADER_LEN,
  TCP_HEADER_LEN,
  UDP_HEADER_LEN,
} from "./packet_constants.ts";

const EMPTY = new Uint8Array(0);

/** Addresses and hop limit shared by every packet builder. */
export interface IpSpec {
  /** Source address: 4 bytes (IPv4 packet) or 16 bytes (IPv6 packet). */
  src: Uint8Array;
  /** Destination address, same family as `src`. */
  dst: Uint8Array;
  /** IPv4 TTL or IPv6 hop limit; default 64. */
  ttl?: number;
}

/** What {@linkcode buildUdpPacket} puts in a datagram. */
export interface UdpSpec extends IpSpec {
  /** Source port. */
  srcPort: number;
  /** Destination port. */
  dstPort: number;
  /** The UDP payload. */
  payload: Uint8Array;
}

/** What {@linkcode buildTcpPacket} puts in a segment. */
export interface TcpSpec extends IpSpec {
  /** Source port. */
  srcPort: number;
  /** Destination port. */
  dstPort: number;
  /** Sequence number. */
  seq?: number;
  /** Acknowledgement number. */
  ack?: number;
  /** Flags byte (TCP_SYN | TCP_ACK …). */
  flags: number;
  /** Receive window; default 65535. */
  window?: number;
  /** TCP options, padded with zeros to a multiple of 4 bytes. */
  options?: Uint8Array;
  /** The segment's data. */
  payload?: Uint8Array;
}

/** What {@linkcode buildIcmpPacket} puts in an ICMP (IPv4) or ICMPv6 (IPv6) message. */
export interface IcmpSpec extends IpSpec {
  /** Message type (8 = echo request for ICMP, 128 for ICMPv6). */
  type: number;
  /** Message code. */
  code?: number;
  /** The 32-bit word after the checksum (identifier << 16 | sequence for echo). */
  rest?: number;
  /** The message body. */
  payload?: Uint8Array;
}

/**
 * Builds an IPv4 or IPv6 UDP datagram with correct checksums.
 *
 * @example
 * ```ts
 * import { buildUdpPacket, verifyChecksums } from "./packet.ts";
 * import { parseIp } from "./ip.ts";
 * const b = buildUdpPacket({
 *   src: parseIp("fd7a:115c:a1e0::53"), dst: parseIp("fd7a:115c:a1e0::1"),
 *   srcPort: 53, dstPort: 40000, payload: new Uint8Array(20),
 * });
 * verifyChecksums(b); // true
 * ```
 * @throws {TypeError} if the addresses are not both 4 or both 16 bytes
 * @throws {RangeError} if a port is out of range or the packet exceeds 65535 bytes
 */
export function buildUdpPacket(spec: UdpSpec): Uint8Array {
  checkPort(spec.srcPort);
  checkPort(spec.dstPort);
  const l4Len = UDP_HEADER_LEN + spec.payload.length;
  const { b, off } = ipHeader(spec, IPPROTO_UDP, l4Len);
  put16(b, off, spec.srcPort);
  put16(b, off + 2, spec.dstPort);
  put16(b, off + 4, l4Len);
  b.set(spec.payload, off + UDP_HEADER_LEN);
  writeChecksums(b);
  return b;
}

/**
 * Builds an IPv4 or IPv6 TCP segment with correct checksums.
 *
 * @example
 * ```ts
 * import { buildTcpPacket, parsePacket, TCP_SYN } from "./packet.ts";
 * import { parseIp } from "./ip.ts";
 * const b = buildTcpPacket({
 *   src: parseIp("100.64.0.2"), dst: parseIp("100.64.0.1"), srcPort: 40000, dstPort: 22,
 *   flags: TCP_SYN,
 * });
 * parsePacket(b).tcpFlags; // 2
 * ```
 * @throws {TypeError} if the addresses are not both 4 or both 16 bytes
 * @throws {RangeError} if a port, the options or the size is out of range
 */
export function buildTcpPacket(spec: TcpSpec): Uint8Array {
  checkPort(spec.srcPort);
  checkPort(spec.dstPort);
  const options = spec.options ?? EMPTY;
  const optLen = (options.length + 3) & ~3;
  if (optLen > 40) throw new RangeError(`TCP options of ${options.length} bytes exceed 40`);
  const payload = spec.payload ?? EMPTY;
  const hdrLen = TCP_HEADER_LEN + optLen;
  const { b, off } = ipHeader(spec, IPPROTO_TCP, hdrLen + payload.length);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  put16(b, off, spec.srcPort);
  put16(b, off + 2, spec.dstPort);
  v.setUint32(off + 4, (spec.seq ?? 0) >>> 0);
  v.setUint32(off + 8, (spec.ack ?? 0) >>> 0);
  b[off + 12] = (hdrLen >> 2) << 4;
  b[off + 13] = spec.flags & 0xff;
  put16(b, off + 14, spec.window ?? 65535);
  b.set(options, off + TCP_HEADER_LEN);
  b.set(payload, off + hdrLen);
  writeChecksums(b);
  return b;
}

/**
 * Builds an ICMP (over IPv4) or ICMPv6 (over IPv6) message with correct
 * checksums; ICMPv6 includes the pseudo-header, ICMP does not.
 *
 * @example
 * ```ts
 * import { buildIcmpPacket, parsePacket } from "./packet.ts";
 * import { parseIp } from "./ip.ts";
 * const b = buildIcmpPacket({ src: parseIp("100.64.0.2"), dst: parseIp("100.64.0.1"), type: 8 });
 * parsePacket(b).icmpType; // 8
 * ```
 * @throws {TypeError} if the addresses are not both 4 or both 16 bytes
 * @throws {RangeError} if the packet exceeds 65535 bytes
 */
export function buildIcmpPacket(spec: IcmpSpec): Uint8Array {
  const payload = spec.payload ?? EMPTY;
  const proto = spec.src.length === 4 ? IPPROTO_ICMP : IPPROTO_ICMPV6;
  const { b, off } = ipHeader(spec, proto, ICMP_HEADER_LEN + payload.length);
  b[off] = spec.type & 0xff;
  b[off + 1] = (spec.code ?? 0) & 0xff;
  new DataView(b.buffer, b.byteOffset).setUint32(off + 4, (spec.rest ?? 0) >>> 0);
  b.set(payload, off + ICMP_HEADER_LEN);
  writeChecksums(b);
  return b;
}

/** Lays out the IP header for `l4Len` bytes of `proto`; returns the buffer and where L4 starts. */
function ipHeader(spec: IpSpec, proto: number, l4Len: number): { b: Uint8Array; off: number } {
  const fam = spec.src.length;
  if ((fam !== 4 && fam !== 16) || spec.dst.length !== fam) {
    throw new TypeError(
      `Cannot build packet: addresses must both be IPv4 or both IPv6, got ${fam} and ${spec.dst.length} bytes`,
    );
  }
  const ttl = spec.ttl ?? 64;
  if (fam === 4) {
    const total = IPV4_HEADER_LEN + l4Len;
    if (total > 0xffff) throw new RangeError(`Cannot build IPv4 packet of ${total} bytes`);
    const b = new Uint8Array(total);
    b[0] = 0x45;
    put16(b, 2, total);
    b[6] = 0x40; // don't fragment: we never build packets that need it
    b[8] = ttl;
    b[9] = proto;
    b.set(spec.src, 12);
    b.set(spec.dst, 16);
    return { b, off: IPV4_HEADER_LEN };
  }
  if (l4Len > 0xffff) throw new RangeError(`Cannot build IPv6 payload of ${l4Len} bytes`);
  const b = new Uint8Array(IPV6_HEADER_LEN + l4Len);
  b[0] = 0x60;
  put16(b, 4, l4Len);
  b[6] = proto;
  b[7] = ttl;
  b.set(spec.src, 8);
  b.set(spec.dst, 24);
  return { b, off: IPV6_HEADER_LEN };
}

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

function checkPort(p: number): void {
  if (!Number.isInteger(p) || p < 0 || p > 0xffff) {
    throw new RangeError(`Port ${p} out of range 0-65535`);
  }
}
