/**
 * Which routes a node installs for its peers' allowed IPs, decided apart
 * from the syscalls so the rules can be tested.
 *
 * @module
 */
import { formatPrefix, type IpPrefix } from "../net/ip.ts";

/** A route to install, or a reason to leave it out. */
export interface RoutePlan {
  /** The destination prefix. */
  prefix: IpPrefix;
  /** Why it is not installed; undefined when it is. */
  skip?: string;
}

/**
 * One route per distinct allowed-IP prefix, except: the kernel already routes
 * an interface address's own subnet, and a default route would capture the
 * tunnel's own UDP traffic (wg-quick needs policy routing for that, which
 * warren does not do yet).
 */
export function routesFor(allowed: IpPrefix[], addresses: IpPrefix[]): RoutePlan[] {
  const seen = new Set<string>();
  const connected = new Set(addresses.map((a) => formatPrefix(networkOf(a))));
  const plans: RoutePlan[] = [];
  for (const prefix of allowed) {
    const key = formatPrefix(prefix);
    if (seen.has(key)) continue;
    seen.add(key);
    if (prefix.bits === 0) {
      plans.push({
        prefix,
        skip: "default route not installed (full tunnels need policy routing, not supported yet)",
      });
    } else if (connected.has(key)) {
      plans.push({ prefix, skip: "already routed by the interface address" });
    } else {
      plans.push({ prefix });
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
