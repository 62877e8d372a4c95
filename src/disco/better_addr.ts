/**
 * Choosing between two verified direct paths (tailscale `betterAddr`).
 *
 * Each side scores the percentage by which it is faster than the slower one,
 * plus bonuses — loopback 50, else link-local 30, else private 20; IPv6 10 —
 * so a LAN or IPv6 path wins when latencies are roughly equal, and an
 * improvement under 1 % never switches (hysteresis against flapping).
 *
 * @module
 */

import {
  type AddrPort,
  addrPortEqual,
  isIPv6,
  isLinkLocalUnicast,
  isLoopback,
  isPrivate,
} from "./addr.ts";

/** A verified path and its measured round trip. */
export interface AddrQuality {
  /** The peer endpoint. */
  readonly addr: AddrPort;
  /** Round-trip time of the pong that verified it, in milliseconds. */
  readonly latency: number;
}

/**
 * Whether `a` is a better path than `b` (null `b`: no path yet, so yes).
 *
 * @example
 * ```ts
 * import { betterAddr } from "./better_addr.ts";
 * import { parseAddrPort } from "./addr.ts";
 * const pub = { addr: parseAddrPort("203.0.113.1:1"), latency: 10 };
 * const lan = { addr: parseAddrPort("192.168.1.2:1"), latency: 11 };
 * betterAddr(lan, pub); // true: 20 private points beat 9 latency points
 * ```
 */
export function betterAddr(a: AddrQuality, b: AddrQuality | null): boolean {
  if (b === null) return true;
  if (addrPortEqual(a.addr, b.addr)) return false;
  let aPoints = 0;
  let bPoints = 0;
  // Go does this in integer nanoseconds; truncating the percentage matches it.
  if (a.latency > b.latency && a.latency > 0) {
    bPoints = 100 - Math.floor((b.latency * 100) / a.latency);
  } else if (b.latency > 0) {
    aPoints = 100 - Math.floor((a.latency * 100) / b.latency);
  }
  aPoints += bonus(a.addr);
  bPoints += bonus(b.addr);
  if (aPoints <= 1 && bPoints === 0) return false;
  return aPoints > bPoints;
}

function bonus(a: AddrPort): number {
  let p = 0;
  if (isLoopback(a.ip)) p += 50;
  else if (isLinkLocalUnicast(a.ip)) p += 30;
  else if (isPrivate(a.ip)) p += 20;
  if (isIPv6(a.ip)) p += 10;
  return p;
}
