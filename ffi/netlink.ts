/**
 * A minimal synchronous rtnetlink client: routes in any routing table and policy-routing rules,
 * the two things `ip route … table N` and `ip rule` do that the route ioctls of `route.ts`
 * cannot. The byte layouts are in {@link ./netlink_codec.ts}; this is the I/O around them: one
 * blocking `NETLINK_ROUTE` socket, a request, and the kernel's acknowledgement. rtnetlink
 * handles a request inside `sendto`, so the answer is already queued when `recv` runs.
 *
 * @module
 */

import {
  AF_INET,
  AF_INET6,
  checkIfName,
  checkPrefix,
  EADDRNOTAVAIL,
  EEXIST,
  ENODEV,
  ENOENT,
  ESRCH,
  formatPrefix,
  ifNameToIndex,
  type IpPrefix,
  maskPrefix,
  SysError,
} from "./libc.ts";
import {
  type DecodedRoute,
  decodeError,
  decodeRoute,
  decodeRule,
  encodeRouteDumpRequest,
  encodeRouteRequest,
  encodeRuleRequest,
  formatRule,
  NETLINK_ROUTE,
  type NetlinkMessage,
  NLMSG_DONE,
  NLMSG_ERROR,
  RTM_DELROUTE,
  RTM_DELRULE,
  RTM_NEWROUTE,
  RTM_NEWRULE,
  type Rule,
  tableName,
  type TableRoute,
} from "./netlink_codec.ts";
import { NetlinkSocket } from "./netlink_socket.ts";
import { encodeAddrRequest, RTM_DELADDR, RTM_NEWADDR } from "./netlink_addr_codec.ts";

/**
 * One rtnetlink socket. Every call sends one request and reads until the kernel's answer to it;
 * a refusal becomes a {@link SysError} carrying the kernel's errno.
 *
 * @example
 * ```ts ignore
 * using nl = RtNetlink.open();
 * const prefix = { ip: new Uint8Array(4), bits: 0 };
 * nl.addRoute({ prefix, ifname: "wg0", table: 51820 });
 * const pref = nl.addRule({ family: 4, invert: true, fwmark: 51820, table: 51820 });
 * nl.deleteRule({ family: 4, invert: true, fwmark: 51820, table: 51820, priority: pref });
 * nl.deleteRoute({ prefix, ifname: "wg0", table: 51820 });
 * ```
 */
export class RtNetlink {
  readonly #sock: NetlinkSocket;

  private constructor(sock: NetlinkSocket) {
    this.#sock = sock;
  }

  /** Opens the socket (a receive timeout keeps a missing answer from hanging the caller). */
  static open(): RtNetlink {
    return new RtNetlink(NetlinkSocket.open(NETLINK_ROUTE, "rtnetlink socket"));
  }

  /**
   * Adds a device route to a table (`ip route add PREFIX dev IFNAME table N`). Throws a
   * {@link SysError} with EEXIST if it is already there, ENODEV if there is no such interface.
   */
  addRoute(route: TableRoute): void {
    this.#route(RTM_NEWROUTE, route);
  }

  /** Deletes a device route from a table. Throws a {@link SysError} with ESRCH if there is none. */
  deleteRoute(route: TableRoute): void {
    this.#route(RTM_DELROUTE, route);
  }

  /**
   * Adds a rule and returns its priority: `rule.priority` if given, else the one the kernel
   * picked (learned from the echoed rule; undefined if the kernel sent none back).
   */
  addRule(rule: Rule): number | undefined {
    const what = `Cannot add rule "${formatRule(rule)}" (IPv${rule.family})`;
    const seq = this.#sock.nextSeq();
    const answers = this.#request(encodeRuleRequest(RTM_NEWRULE, rule, seq, { echo: true }), {
      what,
      syscall: "netlink RTM_NEWRULE",
      seq,
      hints: { [EEXIST]: "the rule already exists" },
    });
    const echo = answers.find((m) => m.type === RTM_NEWRULE);
    return rule.priority ?? (echo ? decodeRule(echo.body).priority : undefined);
  }

  /**
   * Deletes a rule matching `rule` (its priority too, when given). Throws a {@link SysError} with
   * ENOENT if there is none.
   */
  deleteRule(rule: Rule): void {
    const what = `Cannot delete rule "${formatRule(rule)}" (IPv${rule.family})`;
    const seq = this.#sock.nextSeq();
    this.#request(encodeRuleRequest(RTM_DELRULE, rule, seq), {
      what,
      syscall: "netlink RTM_DELRULE",
      seq,
      hints: { [ENOENT]: "no such rule" },
    });
  }

  /**
   * Adds an address to an interface (`ip address add ADDR/LEN dev IFNAME`). Throws a
   * {@link SysError} with EEXIST if it is already there.
   */
  addAddress(addr: IpPrefix, ifname: string): void {
    this.#address(RTM_NEWADDR, addr, ifname);
  }

  /**
   * Removes an address from an interface (`ip address del ADDR/LEN dev IFNAME`). Throws a
   * {@link SysError} with EADDRNOTAVAIL if the interface has no such address.
   */
  deleteAddress(addr: IpPrefix, ifname: string): void {
    this.#address(RTM_DELADDR, addr, ifname);
  }

  /** The ids of every table that holds at least one IPv4 or IPv6 route. */
  tablesInUse(): Set<number> {
    return new Set(this.routes().map((r) => r.table));
  }

  /** Every IPv4 and IPv6 route of every table (or of `table` only). */
  routes(table?: number): DecodedRoute[] {
    const what = "Cannot list routes";
    const seq = this.#sock.nextSeq();
    this.#sock.send(encodeRouteDumpRequest(seq), what);
    const out: DecodedRoute[] = [];
    for (;;) {
      for (const m of this.#sock.recv(what)) {
        if (m.seq !== seq) continue;
        if (m.type === NLMSG_DONE) return out;
        if (m.type === NLMSG_ERROR) {
          const err = decodeError(m.body);
          if (err !== 0) throw new SysError(what, "netlink RTM_GETROUTE", -err);
          return out;
        }
        if (m.type !== RTM_NEWROUTE) continue;
        const r = decodeRoute(m.body);
        if (r.family !== AF_INET && r.family !== AF_INET6) continue;
        if (table === undefined || r.table === table) out.push(r);
      }
    }
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes the socket. Idempotent. */
  close(): void {
    this.#sock.close();
  }

  #route(type: typeof RTM_NEWROUTE | typeof RTM_DELROUTE, route: TableRoute): void {
    const add = type === RTM_NEWROUTE;
    const verb = add ? "add" : "delete";
    checkPrefix(route.prefix, `Cannot ${verb} route`);
    const thrown = route.kind === "throw";
    if (!thrown) checkIfName(route.ifname);
    const what = `Cannot ${verb} route ${thrown ? "throw " : ""}${
      formatPrefix(maskPrefix(route.prefix))
    }${thrown ? "" : ` dev ${route.ifname}`} table ${tableName(route.table)}`;
    const index = thrown ? 0 : ifNameToIndex(route.ifname);
    if (!thrown && index === 0) {
      throw new SysError(what, "if_nametoindex", ENODEV, "no such interface");
    }
    const seq = this.#sock.nextSeq();
    this.#request(encodeRouteRequest(type, route, index, seq), {
      what,
      syscall: `netlink ${add ? "RTM_NEWROUTE" : "RTM_DELROUTE"}`,
      seq,
      hints: {
        [EEXIST]: "the route already exists",
        [ESRCH]: "no such route",
        [ENODEV]: `no interface named ${route.ifname}`,
      },
    });
  }

  #address(type: typeof RTM_NEWADDR | typeof RTM_DELADDR, addr: IpPrefix, ifname: string): void {
    const add = type === RTM_NEWADDR;
    checkIfName(ifname);
    const what = `Cannot ${add ? "add" : "delete"} address ${formatPrefix(addr)} ${
      add ? "to" : "from"
    } ${ifname}`;
    const index = ifNameToIndex(ifname);
    if (index === 0) throw new SysError(what, "if_nametoindex", ENODEV, "no such interface");
    const seq = this.#sock.nextSeq();
    this.#request(encodeAddrRequest(type, addr, index, seq), {
      what,
      syscall: `netlink ${add ? "RTM_NEWADDR" : "RTM_DELADDR"}`,
      seq,
      hints: {
        [EEXIST]: "the address is already there",
        [EADDRNOTAVAIL]: "the interface has no such address",
      },
    });
  }

  /**
   * Sends a request that asks for an acknowledgement and reads until it arrives; returns the
   * other messages that answered the same sequence number (such as an echo).
   */
  #request(
    msg: Uint8Array,
    ctx: { what: string; syscall: string; seq: number; hints: Record<number, string> },
  ): NetlinkMessage[] {
    this.#sock.send(msg, ctx.what);
    const answers: NetlinkMessage[] = [];
    for (;;) {
      for (const m of this.#sock.recv(ctx.what)) {
        if (m.seq !== ctx.seq) continue; // a late answer to an earlier request
        if (m.type !== NLMSG_ERROR) {
          answers.push({ ...m, body: m.body.slice() }); // the next recv reuses the buffer
          continue;
        }
        const err = decodeError(m.body);
        if (err !== 0) throw new SysError(ctx.what, ctx.syscall, -err, ctx.hints[-err]);
        return answers;
      }
    }
  }
}
