/**
 * Policy routing for using an exit node on a kernel TUN, as tailscaled does
 * on Linux (`wgengine/router/osrouter/router_linux.go`): a table of its own,
 * 52, holding the default routes into the TUN, and four rules per family
 * before the main table's (tailscaled's `baseIPRules`, priorities 5200 + n):
 *
 * ```
 * 5210: from all fwmark 0x80000/0xff0000 lookup main     # warren's own sockets: the host's routes
 * 5230: from all fwmark 0x80000/0xff0000 lookup default
 * 5250: from all fwmark 0x80000/0xff0000 unreachable     # never fall through into the tunnel
 * 5270: from all lookup 52                               # everything else: the exit node
 * ```
 *
 * warren's sockets carry the bypass mark: the WireGuard/disco/STUN UDP
 * socket (`SO_MARK` on the FFI socket) and the TCP dials for control and DERP
 * (`src/net/bypass_dial.ts`, a marked FFI connect, since `Deno.connect`
 * cannot be marked). Per-destination bypass rules were the alternative;
 * marks need no upkeep when a DERP or control address changes.
 *
 * Table 52 holds only the exit routes: tailnet and subnet routes stay in
 * main through the TUN (rule 5270 finds the /0 for them too, the same
 * interface). With `--exit-node-allow-lan-access` the host's own networks
 * get throw routes in table 52, so their lookup goes on to main and the LAN
 * stays direct; without it the LAN goes through the exit node too, as with
 * tailscaled. The rules and routes go in and out through
 * {@link InstalledRouting} (policy_routing_apply.ts), the same code as
 * wg-quick's full tunnel; what a SIGKILL left behind (the rules, throw
 * routes; the TUN's own routes die with it) is cleared at the next start.
 *
 * @module
 */
import { RT_TABLE_MAIN, RTN_THROW, type Rule } from "../../ffi/netlink_codec.ts";
import { RtNetlink } from "../../ffi/netlink.ts";
import { ENOENT, ESRCH, SysError } from "../../ffi/libc.ts";
import { BYPASS_MARK, BYPASS_MASK } from "../net/bypass_dial.ts";
import { formatIp, formatPrefix, type IpPrefix, parsePrefix } from "../net/ip.ts";
import { isTailscaleIp } from "../localapi/names.ts";
import type { RoutingPlan } from "./policy_routing.ts";
import { InstalledRouting } from "./policy_routing_apply.ts";
import { hostNetworks } from "./subnet_router.ts";

/** tailscaled's routing table ("52: the digits above TS on a qwerty keyboard"). */
export const EXIT_TABLE = 52;
/** tailscaled's `ipPolicyPrefBase`: its rules are 5210, 5230, 5250 and 5270. */
export const RULE_PREF_BASE = 5200;
/** The `default` table (253), which the bypass rules also consult, as tailscaled. */
const RT_TABLE_DEFAULT = 253;
const RP_FILTER = "/proc/sys/net/ipv4/conf/all/rp_filter";

/** The exit routes: what goes into table 52 through the TUN. */
export const EXIT_ROUTES: readonly IpPrefix[] = ["0.0.0.0/0", "::/0"].map((p) => parsePrefix(p));

/** tailscaled's four rules for one family. */
export function exitRules(family: 4 | 6): Rule[] {
  const bypass = { family, fwmark: BYPASS_MARK, fwmask: BYPASS_MASK };
  return [
    { ...bypass, priority: RULE_PREF_BASE + 10, table: RT_TABLE_MAIN },
    { ...bypass, priority: RULE_PREF_BASE + 30, table: RT_TABLE_DEFAULT },
    { ...bypass, priority: RULE_PREF_BASE + 50, table: 0, unreachable: true },
    { family, priority: RULE_PREF_BASE + 70, table: EXIT_TABLE },
  ];
}

/**
 * The routes and rules for an exit node in use: both default routes in
 * table 52, a throw route per `lan` prefix, the rules of both families.
 *
 * @example
 * ```ts
 * import { parsePrefix } from "../net/ip.ts";
 * const plan = planExitRouting([parsePrefix("192.168.1.0/24")]);
 * plan.routes.map((r) => r.kind ?? "dev"); // ["dev", "dev", "throw"]
 * plan.rules.length; // 8
 * ```
 */
export function planExitRouting(lan: readonly IpPrefix[]): RoutingPlan {
  return {
    fwmark: BYPASS_MARK,
    fullTunnelTable: EXIT_TABLE,
    routes: [
      ...EXIT_ROUTES.map((prefix) => ({ prefix, table: EXIT_TABLE })),
      ...lan.map((prefix) => ({ prefix, table: EXIT_TABLE, kind: "throw" as const })),
    ],
    rules: [...exitRules(4), ...exitRules(6)],
    srcValidMark: false,
  };
}

/**
 * The host's own networks that `--exit-node-allow-lan-access` keeps direct:
 * the networks of its interfaces other than the TUN and loopback, without
 * single addresses and tailnet addresses (tailscaled's
 * `internalAndExternalInterfaces`), each once.
 */
export function lanPrefixes(nics: readonly Deno.NetworkInterfaceInfo[], tun: string): IpPrefix[] {
  const out = new Map<string, IpPrefix>();
  for (const p of hostNetworks(nics, tun)) {
    if (p.bits === p.ip.length * 8 || isTailscaleIp(formatIp(p.ip))) continue;
    out.set(formatPrefix(p), p);
  }
  return [...out.values()];
}

/** What {@link ExitRouting.set} is asked for. */
export interface ExitRoutingWant {
  /** Whether an exit node is chosen (routes and rules in) or not (none). */
  active: boolean;
  /** Networks kept direct (throw routes); empty without `--exit-node-allow-lan-access`. */
  lan: readonly IpPrefix[];
}

/** The exit node's routes and rules on the host, changed as the choice changes. */
export class ExitRouting {
  readonly #ifname: string;
  readonly #log: (line: string) => void;
  readonly #installed: InstalledRouting;
  /** The want last installed, as text; null while nothing is. */
  #key: string | null = null;

  /** Routes go through `ifname`; the rules and routes are logged as they go in. */
  constructor(ifname: string, log: (line: string) => void) {
    this.#ifname = ifname;
    this.#log = log;
    this.#installed = new InstalledRouting(ifname, log);
  }

  /** Whether the rules and routes are in. */
  get active(): boolean {
    return this.#key !== null;
  }

  /** The networks kept direct now (throw routes), as text. */
  get lanDirect(): string[] {
    return this.#key ? this.#key.split(",").filter((x) => x !== "") : [];
  }

  /** The rules installed, with their priorities (for status). */
  get rules(): readonly Rule[] {
    return this.#installed.rules;
  }

  /**
   * Installs, changes or removes the routing. A change of LAN prefixes
   * replaces the whole set (the rules stay out only for that moment).
   * Throws if the kernel refuses; what went in is removed again.
   */
  set(want: ExitRoutingWant): void {
    const key = want.active ? want.lan.map(formatPrefix).sort().join(",") : null;
    if (key === this.#key) return;
    this.#installed.removeAll();
    this.#key = null;
    if (key === null) {
      this.#log(`exit node routing removed (table ${EXIT_TABLE} and its rules)`);
      return;
    }
    try {
      this.#installed.install(planExitRouting(want.lan));
    } catch (e) {
      this.#installed.removeAll();
      throw e;
    }
    this.#key = key;
    if (readRpFilter() === "1") {
      this.#log(
        "warning: net.ipv4.conf.all.rp_filter=1 (strict) drops replies that arrive outside " +
          "the exit node's route; set it to 2 (loose) to use an exit node",
      );
    }
  }

  /** Removes everything installed. Idempotent. */
  close(): void {
    this.#key = null;
    this.#installed.removeAll();
  }

  /** The interface the routes go through. */
  get ifname(): string {
    return this.#ifname;
  }
}

/**
 * Clears what a node killed while using an exit node left: the eight rules
 * and table 52's throw routes. Only when table 52 holds no route through a
 * live interface, so a running node's (or tailscaled's) routing is left
 * alone. Returns how many rules and routes it removed.
 */
export function cleanStaleExitRouting(log: (line: string) => void): number {
  using nl = RtNetlink.open();
  const routes = nl.routes(EXIT_TABLE);
  // A throw route has no interface of its own (IPv6 reports lo): only device routes say in use.
  if (routes.some((r) => r.type !== RTN_THROW && r.oif !== 0)) return 0;
  let removed = 0;
  for (const r of routes) {
    if (r.type !== RTN_THROW) continue;
    const prefix = {
      ip: r.dst.length > 0 ? r.dst : new Uint8Array(r.family === 2 ? 4 : 16),
      bits: r.dstLen,
    };
    if (gone(() => nl.deleteRoute({ prefix, ifname: "", table: EXIT_TABLE, kind: "throw" }))) {
      continue;
    }
    removed++;
  }
  for (const rule of [...exitRules(4), ...exitRules(6)]) {
    // A rule added twice (two crashed runs) is deleted twice.
    while (!gone(() => nl.deleteRule(rule))) removed++;
  }
  if (removed > 0) log(`removed ${removed} stale exit-node rules and routes (table ${EXIT_TABLE})`);
  return removed;
}

/** Runs a deletion; true when there was nothing to delete. */
function gone(del: () => void): boolean {
  try {
    del();
    return false;
  } catch (e) {
    if (e instanceof SysError && (e.errno === ENOENT || e.errno === ESRCH)) return true;
    throw e;
  }
}

function readRpFilter(): string | null {
  try {
    return Deno.readTextFileSync(RP_FILTER).trim();
  } catch {
    return null;
  }
}
