/**
 * The systemd unit `warren tun install` writes: `tun up --config FILE` with only what the
 * file's networks need, worked out from the checked config rather than granted wholesale.
 *
 * Why each grant (compare tailscale's cmd/tailscaled/tailscaled.service, which runs as full
 * root with no sandbox at all):
 *
 * - The service runs as root, with its capabilities cut to the bounding set. Not
 *   `DynamicUser=`: the secrets a config names (auth key files, wg-quick private keys) are
 *   root-owned 0600 by convention (wg-quick warns otherwise), a dynamic user could not read
 *   them, rewriting /etc/resolv.conf and /proc/sys needs uid 0's file ownership rather than a
 *   capability, and the node keys would move to /var/lib/private.
 * - `CAP_NET_ADMIN` (TUN devices, addresses, routes, rules, nftables, `SO_MARK`) when any
 *   network has a TUN device, with `DeviceAllow=/dev/net/tun rw` under `DevicePolicy=closed`.
 *   `CAP_NET_BIND_SERVICE` only when a network's UDP port is below 1024: MagicDNS's port 53
 *   lives inside the tunnel, not on a host socket. `AmbientCapabilities=` repeats the set (moot
 *   for root) so the network capabilities survive a drop-in `User=`.
 * - A config whose networks are all `userspace-networking` gets an empty capability set, no
 *   device (`PrivateDevices=yes`) — root that can only read root's files and write its own
 *   state.
 * - `ReadWritePaths=/etc` only when a network rewrites resolv.conf (`acceptDns`, or a wg-quick
 *   `DNS =`): warren keeps the original beside it and replaces a symlink with a file, which a
 *   bind mount of the file alone would not allow.
 * - `ProtectKernelTunables=yes` unless a wg-quick full tunnel must set
 *   net.ipv4.conf.all.src_valid_mark, as wg-quick does.
 * - No `MemoryDenyWriteExecute=`: V8's JIT writes code. No `SystemCallFilter=` yet: it needs
 *   checking against a running systemd, which the tests here do not have.
 *
 * @module
 */
import { planRouting } from "../daemon/policy_routing.ts";
import { splitHostPort } from "../net/ip.ts";
import { type NetworksConfig, USERSPACE_NETWORKING } from "./types.ts";

/** Where `tun install` puts the binary the unit runs. */
export const INSTALL_BINARY = "/usr/local/bin/warren";
/** The unit's name. */
export const UNIT_NAME = "warren.service";
/** Where `tun install` writes the unit. */
export const UNIT_PATH = `/etc/systemd/system/${UNIT_NAME}`;
/** The state directory `StateDirectory=warren` gives the service (the root default too). */
export const SERVICE_STATE_DIR = "/var/lib/warren";

/** What the unit is written for. */
export interface SystemdUnitOptions {
  /** The config file `tun up --config` reads: an absolute path. */
  configFile: string;
  /** That file, checked (what `loadNetworksConfig(configFile)` returned). */
  config: NetworksConfig;
  /** The binary to run; default {@link INSTALL_BINARY}. */
  binary?: string;
}

/** What a config's networks need from the service manager, decided by {@link unitNeeds}. */
export interface UnitNeeds {
  /** Some network has a TUN device: `CAP_NET_ADMIN` and /dev/net/tun. */
  tun: boolean;
  /** Some network's UDP port is below 1024: `CAP_NET_BIND_SERVICE`. */
  lowPort: boolean;
  /** Some network rewrites /etc/resolv.conf: /etc writable. */
  resolvConf: boolean;
  /** A wg-quick full tunnel sets net.ipv4.conf.all.src_valid_mark: /proc/sys writable. */
  sysctl: boolean;
  /** A wg-quick peer's Endpoint is a host name, resolved at start: wait for the network. */
  resolvesNames: boolean;
  /** Files the service reads (config, auth keys, wg-quick files). */
  reads: string[];
  /**
   * State directories outside {@link SERVICE_STATE_DIR}: made writable, and `tun install`
   * must create them (0700) first — under `ProtectSystem=strict` the service cannot.
   */
  writes: string[];
}

const HOME_DIRS = ["/home", "/root", "/run/user"];
const TMP_DIRS = ["/tmp", "/var/tmp"];

function under(path: string, dirs: readonly string[]): boolean {
  return dirs.some((d) => path === d || path.startsWith(`${d}/`));
}

/**
 * What the networks of `config` (read from `configFile`) need.
 *
 * @throws {RangeError} for a relative path, or one in /tmp (the service's /tmp is private)
 */
export function unitNeeds(configFile: string, config: NetworksConfig): UnitNeeds {
  const reads = [configFile];
  const writes: string[] = [];
  const needs: UnitNeeds = {
    tun: false,
    lowPort: false,
    resolvConf: false,
    sysctl: false,
    resolvesNames: false,
    reads,
    writes,
  };
  const lowPort = (p: number | null) => p !== null && p > 0 && p < 1024;
  for (const net of config.networks) {
    if (net.tun !== USERSPACE_NETWORKING) needs.tun = true;
    if (net.kind === "tailnet") {
      if (net.authKeyFile !== undefined) reads.push(net.authKeyFile);
      const st = net.stateDir;
      if (st !== "mem:" && !under(st, [SERVICE_STATE_DIR])) writes.push(st);
      // tailscaled's --socket (e.g. /var/run/tailscale): the sandbox must let the node bind there.
      if (net.socket !== undefined) writes.push(net.socket.slice(0, net.socket.lastIndexOf("/")));
      needs.lowPort ||= lowPort(net.port);
      needs.resolvConf ||= net.acceptDns;
      continue;
    }
    const wg = net.config;
    reads.push(net.configFile);
    needs.lowPort ||= lowPort(wg.listenPort);
    needs.resolvConf ||= wg.dns.servers.length > 0;
    needs.sysctl ||= planRouting({
      allowed: wg.peers.flatMap((p) => p.allowedIps),
      addresses: wg.addresses,
      table: wg.table,
      fwmark: wg.fwmark,
      tableInUse: () => false,
    }).srcValidMark;
    needs.resolvesNames ||= wg.peers.some((p) => p.endpoint !== null && !isIpEndpoint(p.endpoint));
  }
  for (const path of [...reads, ...writes]) {
    if (!path.startsWith("/")) {
      throw new RangeError(`Cannot write a unit for relative path "${path}": give absolute paths`);
    }
    if (under(path, TMP_DIRS)) {
      throw new RangeError(
        `Cannot write a unit reading ${path}: the service gets a private /tmp (and /tmp does ` +
          `not survive a reboot); move it, e.g. under /etc/warren`,
      );
    }
  }
  return needs;
}

function isIpEndpoint(endpoint: string): boolean {
  try {
    return splitHostPort(endpoint).ip !== null;
  } catch {
    return false; // wg_quick.ts validated it; a name is the safe guess
  }
}

/**
 * Quotes one word of a command line for systemd: `%` and `$` doubled (no specifier or
 * variable expansion), and double quotes around anything with a space, quote or backslash.
 *
 * @throws {RangeError} for control characters, which a unit file cannot carry
 */
export function systemdQuote(word: string): string {
  // deno-lint-ignore no-control-regex
  if (/[\x00-\x1f\x7f]/.test(word)) {
    throw new RangeError(`Cannot put ${JSON.stringify(word)} in a unit file: control character`);
  }
  const escaped = word.replaceAll("%", "%%").replaceAll("$", "$$$$");
  if (escaped !== "" && !/[\s"'\\;]/.test(escaped)) return escaped;
  return `"${escaped.replaceAll("\\", "\\\\").replaceAll('"', '\\"')}"`;
}

/**
 * The unit's text.
 *
 * @example
 * ```ts
 * import { parseNetworksConfig } from "./networks.ts";
 * import { systemdUnit } from "./systemd_unit.ts";
 * const file = "/etc/warren/warren.json";
 * const config = parseNetworksConfig(`{"networks": {"corp": {"tailnet": {}}}}`, file, {
 *   stateRoot: "/var/lib/warren",
 * });
 * console.assert(systemdUnit({ configFile: file, config }).includes("CAP_NET_ADMIN"));
 * ```
 * @throws {RangeError} as {@link unitNeeds} does
 */
export function systemdUnit(opts: SystemdUnitOptions): string {
  const needs = unitNeeds(opts.configFile, opts.config);
  const names = opts.config.networks.map((n) => n.name).join(", ");
  const binary = opts.binary ?? INSTALL_BINARY;
  const caps = [
    ...(needs.tun ? ["CAP_NET_ADMIN"] : []),
    ...(needs.lowPort ? ["CAP_NET_BIND_SERVICE"] : []),
  ];
  const online = needs.resolvesNames ? " network-online.target nss-lookup.target" : "";
  const homeRead = needs.reads.some((p) => under(p, HOME_DIRS));
  const L: string[] = [
    "# Written by `warren tun install`; `warren tun uninstall` removes it.",
    "[Unit]",
    `Description=warren VPN node (${names})`,
    `Wants=network-pre.target${online}`,
    `After=network-pre.target NetworkManager.service systemd-resolved.service${online}`,
    "",
    "[Service]",
    "Type=exec",
    `ExecStart=${[binary, "tun", "up", "--config", opts.configFile].map(systemdQuote).join(" ")}`,
    "# `systemctl reload`: warren rereads the file, touching only the networks that changed.",
    "ExecReload=/bin/kill -HUP $MAINPID",
    "Restart=on-failure",
    "# Exit code 2 is a bad config file, which a restart does not fix.",
    "RestartPreventExitStatus=2",
    "# Node keys; kept by `tun uninstall`.",
    "StateDirectory=warren",
    "StateDirectoryMode=0700",
    "# LocalAPI sockets, for `warren tun status` and `tun down`.",
    "RuntimeDirectory=warren",
    "RuntimeDirectoryMode=0755",
    "",
  ];
  if (needs.tun) {
    L.push(
      "# TUN devices, addresses, routes and nftables.",
      `CapabilityBoundingSet=${caps.join(" ")}`,
      `AmbientCapabilities=${caps.join(" ")}`,
      "DevicePolicy=closed",
      "DeviceAllow=/dev/net/tun rw",
    );
  } else {
    L.push(
      "# Userspace networking only: no TUN device, no CAP_NET_ADMIN.",
      `CapabilityBoundingSet=${caps.join(" ")}`,
      ...(caps.length > 0 ? [`AmbientCapabilities=${caps.join(" ")}`] : []),
      "DevicePolicy=closed",
      "PrivateDevices=yes",
    );
  }
  L.push(
    "NoNewPrivileges=yes",
    "ProtectSystem=strict",
    `ProtectHome=${homeRead ? "read-only" : "yes"}`,
    "PrivateTmp=yes",
    "PrivateMounts=yes",
  );
  const rw = [...(needs.resolvConf ? ["/etc"] : []), ...needs.writes];
  if (needs.resolvConf) {
    L.push("# resolv.conf is rewritten, its original kept beside it, and restored on stop.");
  }
  if (rw.length > 0) L.push(`ReadWritePaths=${rw.map(systemdQuote).join(" ")}`);
  if (needs.sysctl) {
    L.push("# A wg-quick full tunnel sets net.ipv4.conf.all.src_valid_mark.");
  } else {
    L.push("ProtectKernelTunables=yes");
  }
  L.push(
    "ProtectKernelModules=yes",
    "ProtectKernelLogs=yes",
    "ProtectControlGroups=yes",
    "ProtectClock=yes",
    "ProtectHostname=yes",
    "ProtectProc=invisible",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_NETLINK AF_UNIX",
    "RestrictNamespaces=yes",
    "RestrictRealtime=yes",
    "RestrictSUIDSGID=yes",
    "LockPersonality=yes",
    "SystemCallArchitectures=native",
    "# No MemoryDenyWriteExecute=: V8's JIT compiler writes code.",
    "",
    "[Install]",
    "WantedBy=multi-user.target",
    "",
  );
  return L.join("\n");
}
