/**
 * IPv4/IPv6 packet headers with UDP, TCP and ICMP on top: a no-allocation
 * parser for the data plane (packet filter, DNS responder) and builders that
 * fill in every checksum, including the IPv6 pseudo-header.
 *
 * @module
 */

/** IANA protocol number of ICMP for IPv4. */
export const IPPROTO_ICMP = 1;
/** IANA protocol number of TCP. */
export const IPPROTO_TCP = 6;
/** IANA protocol number of UDP. */
export const IPPROTO_UDP = 17;
/** IANA protocol number of the IPv6 Fragment extension header. */
export const IPPROTO_IPV6_FRAGMENT = 44;
/** IANA protocol number of ICMPv6. */
export const IPPROTO_ICMPV6 = 58;
/** IANA protocol number of SCTP (ports sit where TCP's and UDP's do). */
export const IPPROTO_SCTP = 132;

/** TCP FIN flag (byte 13 of the TCP header). */
export const TCP_FIN = 0x01;
/** TCP SYN flag. */
export const TCP_SYN = 0x02;
/** TCP RST flag. */
export const TCP_RST = 0x04;
/** TCP PSH flag. */
export const TCP_PSH = 0x08;
/** TCP ACK flag. */
export const TCP_ACK = 0x10;

/** IPv4 header length without options. */
export const IPV4_HEADER_LEN = 20;
/** IPv6 fixed header length. */
export const IPV6_HEADER_LEN = 40;
/** UDP header length. */
export const UDP_HEADER_LEN = 8;
/** TCP header length without options. */
export const TCP_HEADER_LEN = 20;
/** ICMP/ICMPv6 header length as read here: type, code, checksum and the 4-byte rest. */
export const ICMP_HEADER_LEN = 8;

/**
 * A later fragment whose offset (in 8-byte blocks) is below this could
 * overwrite the transport header of the first one (RFC 1858): room for the
 * largest IPv4 header plus a basic TCP header.
 */
export const MIN_LATER_FRAGMENT_BLOCKS = (60 + 20) >> 3;

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
  proto = -1;
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
  icmpType = -1;
  /** ICMP/ICMPv6 code; -1 for other protocols. */
  icmpCode = -1;
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

// --- checksums ---

/**
 * Adds `b[start..end)` as big-endian 16-bit words to a one's-complement
 * accumulator (RFC 1071); an odd last byte is padded with zero. Returns the
 * unfolded sum; pass it on as `acc` to continue, then {@linkcode finishChecksum}.
 *
 * @example
 * ```ts
 * import { finishChecksum, sumWords } from "./packet.ts";
 * // RFC 1071 §3 example: the sum of 0001 f203 f4f5 f6f7 folds to ddf2.
 * finishChecksum(sumWords(new Uint8Array([0, 1, 0xf2, 3, 0xf4, 0xf5, 0xf6, 0xf7]), 0, 8)); // 0x220d
 * ```
 */
export function sumWords(b: Uint8Array, start: number, end: number, acc = 0): number {
  let i = start;
  for (; i + 1 < end; i += 2) acc += (b[i] << 8) | b[i + 1];
  if (i < end) acc += b[i] << 8;
  return acc;
}

/**
 * Folds an accumulator from {@linkcode sumWords} to 16 bits and complements
 * it: the value to store in a checksum field.
 *
 * @example
 * ```ts
 * import { finishChecksum } from "./packet.ts";
 * finishChecksum(0x1ddf0); // 0x220e
 * ```
 */
export function finishChecksum(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return ~acc & 0xffff;
}

/** The pseudo-header sum for a transport checksum (RFC 768, RFC 8200 §8.1). */
function pseudoSum(b: Uint8Array, p: ParsedPacket, proto: number, l4Len: number): number {
  let acc = sumWords(b, p.srcOff, p.srcOff + p.addrLen);
  acc = sumWords(b, p.dstOff, p.dstOff + p.addrLen, acc);
  // IPv4 (length 16 bits) and IPv6 (length 32 bits, zeros, next header) sum alike.
  return acc + proto + (l4Len & 0xffff) + Math.floor(l4Len / 0x10000);
}

/**
 * Recomputes every checksum of an already laid out packet in place: the
 * IPv4 header checksum and the UDP, TCP, ICMP or ICMPv6 checksum. A UDP
 * checksum that computes to 0 is stored as 0xffff (RFC 768).
 *
 * @example
 * ```ts
 * import { buildUdpPacket, verifyChecksums, writeChecksums } from "./packet.ts";
 * import { parseIp } from "./ip.ts";
 * const b = buildUdpPacket({
 *   src: parseIp("10.0.0.1"), dst: parseIp("10.0.0.2"), srcPort: 1, dstPort: 2,
 *   payload: new Uint8Array([1]),
 * });
 * b[28] = 9; // change the payload...
 * writeChecksums(b); // ...and fix the checksums
 * verifyChecksums(b); // true
 * ```
 * @throws {SyntaxError} if the packet does not parse
 */
export function writeChecksums(b: Uint8Array): void {
  const p = parsePacket(b);
  if (p.problem !== null) throw new SyntaxError(`Cannot checksum packet: ${p.problem}`);
  if (p.version === 4) {
    b[10] = b[11] = 0;
    const c = finishChecksum(sumWords(b, 0, p.l4Off));
    b[10] = c >> 8;
    b[11] = c & 0xff;
  }
  if (p.laterFragment) return;
  const at = checksumField(p);
  if (at < 0) return;
  b[at] = b[at + 1] = 0;
  const l4Len = p.length - p.l4Off;
  let acc = p.proto === IPPROTO_ICMP ? 0 : pseudoSum(b, p, p.proto, l4Len);
  acc = sumWords(b, p.l4Off, p.length, acc);
  let c = finishChecksum(acc);
  if (c === 0 && p.proto === IPPROTO_UDP) c = 0xffff;
  b[at] = c >> 8;
  b[at + 1] = c & 0xff;
}

/**
 * Whether the IPv4 header checksum (if any) and the transport checksum
 * (UDP, TCP, ICMP, ICMPv6) are correct. A zero UDP checksum over IPv4 means
 * "none" and passes; over IPv6 it is invalid (RFC 8200 §8.1). Packets that do
 * not parse, and later fragments' transport checksums, are not checked: the
 * result is false for the former, and only the IP header counts for the latter.
 *
 * @example
 * ```ts
 * import { verifyChecksums } from "./packet.ts";
 * verifyChecksums(new Uint8Array(3)); // false
 * ```
 */
export function verifyChecksums(b: Uint8Array): boolean {
  const p = parsePacket(b);
  if (p.problem !== null) return false;
  if (p.version === 4 && finishChecksum(sumWords(b, 0, p.l4Off)) !== 0) return false;
  if (p.laterFragment) return true;
  const at = checksumField(p);
  if (at < 0) return true;
  if (p.proto === IPPROTO_UDP && b[at] === 0 && b[at + 1] === 0) return p.version === 4;
  const l4Len = p.length - p.l4Off;
  let acc = p.proto === IPPROTO_ICMP ? 0 : pseudoSum(b, p, p.proto, l4Len);
  acc = sumWords(b, p.l4Off, p.length, acc);
  return finishChecksum(acc) === 0;
}

function checksumField(p: ParsedPacket): number {
  switch (p.proto) {
    case IPPROTO_UDP:
      return p.l4Off + 6;
    case IPPROTO_TCP:
      return p.l4Off + 16;
    case IPPROTO_ICMP:
    case IPPROTO_ICMPV6:
      return p.l4Off + 2;
    default:
      return -1;
  }
}

// --- builders ---

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
