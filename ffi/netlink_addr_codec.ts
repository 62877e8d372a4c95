/**
 * rtnetlink address requests (linux/if_addr.h): `ifaddrmsg` and its
 * attributes, as `ip address add|del ADDR/LEN dev IFNAME` sends them. The
 * header and attribute framing are {@link ./netlink_codec.ts}'s.
 *
 * @module
 */

import { AF_INET, AF_INET6, checkPrefix, type IpPrefix } from "./libc.ts";
import {
  encodeMessage,
  NLM_F_ACK,
  NLM_F_CREATE,
  NLM_F_EXCL,
  NLM_F_REQUEST,
} from "./netlink_codec.ts";

/** Add an address to an interface (ifaddrmsg + attributes). */
export const RTM_NEWADDR = 20;
/** Remove an address from an interface (ifaddrmsg + attributes). */
export const RTM_DELADDR = 21;
/** `struct ifaddrmsg { u8 family, prefixlen, flags, scope; u32 index }`. */
export const IFADDRMSG_SIZE = 8;
/** Address attribute: the peer (point-to-point) address; iproute2 repeats the local one. */
export const IFA_ADDRESS = 1;
/** Address attribute: the local address. */
export const IFA_LOCAL = 2;

/**
 * The RTM_NEWADDR or RTM_DELADDR request for `addr` on interface `ifindex`,
 * byte for byte what iproute2 sends for `ip address add|del ADDR/LEN dev IFNAME`.
 *
 * @example
 * ```ts
 * import { encodeAddrRequest, RTM_DELADDR } from "./netlink_addr_codec.ts";
 * const addr = { ip: new Uint8Array([100, 64, 0, 1]), bits: 32 };
 * encodeAddrRequest(RTM_DELADDR, addr, 7, 1).length; // 40
 * ```
 */
export function encodeAddrRequest(
  type: typeof RTM_NEWADDR | typeof RTM_DELADDR,
  addr: IpPrefix,
  ifindex: number,
  seq: number,
): Uint8Array {
  const add = type === RTM_NEWADDR;
  checkPrefix(addr, `Cannot ${add ? "add" : "delete"} address`);
  const ifa = new Uint8Array(IFADDRMSG_SIZE);
  ifa[0] = addr.ip.length === 4 ? AF_INET : AF_INET6;
  ifa[1] = addr.bits;
  new DataView(ifa.buffer).setUint32(4, ifindex, true);
  const flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
  return encodeMessage(type, flags, seq, ifa, [[IFA_LOCAL, addr.ip], [IFA_ADDRESS, addr.ip]]);
}
