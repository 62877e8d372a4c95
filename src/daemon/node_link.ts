/**
 * The inner side of a tailnet node, chosen by `--tun`: the kernel's TUN
 * interface with warren's routes (what needs `CAP_NET_ADMIN`), or, with
 * `--tun userspace-networking`, warren's own IP stack in the process, which
 * needs no device, route or capability. The rest of the node — control,
 * WireGuard, magicsock, the filter, MagicDNS — is the same either way.
 *
 * @module
 */
import { EACCES, ENOENT, EPERM, ifNameToIndex, SysError } from "../../ffi/libc.ts";
import { RouteTable } from "../../ffi/route.ts";
import { TunDevice } from "../../ffi/tun.ts";
import { removeTunAddress } from "../../ffi/tun_address.ts";
import type { IpPrefix } from "../net/ip.ts";
import type { PacketDevice } from "../net/packet_device.ts";
import type { NetstackDevice } from "../netstack/device.ts";
import type { IpInput } from "../netstack/ip_input.ts";
import type { NetstackServicesStatus, NetstackStatus } from "./status.ts";

/** tailscaled's `--tun` value for "no TUN, a stack in the process". */
export const USERSPACE_NETWORKING = "userspace-networking";

/** How packets reach the node's own side. */
export type LinkMode = "tun" | typeof USERSPACE_NETWORKING;

/**
 * The userspace stack of a node: where TCP and the proxies plug in. TCP
 * takes its segments with `ip.setTcpHandler(h)` (parsed and checksummed,
 * valid during the call only) and sends with `ip.send(packet)`, which
 * fragments to the MTU and queues in `device`, whose eventfd wakes the data
 * plane even from a timer. `ip.send` cannot say that the ring was full, so
 * a sender looks at `device.room` before a burst, and after a refusal
 * (`device.counters.queueFull`) `device.setDrainHandler` tells it when half
 * the ring is free again.
 */
export interface Netstack {
  /** The IP layer: addresses, ICMP echo, UDP, and `setTcpHandler` for TCP. */
  readonly ip: IpInput;
  /** The data plane's side of the stack; `ip.send` emits through it. */
  readonly device: NetstackDevice;
  /**
   * What runs on the stack (the proxies, the forwards) reports here for
   * `tun status`; null while nothing does. Set by whoever starts them.
   */
  servicesStatus: (() => NetstackServicesStatus) | null;
}

/** What the node and its engine drive: addresses, routes, and the packet device. */
export interface NodeLink {
  /** Kernel TUN or userspace stack. */
  readonly mode: LinkMode;
  /** The interface name, or {@linkcode USERSPACE_NETWORKING}: also the LocalAPI socket's name. */
  readonly name: string;
  /** What the data plane reads and writes. */
  readonly device: PacketDevice;
  /** The kernel's index of the interface, 0 without one (the network monitor ignores it). */
  readonly ifindex: number;
  /** The userspace stack, null in TUN mode. */
  readonly netstack: Netstack | null;
  /** The route table the engine drives: the kernel's, or nothing to do without a TUN. */
  readonly routes: {
    add(p: IpPrefix, ifname: string): void;
    remove(p: IpPrefix, ifname: string): void;
  };
  /** Gives the node an address (on the interface, or to the stack). */
  addAddress(p: IpPrefix): void;
  /** Takes an address away. */
  removeAddress(p: IpPrefix): void;
  /** Routes in the kernel now (none in userspace mode). */
  installedRoutes(): IpPrefix[];
  /** Counters of the userspace stack, null in TUN mode. */
  counters(): NetstackStatus | null;
  /** Removes routes and the interface, or closes the stack. */
  close(): void;
}

/**
 * Opens the TUN `name` at `mtu`, brings it up and routes `fixedRoutes`
 * (quad-100) into it. Nothing is left behind if a step fails.
 */
export function openTunLink(name: string, mtu: number, fixedRoutes: IpPrefix[]): NodeLink {
  let tun: TunDevice;
  try {
    tun = TunDevice.open(name);
  } catch (e) {
    // No privilege or no device: say there is a mode that needs neither, as tailscaled does.
    if (e instanceof SysError && [EPERM, EACCES, ENOENT].includes(e.errno)) {
      e.message += `; or use --tun ${USERSPACE_NETWORKING}, which needs no TUN and no privilege`;
    }
    throw e;
  }
  const routes = new RouteTable();
  const close = () => {
    try {
      routes.removeAll();
    } finally {
      tun.close();
    }
  };
  try {
    tun.setMtu(mtu);
    tun.up(); // routes through a down link fail with ENETDOWN
    for (const r of fixedRoutes) routes.add(r, tun.name);
  } catch (e) {
    close();
    throw e;
  }
  return {
    mode: "tun",
    name: tun.name,
    device: tun,
    ifindex: ifNameToIndex(tun.name),
    netstack: null,
    routes,
    addAddress: (p) => tun.addAddress(p),
    removeAddress: (p) => removeTunAddress(tun.name, p),
    installedRoutes: () => routes.entries.map((e) => e.prefix),
    counters: () => null,
    close,
  };
}
