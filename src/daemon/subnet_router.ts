/**
 * The subnet-router side of a tailnet node (`--advertise-routes`, `--advertise-exit-node`):
 * which destinations the packet filter lets through to the kernel for forwarding, warren's
 * nftables table that accepts the forwarded traffic and masquerades it (`--snat-subnet-routes`,
 * on by default as in tailscaled), tailscaled's warning when the kernel does not forward, and
 * what status shows: routes advertised and, from the self node in the netmap, approved.
 *
 * As tailscaled, the filter takes the *advertised* routes: control approves a route by giving
 * it to the other nodes (in the router's AllowedIPs), and Headscale 0.28 does not even send
 * the router a new self node on approval (fixtures/headscale-0.28-routes), so a router that
 * waited for its own approval would not forward until its next self update. An exit route
 * (/0) is shrunk by the host's own networks and addresses first, so an exit node's users get
 * the internet but not its LANs unless those are advertised too.
 *
 * In userspace-networking mode there is no kernel to forward: the same destinations, less the
 * tailnet's own ranges, are handed to the netstack (`netstackRoutes`), which terminates each
 * flow and re-dials it from the host (./routed_flows.ts); no table, no forwarding sysctl.
 *
 * @module
 */
import { installForwarding, removeTable } from "../../ffi/nftables.ts";
import type { ForwardingConfig } from "../../ffi/nftables.ts";
import { comparePrefix, isExitRoute } from "../net/advertise_routes.ts";
import { formatPrefix, type IpPrefix, maskIp, parseIp, parsePrefix } from "../net/ip.ts";
import type { Node } from "../netmap/tailcfg.ts";

/**
 * warren's nftables table (family inet) for the node on interface `tun`: one per interface, so
 * two nodes (two networks of one `tun up --config`, or two processes) never touch each other's,
 * and a start can remove the one a crashed run on the same interface left.
 */
export function nftTableFor(tun: string): string {
  return `warren-${tun}`;
}
/** The tailnet's address ranges: what SNAT rewrites. */
const TAILNET_V4 = parsePrefix("100.64.0.0/10");
const TAILNET_V6 = parsePrefix("fd7a:115c:a1e0::/48");
/** Destinations the netstack never re-dials for a peer, even inside an advertised route. */
const NOT_ROUTED = [
  TAILNET_V4,
  TAILNET_V6,
  parsePrefix("127.0.0.0/8"),
  parsePrefix("0.0.0.0/8"),
  parsePrefix("224.0.0.0/3"),
  parsePrefix("::1/128"),
  parsePrefix("::/128"),
  parsePrefix("ff00::/8"),
];
const IP_FORWARDING_KB = "https://tailscale.com/s/ip-forwarding";

/** The router's part of `tun status`. */
export interface SubnetRouterStatus {
  /** Routes this node offers (Hostinfo.RoutableIPs), sorted. */
  advertised: string[];
  /** Those control approved: in the self node's AllowedIPs or PrimaryRoutes. */
  approved: string[];
  /** Whether forwarded traffic is masqueraded to this host's address. */
  snat: boolean;
  /** Whether warren's nftables table is installed. */
  nftables: boolean;
  /** Served by the netstack (userspace-networking: flows re-dialled from the host). */
  userspace?: boolean;
  /** tailscaled's warning when the kernel does not forward (as of now), else null. */
  forwardingWarning: string | null;
}

/** What the router touches outside itself; tests replace these. */
export interface SubnetRouterPorts {
  /** Installs warren's forwarding table (replacing a stale one). */
  install(cfg: ForwardingConfig): void;
  /** Removes a table; false if there was none. */
  remove(table: string): boolean;
  /** A /proc/sys file's text, or null if it cannot be read. */
  readSysctl(path: string): string | null;
  /** The host's interfaces (Deno.networkInterfaces). */
  interfaces(): Deno.NetworkInterfaceInfo[];
}

/** How to run a router. */
export interface SubnetRouterOptions {
  /** Routes advertised (parsed by parseAdvertiseRoutes). */
  advertised: readonly IpPrefix[];
  /** Masquerade forwarded traffic (`--snat-subnet-routes`). */
  snat: boolean;
  /** The TUN interface. */
  tun: string;
  /** Userspace networking: served by the netstack, nothing installed in the kernel. */
  userspace?: boolean;
  /** One line per notable event. */
  log(line: string): void;
  /** Kernel access; the real one by default. */
  ports?: Partial<SubnetRouterPorts>;
}

const REAL_PORTS: SubnetRouterPorts = {
  install: installForwarding,
  remove: removeTable,
  readSysctl: (path) => {
    try {
      return Deno.readTextFileSync(path);
    } catch {
      return null;
    }
  },
  interfaces: () => Deno.networkInterfaces(),
};

/** One node's subnet router: started once the TUN exists, closed on stop. */
export class SubnetRouter {
  readonly #opts: SubnetRouterOptions;
  readonly #ports: SubnetRouterPorts;
  #installed = false;

  /** A router for `opts.advertised` (nothing happens before {@link start}). */
  constructor(opts: SubnetRouterOptions) {
    this.#opts = opts;
    this.#ports = { ...REAL_PORTS, ...opts.ports };
  }

  /** Whether the node advertises anything. */
  get active(): boolean {
    return this.#opts.advertised.length > 0;
  }

  /**
   * Checks IP forwarding (one warning line if off) and installs warren's nftables table.
   * A table a crashed run left is replaced; a failure is logged, not thrown: the tailnet
   * still works, only forwarding may not.
   */
  start(): void {
    if (!this.active) return;
    const { advertised, snat, tun, log } = this.#opts;
    if (this.#opts.userspace) {
      log(
        `routes ${advertised.map(formatPrefix).join(",")}: served in userspace ` +
          `(flows end in the netstack and are re-dialled from this host` +
          (snat ? ")" : "; --snat-subnet-routes=false has no effect: the LAN sees this host)"),
      );
      return;
    }
    const warning = forwardingWarning(advertised, this.#ports.readSysctl);
    if (warning) log(warning);
    try {
      this.#ports.install({
        table: nftTableFor(tun),
        tun,
        ...(snat ? { snatV4: TAILNET_V4, snatV6: TAILNET_V6 } : {}),
      });
      this.#installed = true;
      log(
        `routes ${advertised.map(formatPrefix).join(",")}: forwarding through nftables table ` +
          `inet ${nftTableFor(tun)}${snat ? " with SNAT" : ", no SNAT"}`,
      );
    } catch (e) {
      log(`routes: ${e instanceof Error ? e.message : e}`);
    }
  }

  /**
   * Destinations the packet filter lets in for the kernel to forward: the advertised
   * subnets, and for an exit node everything but this host's own networks and addresses.
   */
  localNets(): IpPrefix[] {
    const out: IpPrefix[] = [];
    let holes: IpPrefix[] | null = null;
    for (const r of this.#opts.advertised) {
      if (!isExitRoute(r)) {
        out.push(r);
        continue;
      }
      holes ??= hostNetworks(this.#ports.interfaces(), this.#opts.tun);
      out.push(...subtractPrefixes(r, holes.filter((h) => h.ip.length === r.ip.length)));
    }
    return out;
  }

  /**
   * What the netstack takes flows for in userspace mode: {@link localNets} without the
   * tailnet's ranges (an exit node's /0 covers them, but a tailnet address is no host dial)
   * and without what no router forwards (loopback — a peer must not reach the host's own
   * services that way —, "this network", multicast and broadcast).
   */
  netstackRoutes(): IpPrefix[] {
    return this.localNets().flatMap((p) =>
      subtractPrefixes(p, NOT_ROUTED.filter((t) => t.ip.length === p.ip.length))
    );
  }

  /** Status: advertised and approved routes, SNAT, the table, the forwarding warning. */
  status(self: Node | null | undefined): SubnetRouterStatus {
    const advertised = this.#opts.advertised.map(formatPrefix);
    if (this.#opts.userspace) {
      return {
        advertised,
        approved: approvedRoutes(advertised, self),
        snat: true, // the host's own sockets: the LAN sees the router's address
        nftables: false,
        userspace: true,
        forwardingWarning: null,
      };
    }
    return {
      advertised,
      approved: approvedRoutes(advertised, self),
      snat: this.#opts.snat,
      nftables: this.#installed,
      // Read again: whoever saw the warning at start may have set the sysctl since.
      forwardingWarning: forwardingWarning(this.#opts.advertised, this.#ports.readSysctl),
    };
  }

  /** Removes warren's table. Idempotent. */
  close(): void {
    if (!this.#installed) return;
    this.#installed = false;
    this.#ports.remove(nftTableFor(this.#opts.tun));
  }
}

/**
 * For a node that advertises nothing: removes the table a run on the same interface left
 * behind when it was killed (SIGKILL, a crash) while it was a router. Returns whether there
 * was one; a failure (no permission, no nftables) counts as none.
 */
export function removeStaleRouterTable(
  tun: string,
  log: (line: string) => void,
  remove: (table: string) => boolean = removeTable,
): boolean {
  try {
    if (!remove(nftTableFor(tun))) return false;
  } catch {
    return false;
  }
  log(`removed nftables table inet ${nftTableFor(tun)} a previous run left behind`);
  return true;
}

/**
 * Starts the router for what a node advertises; null when it advertises nothing. With `kernel`
 * false (userspace networking) it installs nothing: `netstack`, when given, takes the flows.
 */
export function startSubnetRouter(
  opts: SubnetRouterOptions & { kernel: boolean; netstack?: { setRoutes(p: IpPrefix[]): void } },
): SubnetRouter | null {
  opts.netstack?.setRoutes([]);
  if (opts.advertised.length === 0) return null;
  const router = new SubnetRouter({ ...opts, userspace: !opts.kernel });
  opts.netstack?.setRoutes(router.netstackRoutes());
  router.start();
  return router;
}

/**
 * The advertised routes control approved: those in the self node's AllowedIPs or
 * PrimaryRoutes (sorted as advertised).
 */
export function approvedRoutes(
  advertised: readonly string[],
  self: Node | null | undefined,
): string[] {
  const granted = new Set<string>();
  for (const s of [...(self?.AllowedIPs ?? []), ...(self?.PrimaryRoutes ?? [])]) {
    try {
      granted.add(formatPrefix(parsePrefix(s)));
    } catch {
      // not a prefix: grants nothing
    }
  }
  return advertised.filter((r) => granted.has(r));
}

/**
 * tailscaled's warning (netutil.CheckIPForwarding) when the kernel will not forward what is
 * advertised, in one line naming the sysctl to set; null when forwarding is on.
 */
export function forwardingWarning(
  advertised: readonly IpPrefix[],
  readSysctl: (path: string) => string | null,
): string | null {
  const wantV4 = advertised.some((p) => p.ip.length === 4);
  const wantV6 = advertised.some((p) => p.ip.length === 16);
  const on = (path: string) => readSysctl(path)?.trim() === "1";
  const v4Off = wantV4 && !on("/proc/sys/net/ipv4/ip_forward");
  const v6Off = wantV6 && !on("/proc/sys/net/ipv6/conf/all/forwarding");
  if (v4Off) {
    const sysctls = ["net.ipv4.ip_forward=1", ...(v6Off ? ["net.ipv6.conf.all.forwarding=1"] : [])];
    return `IP forwarding is disabled, subnet routing/exit nodes will not work; ` +
      `set sysctl ${sysctls.join(" and ")} (see ${IP_FORWARDING_KB})`;
  }
  if (v6Off) {
    return `IPv6 forwarding is disabled, subnet routing/exit nodes may not work; ` +
      `set sysctl net.ipv6.conf.all.forwarding=1 (see ${IP_FORWARDING_KB})`;
  }
  return null;
}

/** The networks and addresses of the host's interfaces other than the TUN and loopback. */
export function hostNetworks(nics: readonly Deno.NetworkInterfaceInfo[], tun: string): IpPrefix[] {
  const out: IpPrefix[] = [];
  for (const nic of nics) {
    if (nic.name === tun || nic.name === "lo") continue;
    try {
      const ip = parseIp(nic.address.split("%")[0]);
      const bits = Number(nic.cidr.split("/")[1] ?? ip.length * 8);
      out.push({ ip: maskIp(ip, bits), bits }, { ip, bits: ip.length * 8 });
    } catch {
      // an address Deno reports oddly is left out
    }
  }
  return out;
}

/**
 * `base` without the `holes` (same family), as the fewest prefixes: tailscaled's
 * shrinkDefaultRoute for a /0. Sorted by {@link comparePrefix}.
 *
 * @example
 * ```ts
 * import { formatPrefix, parsePrefix } from "../net/ip.ts";
 * subtractPrefixes(parsePrefix("10.0.0.0/30"), [parsePrefix("10.0.0.0/31")]).map(formatPrefix);
 * // ["10.0.0.2/31"]
 * ```
 */
export function subtractPrefixes(base: IpPrefix, holes: readonly IpPrefix[]): IpPrefix[] {
  const out: IpPrefix[] = [];
  const walk = (p: IpPrefix) => {
    const inside = holes.filter((h) => overlaps(p, h));
    if (inside.length === 0) {
      out.push(p);
      return;
    }
    if (inside.some((h) => h.bits <= p.bits)) return; // a hole covers all of p
    const bits = p.bits + 1;
    const lo = maskIp(p.ip, bits);
    const hi = lo.slice();
    hi[p.bits >> 3] |= 0x80 >> (p.bits & 7);
    walk({ ip: lo, bits });
    walk({ ip: hi, bits });
  };
  walk(base);
  return out.sort(comparePrefix);
}

/** Whether two same-family prefixes share an address. */
function overlaps(a: IpPrefix, b: IpPrefix): boolean {
  if (a.ip.length !== b.ip.length) return false;
  const bits = Math.min(a.bits, b.bits);
  const x = maskIp(a.ip, bits), y = maskIp(b.ip, bits);
  return x.every((v, i) => v === y[i]);
}
