/**
 * Applies a {@link RoutingPlan} to the host and takes it back: routes in
 * main through the route ioctls (as before policy routing), routes in other
 * tables and the rules through rtnetlink. Everything added is remembered, so
 * teardown — on stop or after a start that failed half-way — removes exactly
 * that, newest first.
 *
 * @module
 */
import { formatRule, RT_TABLE_MAIN, type Rule, tableName } from "../../ffi/netlink_codec.ts";
import { RtNetlink } from "../../ffi/netlink.ts";
import { RouteTable } from "../../ffi/route.ts";
import { ENODEV, ENOENT, ESRCH, SysError } from "../../ffi/libc.ts";
import { formatPrefix, type IpPrefix } from "../net/ip.ts";
import type { RoutingPlan } from "./policy_routing.ts";

const SRC_VALID_MARK = "/proc/sys/net/ipv4/conf/all/src_valid_mark";
const RP_FILTER = "/proc/sys/net/ipv4/conf/all/rp_filter";

/** A route this node added, with its table (254 is main). */
export interface InstalledRoute {
  /** Destination prefix, host bits cleared. */
  prefix: IpPrefix;
  /** Routing table. */
  table: number;
}

/** A rule this node added, with the priority the kernel gave it (when known). */
export type InstalledRule = Rule;

/**
 * Which tables hold routes, read from the kernel once on first use: the
 * `tableInUse` that {@link planRouting} asks when it looks for a free table.
 */
export function kernelTableInUse(): (table: number) => boolean {
  let used: Set<number> | null = null;
  return (table) => {
    if (used === null) {
      using nl = RtNetlink.open();
      used = nl.tablesInUse();
    }
    return used.has(table);
  };
}

/**
 * The routes and rules one node added.
 *
 * @example
 * ```ts ignore
 * const routing = new InstalledRouting("warren0", console.log);
 * try {
 *   routing.install(plan);
 * } catch (e) {
 *   routing.removeAll(); // whatever part of the plan got in
 *   throw e;
 * }
 * ```
 */
export class InstalledRouting {
  #ifname: string;
  #log: (line: string) => void;
  #main = new RouteTable();
  #nl: RtNetlink | null = null;
  #routes: InstalledRoute[] = [];
  #rules: InstalledRule[] = [];
  /** How to take back each step, in the order the steps were taken. */
  #undo: (() => void)[] = [];

  /** Routes will go through `ifname`; notable steps are logged. */
  constructor(ifname: string, log: (line: string) => void) {
    this.#ifname = ifname;
    this.#log = log;
  }

  /** The routes added, oldest first. */
  get routes(): readonly InstalledRoute[] {
    return this.#routes;
  }

  /** The rules added, oldest first. */
  get rules(): readonly InstalledRule[] {
    return this.#rules;
  }

  /**
   * Adds the plan's routes, then its rules, and sets `src_valid_mark` if
   * asked. Throws at the first step that fails; what was added before it
   * stays remembered for {@link removeAll}.
   */
  install(plan: RoutingPlan): void {
    const dev = this.#ifname;
    for (const { prefix, table, skip, kind } of plan.routes) {
      const where = table === RT_TABLE_MAIN ? "" : ` table ${tableName(table)}`;
      if (skip) {
        this.#log(`route ${formatPrefix(prefix)}${where}: ${skip}`);
        continue;
      }
      if (table === RT_TABLE_MAIN && kind === undefined) {
        this.#main.add(prefix, dev);
        this.#undo.push(() => this.#main.remove(prefix, dev));
      } else {
        const route = { prefix, ifname: dev, table, kind };
        this.#netlink().addRoute(route);
        this.#undo.push(() => quietly(() => this.#netlink().deleteRoute(route)));
      }
      this.#routes.push({ prefix, table });
    }
    for (const rule of plan.rules) {
      const priority = this.#netlink().addRule(rule);
      const added = priority === undefined ? rule : { ...rule, priority };
      this.#undo.push(() => quietly(() => this.#netlink().deleteRule(added)));
      this.#rules.push(added);
      this.#log(`rule added (IPv${rule.family}): ${describeRule(added)}`);
    }
    if (plan.srcValidMark) this.#enableSrcValidMark();
  }

  /**
   * Removes every route and rule added, newest first, and closes the
   * rtnetlink socket. Routes and rules already gone count as removed; if
   * another removal fails, the rest are still attempted and the first
   * failure is thrown at the end. `src_valid_mark` stays set, as wg-quick
   * leaves it: another tunnel may rely on it by now.
   */
  removeAll(): void {
    let first: unknown = null;
    while (this.#undo.length > 0) {
      try {
        this.#undo.pop()!();
      } catch (e) {
        first ??= e;
      }
    }
    this.#routes = [];
    this.#rules = [];
    this.#nl?.close();
    this.#nl = null;
    if (first !== null) throw first;
  }

  #netlink(): RtNetlink {
    this.#nl ??= RtNetlink.open();
    return this.#nl;
  }

  #enableSrcValidMark(): void {
    // Without it, the kernel checks an IPv4 packet's source as if it carried no mark, and the
    // tunnel's own replies would be looked up in the full tunnel's table.
    if (readSysctl(SRC_VALID_MARK) !== "1") {
      Deno.writeTextFileSync(SRC_VALID_MARK, "1");
      this.#log("set net.ipv4.conf.all.src_valid_mark=1 (left set on stop, as wg-quick does)");
    }
    if (readSysctl(RP_FILTER) === "1") {
      this.#log(
        "warning: net.ipv4.conf.all.rp_filter=1 (strict) may drop the tunnel's incoming UDP; " +
          "wg-quick adds nftables connmark rules for that, warren does not (use rp_filter=2)",
      );
    }
  }
}

/** A rule as `ip rule` lists it, priority first when known. */
export function describeRule(rule: Rule): string {
  return rule.priority === undefined ? formatRule(rule) : `${rule.priority}: ${formatRule(rule)}`;
}

/** Runs a deletion, treating "already gone" (no such route, rule or interface) as done. */
function quietly(del: () => void): void {
  try {
    del();
  } catch (e) {
    if (e instanceof SysError && [ESRCH, ENOENT, ENODEV].includes(e.errno)) return;
    throw e;
  }
}

function readSysctl(path: string): string | null {
  try {
    return Deno.readTextFileSync(path).trim();
  } catch {
    return null;
  }
}
