/**
 * Internet checksums (RFC 1071) of IP packets: the IPv4 header checksum and
 * the UDP, TCP, ICMP and ICMPv6 checksums, with the IPv4/IPv6 pseudo-header.
 *
 * @module
 */

import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from "./packet_constants.ts";
import { type ParsedPacket, parsePacket } from "./packet_parse.ts";
import { loadedCryptoWasm } from "../crypto/wasm/instance.ts";

/**
 * Adds `b[start..end)` as big-endian 16-bit words to a one's-complement
 * accumulator (RFC 1071); an odd last byte is padded with zero. Returns the
 * unfolded sum; pass it on as `acc` to continue, then {@linkcode finishChecksum}.
 *
 * @example
 * ```ts
 * import { finishChecksum, sumWords } from "./checksum.ts";
 * // RFC 1071 §3 example: the sum of 0001 f203 f4f5 f6f7 folds to ddf2.
 * finishChecksum(sumWords(new Uint8Array([0, 1, 0xf2, 3, 0xf4, 0xf5, 0xf6, 0xf7]), 0, 8)); // 0x220d
 * ```
 */
export function sumWords(b: Uint8Array, start: number, end: number, acc = 0): number {
  return sumBytes(b, start, end, acc);
}

/**
 * Folds an accumulator from {@linkcode sumWords} to 16 bits and complements
 * it: the value to store in a checksum field.
 *
 * @example
 * ```ts
 * import { finishChecksum } from "./checksum.ts";
 * finishChecksum(0x1ddf0); // 0x220e
 * ```
 */
export function finishChecksum(acc: number): number {
  return ~foldSum(acc) & 0xffff;
}

/** Ranges up to this many bytes are summed without a DataView. */
const SHORT_SUM = 64;

let sumBuffer: ArrayBufferLike | null = null;
let sumView: DataView = new DataView(new ArrayBuffer(0));

/** A DataView over all of `b`'s memory, reused while `b` shares it (one wasm arena, typically). */
function viewOf(b: Uint8Array): DataView {
  if (b.buffer !== sumBuffer) {
    sumBuffer = b.buffer;
    sumView = new DataView(b.buffer);
  }
  return sumView;
}

/**
 * The one's-complement sum of `b[start, end)` as 16-bit big-endian words added to `acc`,
 * unfolded (an odd last byte is padded with zero). A range over 64 bytes of a buffer in the
 * crypto wasm memory (the data plane's packet buffers, `allocPacketBuffer`) is summed there
 * with SIMD (`inet_sum.c`), folded; any other reads 32 bits at a time: words of 2^32 are
 * congruent to hi + lo modulo 0xffff, so once folded the sum is the same as adding 16-bit
 * words.
 *
 * @example
 * ```ts
 * import { foldSum, sumBytes } from "./checksum.ts";
 * // RFC 1071 §3: 0001 f203 f4f5 f6f7 sums to ddf2 once folded.
 * foldSum(sumBytes(new Uint8Array([0, 1, 0xf2, 3, 0xf4, 0xf5, 0xf6, 0xf7]), 0, 8)); // 0xddf2
 * ```
 */
export function sumBytes(b: Uint8Array, start: number, end: number, acc = 0): number {
  // A header or an address: byte reads, where a DataView (new for each packet buffer) costs more.
  if (end - start <= SHORT_SUM) {
    let t = 0, i = start;
    for (; i + 1 < end; i += 2) t += (b[i] << 8) | b[i + 1];
    if (i < end) t += b[i] << 8;
    return acc + t;
  }
  const w = loadedCryptoWasm();
  if (w !== undefined && b.buffer === w.buffer) {
    return acc + w.fn.inet_sum(b.byteOffset + start, end - start);
  }
  const v = viewOf(b);
  let i = b.byteOffset + start;
  const stop = b.byteOffset + end;
  // Words of 2^32 are congruent to hi + lo modulo 0xffff, so 32-bit reads sum the same.
  let s = 0;
  for (; i + 16 <= stop; i += 16) {
    s += v.getUint32(i) + v.getUint32(i + 4) + v.getUint32(i + 8) + v.getUint32(i + 12);
  }
  for (; i + 4 <= stop; i += 4) s += v.getUint32(i);
  if (i + 2 <= stop) {
    s += v.getUint16(i);
    i += 2;
  }
  if (i < stop) s += v.getUint8(i) << 8;
  return acc + s;
}

/**
 * Folds an unfolded sum to 16 bits (not complemented).
 *
 * @example
 * ```ts
 * import { foldSum } from "./checksum.ts";
 * foldSum(0x1ddf0); // 0xddf1
 * ```
 */
export function foldSum(acc: number): number {
  while (acc > 0xffff) acc = (acc % 0x10000) + Math.floor(acc / 0x10000);
  return acc;
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
 * import { verifyChecksums } from "./checksum.ts";
 * verifyChecksums(new Uint8Array(3)); // false
 * ```
 */
export function verifyChecksums(b: Uint8Array): boolean {
  const p = parsePacket(b);
  if (p.problem !== null) return false;
  if (p.version === 4 && finishChecksum(sumWords(b, 0, p.l4Off)) !== 0) return false;
  return transportChecksumOk(p);
}

/**
 * Whether the transport checksum (UDP, TCP, ICMP, ICMPv6) of a packet parsed
 * without a problem is correct; the IPv4 header checksum is not looked at
 * (for a receiver that checked it already). True for later fragments and
 * other protocols, which carry none; a zero UDP checksum passes over IPv4
 * only, as in {@linkcode verifyChecksums}.
 *
 * @example
 * ```ts
 * import { buildUdpPacket, parsePacket } from "./packet.ts";
 * import { transportChecksumOk } from "./checksum.ts";
 * import { parseIp } from "./ip.ts";
 * const b = buildUdpPacket({
 *   src: parseIp("10.0.0.1"), dst: parseIp("10.0.0.2"), srcPort: 1, dstPort: 2,
 *   payload: new Uint8Array([1]),
 * });
 * transportChecksumOk(parsePacket(b)); // true
 * ```
 */
export function transportChecksumOk(p: ParsedPacket): boolean {
  if (p.laterFragment) return true;
  const at = checksumField(p);
  if (at < 0) return true;
  const b = p.buf;
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
