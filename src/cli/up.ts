/**
 * `warren tun up --wg-config FILE [--tun NAME]`: brings up a WireGuard node
 * from a wg-quick style config and runs it in the foreground until Ctrl+C or
 * SIGTERM, then removes the interface and every route.
 *
 * @module
 */
import { WgNode } from "../daemon/wg_node.ts";
import { ConfigError, parseWgQuick, type WgConfig } from "../wireguard/wg_quick.ts";
import { parseFlags, UsageError } from "./usage.ts";
import { resolveEndpoints } from "./wg_endpoints.ts";
import { logLine, runUntilStopped } from "./foreground.ts";
import { scheduleStartupRelease } from "./release_startup.ts";
import {
  DEFAULT_CONTROL_URL,
  GO_BOOL_FLAGS,
  takeGoBoolFlags,
  userspaceFromEnv,
} from "./up_flags.ts";
import { USERSPACE_NETWORKING } from "../config/types.ts";
import { defaultStateDir } from "../key/state_dir.ts";

/** Usage text. */
export const UP_HELP = `Usage: warren tun up [--auth-key KEY] [--control-url URL] [options]
       warren tun up --wg-config FILE [--tun NAME]

Joins a tailnet (Tailscale or Headscale) and runs the node in the foreground,
or brings up plain WireGuard from a wg-quick style config. Ctrl+C, SIGTERM or
"warren tun down" removes the interface and every route.

Tailnet:
  --auth-key KEY        pre-auth key, or file:PATH to read it from a file
                        (default: $TS_AUTHKEY or $TAILSCALE_AUTH_KEY; none = interactive login)
  --control-url URL     coordination server (default ${DEFAULT_CONTROL_URL})
  --state-dir DIR       where machine and node keys live, or mem: (default ${defaultStateDir()})
  --hostname NAME       name to register (default: this host's name)
  --force-reauth        register a fresh node key
  --accept-routes       route subnets that peers advertise
  --advertise-routes R  offer these subnets to the tailnet (comma-separated CIDR prefixes,
                        such as 10.0.0.0/24,fd00::/64); control must approve them
  --advertise-exit-node offer this node as an exit node (adds 0.0.0.0/0 and ::/0)
  --snat-subnet-routes[=false]
                        masquerade traffic to advertised routes as this host (default true;
                        false: the LAN sees tailnet addresses and needs a route back)
  --exit-node PEER      send all traffic not for the tailnet through this peer (its Tailscale
                        IP, MagicDNS name or host name), with tailscaled's table 52 and rules
  --exit-node-allow-lan-access[=false]
                        keep this host's own networks direct while using an exit node
  --accept-dns          point /etc/resolv.conf at MagicDNS while up (restored on stop;
                        userspace-networking leaves it alone, as tailscaled does)
  --ephemeral           ask to be removed from the tailnet when offline
  --derp-http           dial DERP over plain HTTP (also TS_DEBUG_USE_DERP_HTTP=1)
  --login-timeout S     give up if the server stays unreachable this long at start (default 30)
  --port N              UDP port for WireGuard and disco (default 41641; 0 = any)
  --socket PATH         also serve the LocalAPI there, e.g. /var/run/tailscale/tailscaled.sock
                        for the stock tailscale CLI (mode 0600)
  --heartbeat-interval S, --reprobe-interval S, --probe-timeout S,
  --degraded-after-failures N, --degraded-timeout S
                        direct-path tunables (defaults 2, 25, 5, 3, 10)
  --socks5-server HOST:PORT, --outbound-http-proxy-listen HOST:PORT
                        with userspace-networking: SOCKS5 / HTTP proxy to the tailnet
                        (MagicDNS names too) and, for other destinations, the host
                        (default $TS_SOCKS5_SERVER, $TS_OUTBOUND_HTTP_PROXY_LISTEN)
  --forward tcp:PORT=HOST:PORT, --forward udp:PORT=HOST:PORT
                        with userspace-networking: relay the tailnet's connections to the
                        node's PORT to HOST:PORT on this host (repeatable)
  --netstack-max-connections N, --netstack-tcp-buffer BYTES, --netstack-tcp-memory BYTES
                        userspace-networking limits: TCP connections in the stack (default
                        4096), the most each one's send/receive buffer grows to (default 4M),
                        all TCP buffers together (default 256M)

Plain WireGuard:
  --wg-config FILE      wg-quick config ([Interface] + [Peer] sections)

Several networks in one process:
  --config FILE         JSON file naming every network (tailnets and wg-quick configs)
                        and its options; tailscaled's own config file also works

Both:
  --tun NAME            interface name (default warren0). For a tailnet,
                        --tun userspace-networking uses no TUN at all: warren's own
                        IP stack, no route, no resolv.conf, no root or CAP_NET_ADMIN
                        (also chosen by TS_USERSPACE=true when --tun is not given)
  --verbose             log handshakes and other events`;

/** Runs the command; returns the exit code. */
export async function upCommand(argv: string[]): Promise<number> {
  const goBools = takeGoBoolFlags(argv, GO_BOOL_FLAGS);
  const { values: flagValues } = parseFlags(goBools.rest, {
    "wg-config": { type: "string" },
    config: { type: "string" },
    tun: { type: "string" },
    verbose: { type: "boolean", short: "v" },
    "auth-key": { type: "string" },
    "control-url": { type: "string" },
    "state-dir": { type: "string" },
    hostname: { type: "string" },
    "force-reauth": { type: "boolean" },
    "accept-routes": { type: "boolean" },
    "advertise-routes": { type: "string" },
    "exit-node": { type: "string" },
    "accept-dns": { type: "boolean" },
    socket: { type: "string" },
    ephemeral: { type: "boolean" },
    "derp-http": { type: "boolean" },
    "debug-rekey-after": { type: "string" },
    "login-timeout": { type: "string" },
    port: { type: "string" },
    "heartbeat-interval": { type: "string" },
    "reprobe-interval": { type: "string" },
    "probe-timeout": { type: "string" },
    "degraded-after-failures": { type: "string" },
    "degraded-timeout": { type: "string" },
    "socks5-server": { type: "string" },
    "outbound-http-proxy-listen": { type: "string" },
    forward: { type: "string", multiple: true },
    "netstack-max-connections": { type: "string" },
    "netstack-tcp-buffer": { type: "string" },
    "netstack-tcp-memory": { type: "string" },
    help: { type: "boolean", short: "h" },
  });
  const values: typeof flagValues & { [K in (typeof GO_BOOL_FLAGS)[number]]?: boolean } = {
    ...flagValues,
    ...goBools.values,
  };
  if (values.help) {
    console.log(UP_HELP);
    return 0;
  }
  if (values.config !== undefined) {
    const other = Object.keys(values).find((k) => k !== "config");
    if (other !== undefined) {
      throw new UsageError(`--config does not go with --${other}: the file sets every option`);
    }
    // The tailnet and config modes are imported when chosen: their graphs (control, DERP,
    // disco, netstack) are ~10 MB of resident memory a --wg-config node would never run.
    return await (await import("./up_config.ts")).upConfig(values.config);
  }
  const file = values["wg-config"];
  const tun = values.tun ??
    (file === undefined && userspaceFromEnv() ? USERSPACE_NETWORKING : "warren0");
  if (tun === USERSPACE_NETWORKING) {
    if (file !== undefined) {
      throw new UsageError(
        `--tun ${USERSPACE_NETWORKING} does not go with --wg-config: plain WireGuard needs a TUN`,
      );
    }
  } else if (!/^[A-Za-z0-9_.-]{1,15}$/.test(tun)) {
    throw new UsageError(
      `Bad --tun "${tun}": 1 to 15 letters, digits, "_", "." or "-", or ${USERSPACE_NETWORKING}`,
    );
  }
  if (file === undefined) return await (await import("./up_tailnet.ts")).upTailnet(tun, values);
  for (
    const f of [
      "auth-key",
      "control-url",
      "state-dir",
      "force-reauth",
      "accept-routes",
      "socket",
      "advertise-routes",
      "advertise-exit-node",
      "snat-subnet-routes",
      "socks5-server",
      "outbound-http-proxy-listen",
      "forward",
      "netstack-max-connections",
      "netstack-tcp-buffer",
      "netstack-tcp-memory",
      "exit-node",
      "exit-node-allow-lan-access",
    ] as const
  ) {
    if (values[f] !== undefined) throw new UsageError(`--${f} does not go with --wg-config`);
  }
  const config = await loadConfig(file);
  const endpoints = await resolveEndpoints(config, file);
  const log = logLine;
  const verbose = values.verbose ? log : () => {};
  for (const p of config.unsupported) log(`${p.file}:${p.line}: ${p.message}`);

  const node = await WgNode.start({
    tun,
    config,
    endpoints,
    log: (line) => (line.startsWith("peer ") ? verbose : log)(line),
    afterPlaneSleep: () => void scheduleStartupRelease(log, 1_000),
  });
  const st = await node.status();
  log(
    `${st.interface} up: ${st.addresses.join(", ") || "no address"}, port ${st.listenPort}, ` +
      `${st.peers.length} peer(s), ${st.routes.length} route(s)`,
  );
  return await runUntilStopped(node, `${st.interface} down: interface and routes removed`);
}

async function loadConfig(file: string): Promise<WgConfig> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (e) {
    throw new UsageError(`Cannot read --wg-config ${file}: ${e instanceof Error ? e.message : e}`);
  }
  try {
    return parseWgQuick(text, file);
  } catch (e) {
    if (e instanceof ConfigError) throw new UsageError(e.message);
    throw e;
  }
}
