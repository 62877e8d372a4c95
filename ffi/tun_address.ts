/**
 * Taking an address off a TUN interface (a renumbered node). `TunDevice.addAddress` sets
 * addresses with ioctls, which can only replace an IPv4 address, so removal goes through
 * rtnetlink; it lives apart from `tun.ts` so that a data-plane Worker, which reads and writes
 * the TUN and never renumbers it, does not load the netlink codec.
 *
 * @module
 */
import { checkPrefix } from "./libc.ts";
import { RtNetlink } from "./netlink.ts";
import type { IpPrefix } from "../src/net/ip.ts";

/**
 * Removes `cidr` from interface `ifname`; throws `Cannot delete address … from IFNAME: …`
 * when it has no such address.
 */
export function removeTunAddress(ifname: string, cidr: IpPrefix): void {
  checkPrefix(cidr, `Invalid address for ${ifname}`);
  using nl = RtNetlink.open();
  nl.deleteAddress(cidr, ifname);
}
