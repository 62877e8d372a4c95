/**
 * Which routes a node installs for its peers' allowed IPs, and in which
 * routing table, decided apart from the syscalls so the rules can be tested.
 *
 * @module
 */
import { RT_TABLE_MAIN } from "../../ffi/netlink_codec.ts";
import { formatPrefix, type IpPrefix } from "../net/ip.ts";
import type { WgTable } from "../wireguard/wg_quick.ts";

/** A route to install, or a reason to leave it out. */
export interface RoutePlan {
  /** The destination prefix. */
  prefix: IpPrefix;
  /** The routing table it goes in (254 is main). */
  table: number;
  /** Why it is not installed; undefined when it is. */
  skip?: string;
  /** A throw route (no interface): the lookup goes on with the next rule. */
  kind?: "throw";
}

/**
 * One route per distinct allowed-IP prefix, in the table wg-quick's `Table`
 * asks for:
 *
 * - `"auto"`: main, except a default route (/0), which goes in
 *   `fullTunnelTable`: in main it would capture the tunnel's own UDP
 *   packets, so it lives in a table only policy rules send traffic to (see
 *   policy_routing.ts). Without such a table it is skipped.
 * - `"off"`: no routes at all.
 * - a table id: every route in that table, default routes included.
 *
 * In main, a prefix that is an interface address's own subnet is skipped:
 * the kernel already routes it.
 *
 * @example
 * ```ts
 * import { routesFor } from "./routes.ts";
 * import { parsePrefix } from "../net/ip.ts";
 * const plans = routesFor([parsePrefix("0.0.0.0/0"), parsePrefix("10.9.0.0/16")], [], "auto", 51820);
 * plans.map((r) => r.table); // [51820, 254]
 * ```
 */
export function routesFor(
  allowed: IpPrefix[],
  addresses: IpPrefix[],
  table: WgTable = "auto",
  fullTunnelTable: number | null = null,
): RoutePlan[] {
  const seen = new Set<string>();
  const connected = new Set(addresses.map((a) => formatPrefix(networkOf(a))));
  const plans: RoutePlan[] = [];
  for (const prefix of allowed) {
    const key = formatPrefix(prefix);
    if (seen.has(key)) continue;
    seen.add(key);
    if (table === "off") {
      plans.push({ prefix, table: RT_TABLE_MAIN, skip: "not installed (Table = off)" });
    } else if (table !== "auto") {
      if (table === RT_TABLE_MAIN && connected.has(key)) {
        plans.push({ prefix, table, skip: "already routed by the interface address" });
      } else {
        plans.push({ prefix, table });
      }
    } else if (prefix.bits === 0) {
      if (fullTunnelTable === null) {
        plans.push({
          prefix,
          table: RT_TABLE_MAIN,
          skip: "default route not installed (no table for the full tunnel)",
        });
      } else {
        plans.push({ prefix, table: fullTunnelTable });
      }
    } else if (connected.has(key)) {
      plans.push({ prefix, table: RT_TABLE_MAIN, skip: "already routed by the interface address" });
    } else {
      plans.push({ prefix, table: RT_TABLE_MAIN });
    }
  }
  return plans;
}

/** The prefix with host bits cleared. */
export function networkOf(p: IpPrefix): IpPrefix {
  const ip = p.ip.slice();
  for (let i = 0; i < ip.length; i++) {
    const keep = Math.max(0, Math.min(8, p.bits - i * 8));
    ip[i] &= (0xff00 >> keep) & 0xff;
  }
  return { ip, bits: p.bits };
}
