/**
 * Tailnet address allocation: the lowest free IPv4 in 100.64.0.0/10 and the
 * lowest free IPv6 in fd7a:115c:a1e0::/48, each family on its own, the way
 * Headscale's sequential allocator hands them out (100.64.0.1 and
 * fd7a:115c:a1e0::1 first).
 *
 * @module
 */

import { formatIp, parseIp } from "../../src/net/ip.ts";
import { QUAD_100 } from "./constants.ts";

/** Headscale's default `prefixes.v4`. */
export const DEFAULT_PREFIX_V4 = "100.64.0.0/10";
/** Headscale's default `prefixes.v6`. */
export const DEFAULT_PREFIX_V6 = "fd7a:115c:a1e0::/48";
// 100.115.92.0/23 is ChromeOS's VM range; Headscale never hands it out.
const CHROMEOS_START = ipv4ToInt(parseIp("100.115.92.0"));
const CHROMEOS_END = CHROMEOS_START + 512;
const QUAD_100_INT = ipv4ToInt(parseIp(QUAD_100));

/** The ranges to allocate from (Headscale's `prefixes`), as CIDR text. */
export interface IpPrefixes {
  /** IPv4 range (default 100.64.0.0/10). */
  v4?: string;
  /** IPv6 range, at most a /96: host numbers fill the last 32 bits (default fd7a:115c:a1e0::/48). */
  v6?: string;
}

/** A pair of node addresses. */
export interface NodeAddresses {
  /** IPv4 address text, e.g. `100.64.0.1`. */
  ipv4: string;
  /** IPv6 address text, e.g. `fd7a:115c:a1e0::1`. */
  ipv6: string;
}

/**
 * Everything an {@link IpAllocator} knows, as address text: what it hands out
 * next follows from it (lowest free of each family), so a restored allocator
 * continues exactly where the saved one stopped.
 */
export interface IpAllocatorState {
  /** IPv4 addresses in use, ascending. */
  v4: string[];
  /** IPv6 addresses in use, ascending. */
  v6: string[];
}

/**
 * Hands out and takes back node addresses.
 *
 * @example
 * ```ts
 * const a = new IpAllocator();
 * console.assert(a.allocate().ipv4 === "100.64.0.1");
 * ```
 */
export class IpAllocator {
  readonly #v4 = new Set<number>();
  readonly #v6 = new Set<number>();
  readonly #v4Base: number;
  readonly #v4Size: number;
  readonly #v4Text: string;
  readonly #v6Base: Uint8Array;
  readonly #v6Text: string;

  /** Allocates from `prefixes` (throws RangeError for a range that is not one). */
  constructor(prefixes: IpPrefixes = {}) {
    const v4 = splitCidr(prefixes.v4 ?? DEFAULT_PREFIX_V4, 4, 30);
    this.#v4Base = ipv4ToInt(v4.ip);
    this.#v4Size = 2 ** (32 - v4.bits);
    this.#v4Text = prefixes.v4 ?? DEFAULT_PREFIX_V4;
    this.#v6Base = splitCidr(prefixes.v6 ?? DEFAULT_PREFIX_V6, 16, 96).ip;
    this.#v6Text = prefixes.v6 ?? DEFAULT_PREFIX_V6;
  }

  /** Allocates the lowest free address of each family. */
  allocate(): NodeAddresses {
    const v4 = this.#lowestFree(this.#v4, this.#v4Size - 1, (n) => isReservedV4(this.#v4Base + n));
    // 2^32 IPv6 host numbers is far more than a test tailnet needs.
    const v6 = this.#lowestFree(this.#v6, 0xffff_ffff, () => false);
    this.#v4.add(v4);
    this.#v6.add(v6);
    return { ipv4: formatIp(intToIpv4(this.#v4Base + v4)), ipv6: formatIp(this.#v6Host(v6)) };
  }

  /** Marks given addresses as used (for nodes restored from elsewhere). */
  reserve(addrs: NodeAddresses): void {
    this.#v4.add(ipv4ToInt(parseIp(addrs.ipv4)) - this.#v4Base);
    this.#v6.add(v6Index(parseIp(addrs.ipv6)));
  }

  /** Returns a node's addresses to the pool. */
  release(addrs: NodeAddresses): void {
    this.#v4.delete(ipv4ToInt(parseIp(addrs.ipv4)) - this.#v4Base);
    this.#v6.delete(v6Index(parseIp(addrs.ipv6)));
  }

  /** The addresses in use, for a state file. */
  snapshot(): IpAllocatorState {
    const sorted = (s: Set<number>) => [...s].sort((a, b) => a - b);
    return {
      v4: sorted(this.#v4).map((n) => formatIp(intToIpv4(this.#v4Base + n))),
      v6: sorted(this.#v6).map((n) => formatIp(this.#v6Host(n))),
    };
  }

  /**
   * Marks every address of a {@link snapshot} as used (on top of what is
   * already in use). Throws RangeError for an address outside the tailnet ranges.
   */
  restore(state: IpAllocatorState): void {
    for (const a of state.v4) this.#v4.add(this.#v4Index(a));
    for (const a of state.v6) this.#v6.add(this.#v6IndexOf(a));
  }

  #v4Index(text: string): number {
    const ip = parseIp(text);
    const n = ip.length === 4 ? ipv4ToInt(ip) - this.#v4Base : -1;
    if (n <= 0 || n >= this.#v4Size) {
      throw new RangeError(`Cannot restore address "${text}": not a host in ${this.#v4Text}`);
    }
    return n;
  }

  #v6IndexOf(text: string): number {
    const ip = parseIp(text);
    const inPrefix = ip.length === 16 &&
      this.#v6Base.subarray(0, 12).every((b, i) => ip[i] === b);
    const n = inPrefix ? v6Index(ip) : 0;
    if (n === 0) {
      throw new RangeError(`Cannot restore address "${text}": not a host in ${this.#v6Text}`);
    }
    return n;
  }

  #v6Host(n: number): Uint8Array {
    const ip = this.#v6Base.slice();
    new DataView(ip.buffer).setUint32(12, n);
    return ip;
  }

  #lowestFree(used: Set<number>, max: number, reserved: (n: number) => boolean): number {
    for (let n = 1; n < max; n++) {
      if (!used.has(n) && !reserved(n)) return n;
    }
    throw new RangeError(`Cannot allocate a tailnet address: all ${max} addresses are in use`);
  }
}

function isReservedV4(ip: number): boolean {
  return ip === QUAD_100_INT || (ip >= CHROMEOS_START && ip < CHROMEOS_END);
}

function ipv4ToInt(b: Uint8Array): number {
  return ((b[0] << 24) | (b[1] << 16) | (b[2] << 8) | b[3]) >>> 0;
}

function intToIpv4(n: number): Uint8Array {
  return new Uint8Array([n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255]);
}

function v6Index(ip: Uint8Array): number {
  return new DataView(ip.buffer, ip.byteOffset).getUint32(12);
}

/** A CIDR's network bytes and length; RangeError unless it is `family` with at most `maxBits`. */
function splitCidr(text: string, len: 4 | 16, maxBits: number): { ip: Uint8Array; bits: number } {
  const [addr, bitsText] = text.split("/");
  const bits = Number(bitsText);
  let ip: Uint8Array;
  try {
    ip = parseIp(addr);
  } catch {
    throw new RangeError(`Cannot allocate from "${text}": not an IP prefix`);
  }
  if (ip.length !== len || !Number.isInteger(bits) || bits < 0 || bits > maxBits) {
    throw new RangeError(
      `Cannot allocate from "${text}": want an IPv${
        len === 4 ? 4 : 6
      } prefix of at most /${maxBits}`,
    );
  }
  return { ip, bits };
}
