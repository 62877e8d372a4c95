/**
 * warren's only contact with libc: TUN device, routes, the data-plane UDP socket and a
 * readiness poller, through `Deno.dlopen("libc.so.6")` (needs `--allow-ffi`; nothing is opened
 * until first use).
 *
 * @module
 */

export {
  AF_INET,
  AF_INET6,
  EAGAIN,
  EBUSY,
  EEXIST,
  ENOENT,
  EPERM,
  errno,
  errnoName,
  formatIp,
  formatPrefix,
  type IpPrefix,
  parseIp,
  POLLIN,
  POLLOUT,
  SysError,
} from "./libc.ts";
export { TunDevice } from "./tun.ts";
export { addRoute, deleteRoute, type RouteEntry, type RouteOptions, RouteTable } from "./route.ts";
export {
  DEFAULT_MAX_BATCH,
  ENDPOINT_SIZE,
  endpointEquals,
  endpointFromIp,
  endpointFromString,
  endpointIp,
  endpointPort,
  endpointToString,
  UdpSocket,
  type UdpSocketOptions,
} from "./udp.ts";
export { Poller } from "./poll.ts";
