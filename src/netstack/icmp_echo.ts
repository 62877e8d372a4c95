/**
 * The ICMP a host sends: echo replies to ICMP and ICMPv6 echo requests
 * (RFC 792, RFC 4443 §4.2), and the errors for a datagram nobody takes —
 * port unreachable (ICMP type 3 code 3, ICMPv6 type 1 code 4) and protocol
 * unreachable (ICMP type 3 code 2; for IPv6 a Parameter Problem, type 4 code
 * 1, pointing at the Next Header) — quoting the offending datagram, never in
 * answer to an error, a fragment after the first, or a non-unicast address
 * (RFC 1122 §3.2.2, RFC 4443 §2.4), and rate-limited.
 *
 * @module
 */

import { TokenBucket } from "../net/token_bucket.ts";
import { finishChecksum, sumWords } from "../net/checksum.ts";
import {
  buildIcmpPacket,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_IPV6_FRAGMENT,
  IPV4_HEADER_LEN,
  IPV6_HEADER_LEN,
  type ParsedPacket,
} from "../net/packet.ts";
import type { Clock } from "./types.ts";

/** ICMP echo request type. */
export const ICMP_ECHO_REQUEST = 8;
/** ICMP echo reply type. */
export const ICMP_ECHO_REPLY = 0;
/** ICMP destination unreachable type. */
export const ICMP_DEST_UNREACHABLE = 3;
/** ICMPv6 echo request type. */
export const ICMPV6_ECHO_REQUEST = 128;
/** ICMPv6 echo reply type. */
export const ICMPV6_ECHO_REPLY = 129;
/** ICMPv6 destination unreachable type. */
export const ICMPV6_DEST_UNREACHABLE = 1;
/** ICMPv6 parameter problem type. */
export const ICMPV6_PARAM_PROBLEM = 4;
/** ICMP time exceeded type (code 1: fragment reassembly time exceeded). */
export const ICMP_TIME_EXCEEDED = 11;
/** ICMPv6 time exceeded type (code 1: fragment reassembly time exceeded). */
export const ICMPV6_TIME_EXCEEDED = 3;

/** Largest ICMP error over IPv4: what every host must accept (RFC 1812 §4.3.2.3). */
const MAX_ERROR_V4 = 576;
/** Largest ICMPv6 error: the IPv6 minimum MTU (RFC 4443 §2.4 (c)). */
const MAX_ERROR_V6 = 1280;

/**
 * Whether a parsed packet (without a parse problem) is an ICMP echo request
 * over IPv4 or an ICMPv6 echo request over IPv6, code 0.
 *
 * @example
 * ```ts
 * import { isEchoRequest } from "./icmp_echo.ts";
 * import { buildIcmpPacket, parsePacket } from "../net/packet.ts";
 * const b = buildIcmpPacket({
 *   src: new Uint8Array([10, 0, 0, 1]), dst: new Uint8Array([10, 0, 0, 2]), type: 8,
 * });
 * isEchoRequest(parsePacket(b)); // true
 * ```
 */
export function isEchoRequest(p: ParsedPacket): boolean {
  if (p.problem !== null || p.laterFragment || p.icmpCode !== 0) return false;
  return (p.proto === IPPROTO_ICMP && p.icmpType === ICMP_ECHO_REQUEST) ||
    (p.proto === IPPROTO_ICMPV6 && p.icmpType === ICMPV6_ECHO_REQUEST);
}

/**
 * The echo reply to the echo request `p` (see {@linkcode isEchoRequest}):
 * addresses swapped, the identifier, sequence number and data echoed, TTL
 * 64, checksums computed (ICMPv6's over its pseudo-header). The IPv4 reply
 * does not set DF, so a reply to a large (reassembled) request may be
 * fragmented on its way out.
 *
 * @example
 * ```ts
 * import { buildEchoReply } from "./icmp_echo.ts";
 * import { buildIcmpPacket, parsePacket } from "../net/packet.ts";
 * const req = buildIcmpPacket({
 *   src: new Uint8Array([10, 0, 0, 1]), dst: new Uint8Array([10, 0, 0, 2]), type: 8, rest: 0x10001,
 * });
 * parsePacket(buildEchoReply(parsePacket(req))).icmpType; // 0
 * ```
 */
export function buildEchoReply(p: ParsedPacket): Uint8Array {
  const b = p.buf;
  const restAt = p.l4Off + 4;
  const rest =
    ((b[restAt] << 24) | (b[restAt + 1] << 16) | (b[restAt + 2] << 8) | b[restAt + 3]) >>>
    0;
  const out = buildIcmpPacket({
    src: b.subarray(p.dstOff, p.dstOff + p.addrLen),
    dst: b.subarray(p.srcOff, p.srcOff + p.addrLen),
    type: p.version === 4 ? ICMP_ECHO_REPLY : ICMPV6_ECHO_REPLY,
    rest,
    payload: b.subarray(p.payloadOff, p.length),
  });
  if (p.version === 4) clearDf(out);
  return out;
}

/** What an ICMP error is for. */
export type UnreachableKind = "port" | "protocol";

/**
 * The ICMP error a host sends for `p` (parsed from the offending packet):
 * port unreachable or protocol unreachable, from the address it was sent to,
 * quoting as much of it as fits in 576 bytes (IPv4) or 1280 bytes (IPv6).
 * Null when no error may be sent: `p` has a parse problem, is an ICMP error
 * itself, a later fragment, or comes from or goes to a non-unicast address.
 *
 * @example
 * ```ts
 * import { buildUnreachable } from "./icmp_echo.ts";
 * import { buildUdpPacket, parsePacket } from "../net/packet.ts";
 * const dgram = buildUdpPacket({
 *   src: new Uint8Array([10, 0, 0, 1]), dst: new Uint8Array([10, 0, 0, 2]),
 *   srcPort: 40000, dstPort: 9, payload: new Uint8Array(4),
 * });
 * const err = buildUnreachable(parsePacket(dgram), "port")!;
 * [parsePacket(err).icmpType, parsePacket(err).icmpCode]; // [3, 3]
 * ```
 */
export function buildUnreachable(p: ParsedPacket, kind: UnreachableKind): Uint8Array | null {
  if (p.version === 4) return buildError(p, ICMP_DEST_UNREACHABLE, kind === "port" ? 3 : 2, 0);
  if (kind === "port") return buildError(p, ICMPV6_DEST_UNREACHABLE, 4, 0);
  // The pointer is to the Next Header field naming the protocol nobody takes.
  const pointer = p.buf[6] === IPPROTO_IPV6_FRAGMENT ? IPV6_HEADER_LEN : 6;
  return buildError(p, ICMPV6_PARAM_PROBLEM, 1, pointer);
}

/**
 * The ICMP Time Exceeded, code 1 (fragment reassembly time exceeded) a host
 * sends when a datagram's first fragment came but the rest did not in time
 * (RFC 792, RFC 8200 §4.5): `p` is that first fragment, parsed. Null when no
 * error may be sent (see {@linkcode buildUnreachable}).
 *
 * @example
 * ```ts
 * import { buildTimeExceeded } from "./icmp_echo.ts";
 * import { buildUdpPacket, parsePacket } from "../net/packet.ts";
 * const first = buildUdpPacket({
 *   src: new Uint8Array([10, 0, 0, 1]), dst: new Uint8Array([10, 0, 0, 2]),
 *   srcPort: 40000, dstPort: 9, payload: new Uint8Array(16),
 * });
 * first[6] = 0x20; // MF
 * parsePacket(buildTimeExceeded(parsePacket(first))!).icmpType; // 11
 * ```
 */
export function buildTimeExceeded(p: ParsedPacket): Uint8Array | null {
  return buildError(p, p.version === 4 ? ICMP_TIME_EXCEEDED : ICMPV6_TIME_EXCEEDED, 1, 0);
}

/** An ICMP error about `p`, from the address it was sent to, quoting as much of it as fits. */
function buildError(p: ParsedPacket, type: number, code: number, rest: number): Uint8Array | null {
  if (!mayAnswerWithError(p)) return null;
  const b = p.buf;
  const v4 = p.version === 4;
  const room = (v4 ? MAX_ERROR_V4 - IPV4_HEADER_LEN : MAX_ERROR_V6 - IPV6_HEADER_LEN) - 8;
  return buildIcmpPacket({
    src: b.subarray(p.dstOff, p.dstOff + p.addrLen),
    dst: b.subarray(p.srcOff, p.srcOff + p.addrLen),
    type,
    code,
    rest,
    payload: b.subarray(0, Math.min(p.length, room)),
  });
}

/**
 * Whether a host may answer `p` with an ICMP error: it parsed, is not a
 * later fragment, is not itself an ICMP error (an ICMP type below 128 for
 * ICMPv6; any type but echo, timestamp and the like for ICMP), and both
 * addresses are unicast (not unspecified, multicast or IPv4 broadcast).
 *
 * @example
 * ```ts
 * import { mayAnswerWithError } from "./icmp_echo.ts";
 * import { parsePacket } from "../net/packet.ts";
 * mayAnswerWithError(parsePacket(new Uint8Array(3))); // false
 * ```
 */
export function mayAnswerWithError(p: ParsedPacket): boolean {
  if (p.problem !== null || p.laterFragment) return false;
  if (p.proto === IPPROTO_ICMP && p.version === 4 && !ICMP_QUERIES.has(p.icmpType)) return false;
  if (p.proto === IPPROTO_ICMPV6 && p.version === 6 && p.icmpType < 128) return false;
  return unicast(p.buf, p.srcOff, p.addrLen) && unicast(p.buf, p.dstOff, p.addrLen);
}

// ICMP informational types (echo, timestamp, information, address mask); the rest are errors.
const ICMP_QUERIES = new Set([0, 8, 13, 14, 15, 16, 17, 18]);

function unicast(b: Uint8Array, off: number, len: number): boolean {
  if (len === 4) {
    if (b[off] === 0 || b[off] >= 224) return false; // this network, multicast, class E, broadcast
    return true;
  }
  if (b[off] === 0xff) return false; // multicast
  for (let i = 0; i < 16; i++) if (b[off + i] !== 0) return true;
  return false; // unspecified
}

/** Clears DF in an IPv4 packet and fixes its header checksum. */
function clearDf(b: Uint8Array): void {
  b[6] &= ~0x40;
  b[10] = b[11] = 0;
  const ihl = (b[0] & 0x0f) << 2;
  const c = finishChecksum(sumWords(b, 0, ihl));
  b[10] = c >> 8;
  b[11] = c & 0xff;
}

/** How fast a {@linkcode IcmpErrorLimiter} lets errors out. */
export interface IcmpErrorRate {
  /** Errors per second; default 1000 (Linux's net.ipv4.icmp_msgs_per_sec). */
  perSecond: number;
  /** Burst; default 50 (Linux's net.ipv4.icmp_msgs_burst). */
  burst: number;
}

/**
 * Builds ICMP errors under a rate limit (RFC 1812 §4.3.2.8, RFC 4443 §2.4
 * (f)), so a port scan or a flood to closed ports cannot turn the stack into
 * an amplifier.
 *
 * @example
 * ```ts
 * import { IcmpErrorLimiter } from "./icmp_echo.ts";
 * import { FakeClock } from "./types.ts";
 * import { buildUdpPacket, parsePacket } from "../net/packet.ts";
 * const limiter = new IcmpErrorLimiter(new FakeClock(), { burst: 1 });
 * const p = parsePacket(buildUdpPacket({
 *   src: new Uint8Array([10, 0, 0, 1]), dst: new Uint8Array([10, 0, 0, 2]),
 *   srcPort: 1, dstPort: 9, payload: new Uint8Array(0),
 * }));
 * limiter.unreachable(p, "port") !== null; // true
 * limiter.unreachable(p, "port"); // null: over the limit
 * ```
 */
export class IcmpErrorLimiter {
  /** Errors built. */
  sent = 0;
  /** Errors not sent for the rate limit. */
  rateLimited = 0;
  /** Errors not sent because the offending packet may not be answered with one. */
  suppressed = 0;
  readonly #clock: Clock;
  readonly #bucket: TokenBucket;

  /** Creates a limiter; `rate` overrides the defaults of {@linkcode IcmpErrorRate}. */
  constructor(clock: Clock, rate: Partial<IcmpErrorRate> = {}) {
    this.#clock = clock;
    this.#bucket = new TokenBucket(rate.perSecond ?? 1000, rate.burst ?? 50, clock.now());
  }

  /** {@linkcode buildUnreachable} if the rate limit allows; null (counted) otherwise. */
  unreachable(p: ParsedPacket, kind: UnreachableKind): Uint8Array | null {
    return this.#allow(p) ? buildUnreachable(p, kind) : null;
  }

  /** {@linkcode buildTimeExceeded} if the rate limit allows; null (counted) otherwise. */
  timeExceeded(p: ParsedPacket): Uint8Array | null {
    return this.#allow(p) ? buildTimeExceeded(p) : null;
  }

  #allow(p: ParsedPacket): boolean {
    if (!mayAnswerWithError(p)) {
      this.suppressed++;
      return false;
    }
    if (!this.#bucket.allow(this.#clock.now())) {
      this.rateLimited++;
      return false;
    }
    this.sent++;
    return true;
  }
}
