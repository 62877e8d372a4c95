/**
 * `warren tun set`'s flags and the MaskedPrefs edit they make, as
 * `tailscale set` makes it: only the flags given change anything, Go-style
 * booleans (`--accept-routes=false`), `--advertise-routes` and
 * `--advertise-exit-node` combined with the routes the node already offers,
 * and `--exit-node` by IP or by peer name.
 *
 * @module
 */
import type { PrefsEdit } from "../localapi/prefs.ts";
import {
  AdvertiseRoutesError,
  isExitRoute,
  parseAdvertiseRoutes,
} from "../net/advertise_routes.ts";
import { formatPrefix, parseIp } from "../net/ip.ts";
import { hostnameProblem } from "../daemon/live_prefs.ts";
import { takeGoBoolFlags } from "./up_tailnet.ts";
import { parseFlags, UsageError } from "./usage.ts";

/** The boolean flags of `tun set`, each `--name` or `--name=BOOL`. */
export const SET_BOOL_FLAGS = [
  "accept-routes",
  "accept-dns",
  "advertise-exit-node",
  "exit-node-allow-lan-access",
  "shields-up",
] as const;

/** What `tun set` was told. */
export interface SetFlags {
  /** `--tun`: the node's interface. */
  tun?: string;
  /** `--network`: the network of a `tun up --config` process. */
  network?: string;
  /** `--help`. */
  help: boolean;
  /** `--hostname`. */
  hostname?: string;
  /** `--exit-node`: an IP, a peer's name, or "" for none. */
  exitNode?: string;
  /** `--advertise-routes`: comma-separated prefixes, "" for none. */
  advertiseRoutes?: string;
  /** Go-style booleans, present only when given. */
  bools: Partial<Record<typeof SET_BOOL_FLAGS[number], boolean>>;
}

/**
 * Parses `tun set`'s arguments.
 *
 * @throws {UsageError} for an unknown flag, a flag without its value, or a bad boolean
 */
export function parseSetFlags(argv: string[]): SetFlags {
  const { rest, values: bools } = takeGoBoolFlags(argv, SET_BOOL_FLAGS);
  const { values } = parseFlags(rest, {
    tun: { type: "string" },
    network: { type: "string" },
    hostname: { type: "string" },
    "exit-node": { type: "string" },
    "advertise-routes": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  return {
    tun: values.tun,
    network: values.network,
    help: !!values.help,
    hostname: values.hostname,
    exitNode: values["exit-node"],
    advertiseRoutes: values["advertise-routes"],
    bools,
  };
}

/** The peers of an ipnstate.Status, as much of them as `--exit-node NAME` needs. */
export interface StatusPeers {
  /** Peers by node key. */
  Peer?:
    | Record<
      string,
      { HostName?: string; DNSName?: string; TailscaleIPs?: string[]; ExitNodeOption?: boolean }
    >
    | null;
  /** This node's addresses. */
  TailscaleIPs?: string[] | null;
}

/**
 * The exit node's IP for `--exit-node VALUE`: an IP as is (not one of ours), else the one
 * peer whose host name or MagicDNS name (full or first label) is VALUE. As tailscale's
 * exitNodeIPOfArg, the peer must offer exit (ExitNodeOption).
 *
 * @throws {UsageError} when VALUE is ours, or matches no peer or several
 * @throws {Error} with tailscale's message when the peer is unknown or offers no exit (exit 1)
 */
export function exitNodeIp(value: string, st: StatusPeers): string {
  let ip: string | null = null;
  try {
    parseIp(value);
    ip = value;
  } catch {
    // a name
  }
  if (ip !== null) {
    if ((st.TailscaleIPs ?? []).includes(ip)) {
      throw new UsageError(
        `--exit-node: cannot use ${ip} as an exit node as it is a local IP address; ` +
          `did you mean --advertise-exit-node?`,
      );
    }
    const peer = Object.values(st.Peer ?? {}).find((p) => p.TailscaleIPs?.includes(ip));
    if (!peer) throw new Error(`no node found in netmap with IP ${ip}`);
    if (!peer.ExitNodeOption) throw new Error(`node ${ip} is not advertising an exit node`);
    return ip;
  }
  const want = value.toLowerCase().replace(/\.$/, "");
  const matches = Object.values(st.Peer ?? {}).filter((p) => {
    const dns = (p.DNSName ?? "").toLowerCase().replace(/\.$/, "");
    return want !== "" &&
      (dns === want || dns.split(".")[0] === want || (p.HostName ?? "").toLowerCase() === want);
  });
  if (matches.length !== 1 || !matches[0].TailscaleIPs?.length) {
    throw new UsageError(
      `--exit-node: invalid value ${JSON.stringify(value)}; must be IP or unique node name`,
    );
  }
  if (!matches[0].ExitNodeOption) {
    throw new Error(`node ${JSON.stringify(value)} is not advertising an exit node`);
  }
  return matches[0].TailscaleIPs[0];
}

/**
 * The edit `tun set` sends. `currentRoutes` are the routes the node advertises now
 * (`--advertise-routes` keeps its exit routes unless `--advertise-exit-node` is given too,
 * and `--advertise-exit-node` alone keeps its subnets, as tailscale's calcAdvertiseRoutesForSet);
 * `exitIp` turns a `--exit-node` value into an IP.
 *
 * @throws {UsageError} naming the flag and why, or when no setting was given
 */
export function setEdit(
  f: SetFlags,
  currentRoutes: readonly string[] | null,
  exitIp: (value: string) => string,
): PrefsEdit {
  const edit: PrefsEdit = {};
  const b = f.bools;
  if (b["accept-routes"] !== undefined) edit.RouteAll = b["accept-routes"];
  if (b["accept-dns"] !== undefined) edit.CorpDNS = b["accept-dns"];
  if (b["shields-up"] !== undefined) edit.ShieldsUp = b["shields-up"];
  if (b["exit-node-allow-lan-access"] !== undefined) {
    edit.ExitNodeAllowLANAccess = b["exit-node-allow-lan-access"];
  }
  if (f.hostname !== undefined) {
    const problem = hostnameProblem(f.hostname);
    if (problem) throw new UsageError(`--hostname: ${problem}`);
    edit.Hostname = f.hostname;
  }
  if (f.exitNode !== undefined) {
    edit.ExitNodeID = "";
    edit.ExitNodeIP = f.exitNode === "" ? "" : exitIp(f.exitNode);
  }
  const routesGiven = f.advertiseRoutes !== undefined;
  const exitGiven = b["advertise-exit-node"] !== undefined;
  if (routesGiven || exitGiven) {
    const current = currentRoutes ?? [];
    const offersExit = current.some((r) => isExitRoute(r));
    const text = routesGiven
      ? f.advertiseRoutes!
      : current.filter((r) => !isExitRoute(r)).join(",");
    let routes;
    try {
      routes = parseAdvertiseRoutes(text, exitGiven ? b["advertise-exit-node"]! : offersExit);
    } catch (e) {
      if (e instanceof AdvertiseRoutesError) {
        throw new UsageError(`--advertise-routes: ${e.message}`);
      }
      throw e;
    }
    edit.AdvertiseRoutes = routes.map(formatPrefix);
  }
  if (Object.keys(edit).length === 0) {
    throw new UsageError("nothing to change: give at least one setting (see --help)");
  }
  return edit;
}
