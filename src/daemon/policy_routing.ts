/**
 * wg-quick's full tunnel, planned: when a peer's allowed IPs include a
 * default route (0.0.0.0/0 or ::/0) and `Table = auto`, the default route
 * goes in a table of its own, the WireGuard socket marks its packets with
 * that table's number, and two rules per family send everything else there:
 *
 * ```
 * ip rule add not fwmark 51820 table 51820              # all but the tunnel's own UDP
 * ip rule add table main suppress_prefixlength 0        # main's specific routes still win
 * ip route add 0.0.0.0/0 dev wg0 table 51820
 * ```
 *
 * Pure: the caller supplies the one fact that needs the kernel (which
 * tables already hold routes) and applies the plan.
 *
 * @module
 */
import { RT_TABLE_MAIN, type Rule } from "../../ffi/netlink_codec.ts";
import type { IpPrefix } from "../net/ip.ts";
import type { WgTable } from "../wireguard/wg_quick.ts";
import { type RoutePlan, routesFor } from "./routes.ts";

/** Where wg-quick starts looking for a free table (and the mark it then uses): its port. */
export const FULL_TUNNEL_TABLE = 51820;
const MAX_TABLE = 0xffffffff;

/** What a plan is made from. */
export interface RoutingInput {
  /** Every peer's allowed IPs, in config order. */
  allowed: IpPrefix[];
  /** The interface addresses (host bits kept). */
  addresses: IpPrefix[];
  /** The config's `Table`. */
  table: WgTable;
  /** The config's `FwMark`; 0 when not set. */
  fwmark: number;
  /**
   * Whether a table already holds routes. Asked only when a full tunnel
   * under `Table = auto` has no `FwMark` to name its table.
   */
  tableInUse: (table: number) => boolean;
}

/** Everything a node does to the routing of its host. */
export interface RoutingPlan {
  /** Mark for the WireGuard socket's packets, 0 for none. */
  fwmark: number;
  /** The full tunnel's table under `Table = auto`; null when there is no full tunnel. */
  fullTunnelTable: number | null;
  /** The routes, in allowed-IP order, each with its table or a reason to skip it. */
  routes: RoutePlan[];
  /** The rules to add, in order (the kernel numbers each one above the previous). */
  rules: Rule[];
  /**
   * Whether IPv4 reverse-path checks must honour packet marks
   * (`net.ipv4.conf.all.src_valid_mark = 1`), as wg-quick sets for an IPv4
   * full tunnel.
   */
  srcValidMark: boolean;
}

/**
 * Plans routes, rules and the socket mark the way wg-quick(8) does:
 *
 * - `Table = auto` with a /0 allowed IP: the table is `FwMark` if set,
 *   else the first table from 51820 up that holds no routes, and the mark
 *   defaults to it; each family with a /0 gets the two rules.
 * - `Table = off`: no routes and no rules; `Table = N`: every route in N,
 *   no rules. `FwMark` still marks the socket in both cases.
 *
 * @example
 * ```ts
 * import { planRouting } from "./policy_routing.ts";
 * import { parsePrefix } from "../net/ip.ts";
 * const plan = planRouting({
 *   allowed: [parsePrefix("0.0.0.0/0")],
 *   addresses: [],
 *   table: "auto",
 *   fwmark: 0,
 *   tableInUse: () => false,
 * });
 * plan.fwmark; // 51820
 * plan.rules.length; // 2
 * ```
 */
export function planRouting(input: RoutingInput): RoutingPlan {
  const families = new Set(
    input.allowed.filter((p) => p.bits === 0).map((p) => (p.ip.length === 4 ? 4 : 6)),
  );
  let fwmark = input.fwmark;
  let fullTunnelTable: number | null = null;
  const rules: Rule[] = [];
  if (input.table === "auto" && families.size > 0) {
    if (fwmark !== 0) {
      fullTunnelTable = fwmark; // wg-quick: an explicit FwMark names the table too
    } else {
      let t = FULL_TUNNEL_TABLE;
      while (t < MAX_TABLE && input.tableInUse(t)) t++;
      fullTunnelTable = fwmark = t;
    }
    for (const family of [4, 6] as const) {
      if (!families.has(family)) continue;
      rules.push(
        { family, invert: true, fwmark, table: fullTunnelTable },
        { family, table: RT_TABLE_MAIN, suppressPrefixLength: 0 },
      );
    }
  }
  return {
    fwmark,
    fullTunnelTable,
    routes: routesFor(input.allowed, input.addresses, input.table, fullTunnelTable),
    rules,
    srcValidMark: rules.some((r) => r.family === 4),
  };
}
