/**
 * Splits an IP packet into fragments no larger than an MTU: IPv4 by MF and
 * fragment offset, IPv6 with a Fragment extension header (RFC 8200 §4.5).
 * The stack needs it for datagrams bigger than the path's MTU, and the tests
 * of reassembly use it to make fragments.
 *
 * @module
 */

import { finishChecksum, sumWords } from "../net/checksum.ts";
import {
  IPPROTO_IPV6_FRAGMENT,
  IPV4_HEADER_LEN,
  IPV6_HEADER_LEN,
} from "../net/packet_constants.ts";

/**
 * The fragments of `packet` for `mtu` (a packet that fits comes back alone,
 * unchanged). `id` is the IPv6 Fragment header's identification; for IPv4 the
 * packet's own ID field is kept. IPv6 extension headers other than none are
 * not looked into: everything after the fixed header is fragmentable.
 *
 * @example
 * ```ts
 * import { fragmentPacket } from "./ip_fragment.ts";
 * import { buildUdpPacket } from "../net/packet.ts";
 * const p = buildUdpPacket({
 *   src: new Uint8Array([10, 0, 0, 1]), dst: new Uint8Array([10, 0, 0, 2]),
 *   srcPort: 1, dstPort: 2, payload: new Uint8Array(3000),
 * });
 * fragmentPacket(p, 1500).length; // 3
 * ```
 * @throws {RangeError} if the MTU leaves no room for 8 bytes of data, or the IPv4 packet has DF set
 * @throws {SyntaxError} if `packet` is not an IPv4 or IPv6 packet
 */
export function fragmentPacket(packet: Uint8Array, mtu: number, id = 0): Uint8Array[] {
  const v = packet.length > 0 ? packet[0] >> 4 : 0;
  if (v === 4) return fragment4(packet, mtu);
  if (v === 6) return fragment6(packet, mtu, id);
  throw new SyntaxError("Cannot fragment: not an IPv4 or IPv6 packet");
}

function fragment4(p: Uint8Array, mtu: number): Uint8Array[] {
  const ihl = (p[0] & 0x0f) << 2;
  const total = (p[2] << 8) | p[3];
  if (total <= mtu) return [p];
  if ((p[6] & 0x40) !== 0) throw new RangeError("Cannot fragment an IPv4 packet with DF set");
  const step = (mtu - ihl) & ~7;
  if (ihl < IPV4_HEADER_LEN || step < 8) throw new RangeError(`MTU ${mtu} too small to fragment`);
  const out: Uint8Array[] = [];
  for (let at = ihl; at < total; at += step) {
    const len = Math.min(step, total - at);
    const f = new Uint8Array(ihl + len);
    f.set(p.subarray(0, ihl));
    f.set(p.subarray(at, at + len), ihl);
    const n = f.length;
    f[2] = n >> 8;
    f[3] = n & 0xff;
    const word = ((at - ihl) >> 3) | (at + len < total ? 0x2000 : 0);
    f[6] = word >> 8;
    f[7] = word & 0xff;
    f[10] = f[11] = 0;
    const c = finishChecksum(sumWords(f, 0, ihl));
    f[10] = c >> 8;
    f[11] = c & 0xff;
    out.push(f);
  }
  return out;
}

function fragment6(p: Uint8Array, mtu: number, id: number): Uint8Array[] {
  const total = IPV6_HEADER_LEN + ((p[4] << 8) | p[5]);
  if (total <= mtu) return [p];
  const step = (mtu - IPV6_HEADER_LEN - 8) & ~7;
  if (step < 8) throw new RangeError(`MTU ${mtu} too small to fragment`);
  const next = p[6];
  const out: Uint8Array[] = [];
  for (let at = IPV6_HEADER_LEN; at < total; at += step) {
    const len = Math.min(step, total - at);
    const f = new Uint8Array(IPV6_HEADER_LEN + 8 + len);
    f.set(p.subarray(0, IPV6_HEADER_LEN));
    const plen = 8 + len;
    f[4] = plen >> 8;
    f[5] = plen & 0xff;
    f[6] = IPPROTO_IPV6_FRAGMENT;
    const h = IPV6_HEADER_LEN;
    f[h] = next;
    const word = (at - IPV6_HEADER_LEN) | (at + len < total ? 1 : 0);
    f[h + 2] = word >> 8;
    f[h + 3] = word & 0xff;
    new DataView(f.buffer).setUint32(h + 4, id >>> 0);
    f.set(p.subarray(at, at + len), h + 8);
    out.push(f);
  }
  return out;
}
