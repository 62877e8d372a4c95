/**
 * The address forms a FilterRule uses for sources and destinations:
 * `*`, a single IP, a CIDR prefix, an inclusive range `a-b`, or `cap:<name>`.
 *
 * @module
 */

import { bytesEqual } from "../bytes/equal.ts";
import { type IpPrefix, parseIp, parsePrefix } from "../net/ip.ts";

/** One parsed SrcIPs/DstPorts address entry. */
export interface IpSetEntry {
  /** The prefixes the entry covers (empty for a capability). */
  prefixes: IpPrefix[];
  /** The capability name of a `cap:<name>` entry, else null. */
  cap: string | null;
}

/**
 * Parses one address entry the way tailscaled's filter does: `*` is
 * 0.0.0.0/0 plus ::/0; a CIDR must have no host bits set; a range
 * `a-b` (same family, a ≤ b) becomes the smallest list of prefixes that
 * covers it exactly; `cap:<name>` names a capability and covers no address.
 *
 * @example
 * ```ts
 * import { parseIpSetEntry } from "./ip_set.ts";
 * import { formatPrefix } from "../net/ip.ts";
 * parseIpSetEntry("10.0.0.1-10.0.0.6").prefixes.map(formatPrefix);
 * // ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"]
 * ```
 * @throws {SyntaxError} if the entry is not one of these forms
 * @throws {RangeError} if a prefix length is out of range or a range runs backwards
 */
export function parseIpSetEntry(s: string): IpSetEntry {
  if (s === "*") {
    return {
      prefixes: [{ ip: new Uint8Array(4), bits: 0 }, { ip: new Uint8Array(16), bits: 0 }],
      cap: null,
    };
  }
  if (s.startsWith("cap:")) return { prefixes: [], cap: s.slice(4) };
  if (s.includes("/")) {
    const p = parsePrefix(s, { keepHostBits: true });
    const masked = parsePrefix(s);
    if (!bytesEqual(masked.ip, p.ip)) {
      throw new SyntaxError(`Cannot parse filter address ${JSON.stringify(s)}: host bits are set`);
    }
    return { prefixes: [masked], cap: null };
  }
  const dash = s.indexOf("-");
  if (dash >= 0 && s.indexOf("-", dash + 1) < 0) {
    const a = parseIp(s.slice(0, dash));
    const b = parseIp(s.slice(dash + 1));
    if (a.length !== b.length) {
      throw new SyntaxError(`Cannot parse filter range ${JSON.stringify(s)}: mixes IPv4 and IPv6`);
    }
    return { prefixes: rangeToPrefixes(a, b), cap: null };
  }
  const ip = parseIp(s);
  return { prefixes: [{ ip, bits: ip.length * 8 }], cap: null };
}

/**
 * The smallest list of prefixes covering exactly `[first, last]`, in
 * ascending order.
 *
 * @example
 * ```ts
 * import { rangeToPrefixes } from "./ip_set.ts";
 * rangeToPrefixes(new Uint8Array([0, 0, 0, 0]), new Uint8Array([255, 255, 255, 255]))[0].bits; // 0
 * ```
 * @throws {RangeError} if `first` is after `last` or the families differ
 */
export function rangeToPrefixes(first: Uint8Array, last: Uint8Array): IpPrefix[] {
  if (first.length !== last.length) throw new RangeError("Range ends must be the same IP family");
  const width = first.length * 8;
  let lo = toBig(first);
  const hi = toBig(last);
  if (lo > hi) throw new RangeError(`Range start is after its end`);
  const out: IpPrefix[] = [];
  while (lo <= hi) {
    // Largest aligned block starting at lo that does not pass hi.
    let size = 0;
    while (size < width) {
      const block = 1n << BigInt(size + 1);
      if (lo % block !== 0n || lo + block - 1n > hi) break;
      size++;
    }
    out.push({ ip: fromBig(lo, first.length), bits: width - size });
    lo += 1n << BigInt(size);
  }
  return out;
}

function toBig(ip: Uint8Array): bigint {
  let v = 0n;
  for (const b of ip) v = (v << 8n) | BigInt(b);
  return v;
}

function fromBig(v: bigint, len: number): Uint8Array {
  const out = new Uint8Array(len);
  for (let i = len - 1; i >= 0; i--) {
    out[i] = Number(v & 0xffn);
    v >>= 8n;
  }
  return out;
}
