/**
 * What two networks in one process cannot share: an interface name, a UDP port, overlapping
 * interface addresses, or a state directory (one node key for two nodes). Each clash is
 * reported on the later network, naming the earlier one.
 *
 * @module
 */
import { formatPrefix, type IpPrefix, parsePrefix, prefixContains } from "../net/ip.ts";
import { joinPath, type ProblemList } from "./problems.ts";
import { DEFAULT_TAILNET_PORT, type NetworkConfig, USERSPACE_NETWORKING } from "./types.ts";

/** Where tailnet control servers hand out addresses (Tailscale's CGNAT and ULA ranges). */
const TAILNET_RANGES: IpPrefix[] = [
  parsePrefix("100.64.0.0/10"),
  parsePrefix("fd7a:115c:a1e0::/48"),
];

/** Whether two prefixes share any address. */
export function prefixesOverlap(a: IpPrefix, b: IpPrefix): boolean {
  if (a.ip.length !== b.ip.length) return false;
  return prefixContains({ ip: a.ip, bits: Math.min(a.bits, b.bits) }, b.ip);
}

/** A network and the JSON path of its section (`networks.NAME.tailnet`). */
export interface PlacedNetwork {
  /** The network. */
  net: NetworkConfig;
  /** Path of its section in the file. */
  path: string;
}

/** Reports every clash between `nets` to `out` (problems and, for likely ones, warnings). */
export function checkClashes(nets: readonly PlacedNetwork[], out: ProblemList): void {
  const tuns = new Map<string, string>();
  const ports = new Map<number, string>();
  const stateDirs = new Map<string, string>();
  const addrs: { prefix: IpPrefix; owner: string }[] = [];
  const hasTailnet = nets.some((n) => n.net.kind === "tailnet");
  for (const { net, path } of nets) {
    if (net.tun !== USERSPACE_NETWORKING) {
      const other = tuns.get(net.tun);
      if (other !== undefined) {
        out.add(joinPath(path, "tun"), `interface "${net.tun}" is also used by network "${other}"`);
      } else tuns.set(net.tun, net.name);
    }
    const [port, portPath, portWhat] = net.kind === "tailnet"
      ? [net.port, joinPath(path, "port"), `UDP port ${net.port}`]
      : [
        net.config.listenPort,
        joinPath(path, "configFile"),
        `ListenPort ${net.config.listenPort}`,
      ];
    if (port !== null && port !== 0) {
      const other = ports.get(port);
      if (other !== undefined) {
        const hint = net.kind === "tailnet" && port === DEFAULT_TAILNET_PORT
          ? ` (the default; give one of them its own "port", or 0 for any)`
          : "";
        out.add(portPath, `${portWhat} is also used by network "${other}"${hint}`);
      } else ports.set(port, net.name);
    }
    if (net.kind === "tailnet") {
      if (net.stateDir !== "mem:") {
        const other = stateDirs.get(net.stateDir);
        if (other !== undefined) {
          out.add(
            joinPath(path, "stateDir"),
            `state directory ${net.stateDir} is also used by network "${other}" ` +
              `(two nodes cannot share one node key)`,
          );
        } else stateDirs.set(net.stateDir, net.name);
      }
      continue;
    }
    for (const prefix of net.config.addresses) {
      const at = joinPath(path, "configFile");
      const hit = addrs.find((a) => a.owner !== net.name && prefixesOverlap(a.prefix, prefix));
      if (hit !== undefined) {
        out.add(
          at,
          `Address ${formatPrefix(prefix)} overlaps ${
            formatPrefix(hit.prefix)
          } of network "${hit.owner}"`,
        );
      }
      addrs.push({ prefix, owner: net.name });
      const range = TAILNET_RANGES.find((r) => prefixesOverlap(r, prefix));
      if (hasTailnet && range !== undefined) {
        out.warn(
          at,
          `Address ${formatPrefix(prefix)} lies in ${formatPrefix(range)}, where tailnets ` +
            `number their nodes: it may clash with a tailnet's addresses or routes`,
        );
      }
    }
  }
}
