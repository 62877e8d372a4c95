/**
 * Routes through an interface, added and removed with the classic route ioctls: IPv4 with
 * `struct rtentry`, IPv6 with `struct in6_rtmsg`, both via SIOCADDRT/SIOCDELRT.
 *
 * @module
 */

import {
  addressOf,
  AF_INET,
  AF_INET6,
  checkIfName,
  checkPrefix,
  closeQuietly,
  cString,
  EEXIST,
  ENODEV,
  ENOENT,
  errno,
  ESRCH,
  formatPrefix,
  ifNameToIndex,
  type IpPrefix,
  libc,
  maskPrefix,
  openSocket,
  SIOCADDRT,
  SIOCDELRT,
  SOCK_DGRAM,
  SysError,
} from "./libc.ts";

const RTF_UP = 0x0001;
const RTF_HOST = 0x0004;
// The fib type for in6_rtmsg.rtmsg_type; 0 (RTN_UNSPEC) would store a route of unknown type.
const RTN_UNICAST = 1;
// The kernel's default metric for IPv6 routes added by ioctl when rtmsg_metric is 0.
const IP6_RT_PRIO_USER = 1024;

// struct rtentry on LP64 (x86_64 and aarch64 agree).
const RTENTRY_SIZE = 120;
const RT_DST = 8;
const RT_GENMASK = 40;
const RT_FLAGS = 56;
const RT_METRIC = 80;
const RT_DEV = 88;

// struct in6_rtmsg.
const IN6_RTMSG_SIZE = 80;
const RTMSG_TYPE = 48;
const RTMSG_DST_LEN = 52;
const RTMSG_METRIC = 56;
const RTMSG_FLAGS = 72;
const RTMSG_IFINDEX = 76;

/** Options for {@link addRoute} and {@link deleteRoute}. */
export interface RouteOptions {
  /**
   * Route metric (priority; lower wins). IPv4 defaults to 0, IPv6 to 1024, as `ip route`
   * does. Deleting must name the same metric the route was added with.
   */
  metric?: number;
}

/**
 * Adds a route to `prefix` through interface `ifname` (no gateway: the interface is
 * point-to-point). Host bits in `prefix` are ignored. Throws a {@link SysError} with errno
 * EEXIST if the same route is already there.
 *
 * @example
 * ```ts ignore
 * addRoute({ ip: new Uint8Array([100, 64, 0, 0]), bits: 10 }, "warren0");
 * ```
 */
export function addRoute(prefix: IpPrefix, ifname: string, opts: RouteOptions = {}): void {
  routeIoctl(SIOCADDRT, prefix, ifname, opts);
}

/**
 * Deletes the route to `prefix` through `ifname` with the given metric. Throws a
 * {@link SysError} with errno ESRCH if there is no such route.
 */
export function deleteRoute(prefix: IpPrefix, ifname: string, opts: RouteOptions = {}): void {
  routeIoctl(SIOCDELRT, prefix, ifname, opts);
}

function routeIoctl(request: number, prefix: IpPrefix, ifname: string, opts: RouteOptions) {
  const add = request === SIOCADDRT;
  const verb = add ? "add" : "delete";
  checkPrefix(prefix, `Cannot ${verb} route`);
  checkIfName(ifname);
  const metric = opts.metric ?? (prefix.ip.length === 4 ? 0 : IP6_RT_PRIO_USER);
  const p = maskPrefix(prefix);
  const what = `Cannot ${verb} route ${formatPrefix(p)} dev ${ifname}`;
  const v4 = p.ip.length === 4;
  if (!Number.isInteger(metric) || metric < 0 || metric > (v4 ? 0x7ffe : 0xffffffff)) {
    throw new RangeError(`${what}: metric ${metric} out of range`);
  }
  let req: Uint8Array;
  if (v4) {
    // rt_dev points at the name stored right after the struct, so the one buffer passed to the
    // ioctl keeps both alive.
    req = new Uint8Array(RTENTRY_SIZE + 16);
    req.set(cString(ifname), RTENTRY_SIZE);
    const dv = new DataView(req.buffer);
    req[RT_DST] = AF_INET;
    req.set(p.ip, RT_DST + 4);
    req[RT_GENMASK] = AF_INET;
    const m = p.bits === 0 ? 0 : (0xffffffff << (32 - p.bits)) >>> 0;
    dv.setUint32(RT_GENMASK + 4, m, false);
    dv.setUint16(RT_FLAGS, RTF_UP | (p.bits === 32 ? RTF_HOST : 0), true);
    // The kernel stores rt_metric - 1 (net-tools passes metric + 1 "for binary compatibility").
    dv.setInt16(RT_METRIC, metric + 1, true);
    const addr = addressOf(req) + RTENTRY_SIZE;
    dv.setUint32(RT_DEV, addr % 0x100000000, true);
    dv.setUint32(RT_DEV + 4, Math.floor(addr / 0x100000000), true);
  } else {
    const index = ifNameToIndex(ifname);
    if (index === 0) throw new SysError(what, "if_nametoindex", ENODEV, "no such interface");
    req = new Uint8Array(IN6_RTMSG_SIZE);
    const dv = new DataView(req.buffer);
    req.set(p.ip, 0);
    dv.setUint32(RTMSG_TYPE, RTN_UNICAST, true);
    dv.setUint16(RTMSG_DST_LEN, p.bits, true);
    dv.setUint32(RTMSG_METRIC, metric, true);
    dv.setUint32(RTMSG_FLAGS, RTF_UP, true);
    dv.setInt32(RTMSG_IFINDEX, index, true);
  }
  const fd = openSocket(v4 ? AF_INET : AF_INET6, SOCK_DGRAM, what);
  try {
    if (libc().ioctl(fd, request, req) < 0) {
      const e = errno();
      const syscall = `ioctl(${add ? "SIOCADDRT" : "SIOCDELRT"})`;
      let hint: string | undefined;
      if (e === EEXIST) hint = "the route already exists";
      else if (e === ESRCH || e === ENOENT) hint = "no such route";
      else if (e === ENODEV) hint = `no interface named ${ifname}`;
      throw new SysError(what, syscall, e, hint);
    }
  } finally {
    closeQuietly(fd);
  }
}

/** One route remembered by a {@link RouteTable}. */
export interface RouteEntry {
  /** Destination prefix, host bits cleared. */
  prefix: IpPrefix;
  /** Interface the route goes through. */
  ifname: string;
  /** The metric it was added with (resolved default included). */
  metric: number;
}

/**
 * Remembers the routes it added so teardown removes exactly those and nothing else.
 *
 * @example
 * ```ts ignore
 * const routes = new RouteTable();
 * routes.add({ ip: new Uint8Array([100, 64, 0, 0]), bits: 10 }, "warren0");
 * // … on shutdown:
 * routes.removeAll();
 * ```
 */
export class RouteTable {
  #entries: RouteEntry[] = [];

  /** The routes currently remembered, oldest first. */
  get entries(): readonly RouteEntry[] {
    return this.#entries;
  }

  /** Adds a route (see {@link addRoute}) and remembers it. */
  add(prefix: IpPrefix, ifname: string, opts: RouteOptions = {}): void {
    const metric = opts.metric ?? (prefix.ip.length === 4 ? 0 : IP6_RT_PRIO_USER);
    addRoute(prefix, ifname, { metric });
    this.#entries.push({ prefix: maskPrefix(prefix), ifname, metric });
  }

  /**
   * Deletes a remembered route and forgets it. A route that is already gone (ESRCH, ENOENT,
   * ENODEV) counts as deleted.
   */
  remove(prefix: IpPrefix, ifname: string, opts: RouteOptions = {}): void {
    const metric = opts.metric ?? (prefix.ip.length === 4 ? 0 : IP6_RT_PRIO_USER);
    const p = maskPrefix(prefix);
    const i = this.#entries.findIndex((e) =>
      e.ifname === ifname && e.metric === metric && e.prefix.bits === p.bits &&
      e.prefix.ip.length === p.ip.length && e.prefix.ip.every((b, k) => b === p.ip[k])
    );
    deleteQuietly({ prefix: p, ifname, metric });
    if (i >= 0) this.#entries.splice(i, 1);
  }

  /**
   * Removes every remembered route, newest first. Routes already gone are ignored; if any other
   * deletion fails, the rest are still attempted and the first failure is thrown at the end.
   */
  removeAll(): void {
    let first: unknown = null;
    while (this.#entries.length > 0) {
      const e = this.#entries.pop()!;
      try {
        deleteQuietly(e);
      } catch (err) {
        first ??= err;
      }
    }
    if (first !== null) throw first;
  }
}

function deleteQuietly(e: RouteEntry): void {
  try {
    deleteRoute(e.prefix, e.ifname, { metric: e.metric });
  } catch (err) {
    if (err instanceof SysError && (err.errno === ESRCH || err.errno === ENOENT)) return;
    if (err instanceof SysError && err.errno === ENODEV) return; // interface gone, routes with it
    throw err;
  }
}
