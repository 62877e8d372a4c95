/**
 * The tailnet half of `warren tun up`: resolve the auth key and options,
 * start the node, and run it in the foreground until a signal or `tun down`.
 *
 * @module
 */
import { scheduleStartupRelease } from "./release_startup.ts";
import { defaultStateDir } from "../key/state.ts";
import { TsNode } from "../daemon/ts_node.ts";
import { USERSPACE_NETWORKING } from "../daemon/node_link.ts";
import { UsageError } from "./usage.ts";
import type { IpPrefix } from "../net/ip.ts";
import { AdvertiseRoutesError, parseAdvertiseRoutes } from "../net/advertise_routes.ts";
import { checkExitNodePrefs } from "../daemon/exit_node.ts";
import { logLine, runUntilStopped } from "./foreground.ts";
import { checkUserspaceFlags, type ProxyFlags } from "./proxy_flags.ts";
import { upGivenPrefs } from "./up_prefs.ts";
import { DEFAULT_CONTROL_URL, envGet } from "./up_flags.ts";

// Moved to up_flags.ts so `tun up --wg-config` need not load this module's graph; kept here
// for existing importers.
export {
  DEFAULT_CONTROL_URL,
  GO_BOOL_FLAGS,
  parseBoolText,
  takeGoBoolFlags,
  userspaceFromEnv,
} from "./up_flags.ts";

/** The flags `tun up` passes on. */
export interface TailnetFlags extends ProxyFlags {
  /** Pre-auth key, or `file:PATH`; absent means `$TS_AUTHKEY`, then interactive login. */
  "auth-key"?: string;
  /** Coordination server base URL; defaults to `DEFAULT_CONTROL_URL`. */
  "control-url"?: string;
  /** Where the machine and node keys persist, or `mem:` to keep them in memory only. */
  "state-dir"?: string;
  /** Name to register with control; defaults to this host's name. */
  hostname?: string;
  /** Register a fresh node key even if a saved one exists. */
  "force-reauth"?: boolean;
  /** Install routes for the subnets peers advertise. */
  "accept-routes"?: boolean;
  /** Comma-separated CIDR prefixes to offer the tailnet (`--advertise-routes`). */
  "advertise-routes"?: string;
  /** Offer to be an exit node: 0.0.0.0/0 and ::/0 join the advertised routes. */
  "advertise-exit-node"?: boolean;
  /** Masquerade traffic forwarded to advertised routes (default true, as tailscaled). */
  "snat-subnet-routes"?: boolean;
  /** Use this peer as the exit node (Tailscale IP, MagicDNS name or host name). */
  "exit-node"?: string;
  /** Keep the host's own networks direct while using an exit node. */
  "exit-node-allow-lan-access"?: boolean;
  /** Point `/etc/resolv.conf` at MagicDNS while the node is up. */
  "accept-dns"?: boolean;
  /** Ask control to delete the node once it goes offline. */
  ephemeral?: boolean;
  /** Dial DERP over plain HTTP instead of TLS (for test beds). */
  "derp-http"?: boolean;
  /** Seconds (1–120) after which sessions rekey, shortened so tests can watch a rekey. */
  "debug-rekey-after"?: string;
  /** Seconds to keep retrying an unreachable control server at start (default 30). */
  "login-timeout"?: string;
  /** UDP port for WireGuard and disco (default 41641; 0 lets the kernel choose). */
  port?: string;
  /** Seconds between pings on the best direct path while active. */
  "heartbeat-interval"?: string;
  /** Seconds between re-pings of every candidate while the peer is relay-only. */
  "reprobe-interval"?: string;
  /** Seconds a disco ping waits for its pong. */
  "probe-timeout"?: string;
  /** Missed heartbeats in a row after which a direct path counts as degraded. */
  "degraded-after-failures"?: string;
  /** Seconds without a pong after which a degraded peer falls back to DERP only. */
  "degraded-timeout"?: string;
  /** Also serve the LocalAPI at this path (tailscaled's `--socket`). */
  socket?: string;
  /** Also log handshakes and other per-peer events. */
  verbose?: boolean;
}

/** The routes `--advertise-routes` and `--advertise-exit-node` offer; tailscale's messages. */
export function advertisedRoutes(v: TailnetFlags): IpPrefix[] {
  try {
    return parseAdvertiseRoutes(v["advertise-routes"] ?? "", !!v["advertise-exit-node"]);
  } catch (e) {
    if (e instanceof AdvertiseRoutesError) throw new UsageError(`--advertise-routes: ${e.message}`);
    throw e;
  }
}

/** `--exit-node` and `--exit-node-allow-lan-access`, refused as tailscale refuses them (exit 2). */
export function exitNodeFlags(
  v: TailnetFlags,
  advertised: readonly IpPrefix[],
): { exitNode: string; exitNodeAllowLanAccess: boolean } {
  const prefs = {
    exitNode: (v["exit-node"] ?? "").trim(),
    allowLanAccess: !!v["exit-node-allow-lan-access"],
  };
  try {
    checkExitNodePrefs(prefs, advertised.some((p) => p.bits === 0));
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  return { exitNode: prefs.exitNode, exitNodeAllowLanAccess: prefs.allowLanAccess };
}

/** A flag's number, checked: a UsageError names the flag and the allowed range. */
export function numberFlag(
  name: string,
  text: string | undefined,
  min: number,
  max: number,
): number | undefined {
  if (text === undefined) return undefined;
  const n = Number(text);
  if (!Number.isFinite(n) || n < min || n > max) {
    throw new UsageError(`Bad --${name} "${text}": want a number from ${min} to ${max}`);
  }
  return n;
}

/** The auth key from the flag, `file:PATH`, or the environment; undefined = interactive. */
async function resolveAuthKey(flag: string | undefined): Promise<string | undefined> {
  const raw = flag ?? Deno.env.get("TS_AUTHKEY") ?? Deno.env.get("TAILSCALE_AUTH_KEY");
  if (raw === undefined || raw === "") return undefined;
  if (!raw.startsWith("file:")) return raw;
  const path = raw.slice(5);
  try {
    const key = (await Deno.readTextFile(path)).trim();
    if (key === "") throw new UsageError(`Auth key file ${path} is empty`);
    return key;
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(
      `Cannot read auth key file ${path}: ${e instanceof Error ? e.message : e}`,
    );
  }
}

/** Runs a tailnet node in the foreground; returns the exit code. */
export async function upTailnet(tun: string, v: TailnetFlags): Promise<number> {
  const controlUrl = v["control-url"] ?? DEFAULT_CONTROL_URL;
  let url: URL;
  try {
    url = new URL(controlUrl);
  } catch {
    throw new UsageError(`Bad --control-url "${controlUrl}": not a URL`);
  }
  if (url.protocol !== "http:" && url.protocol !== "https:") {
    throw new UsageError(`Bad --control-url "${controlUrl}": must be http:// or https://`);
  }
  const rekeyAfter = numberFlag("debug-rekey-after", v["debug-rekey-after"], 1, 120);
  const advertiseRoutes = advertisedRoutes(v);
  const exitNode = exitNodeFlags(v, advertiseRoutes);
  const port = numberFlag("port", v.port, 0, 65535) ?? 41641;
  if (!Number.isInteger(port)) throw new UsageError(`Bad --port "${v.port}": want a whole number`);
  const seconds = (name: keyof TailnetFlags) => {
    const s = numberFlag(name, v[name] as string | undefined, 0.05, 3600);
    return s === undefined ? undefined : s * 1000;
  };
  const tunables = Object.fromEntries(
    Object.entries({
      heartbeatInterval: seconds("heartbeat-interval"),
      reprobeInterval: seconds("reprobe-interval"),
      probeTimeout: seconds("probe-timeout"),
      degradedAfterFailures: numberFlag(
        "degraded-after-failures",
        v["degraded-after-failures"],
        1,
        100,
      ),
      degradedTimeout: seconds("degraded-timeout"),
    }).filter(([, x]) => x !== undefined),
  );
  const log = logLine;
  const verbose = v.verbose ? log : () => {};
  const userspace = tun === USERSPACE_NETWORKING;
  const services = checkUserspaceFlags(v, userspace, envGet);
  if (userspace && v["accept-dns"]) {
    log(
      `--accept-dns: ${USERSPACE_NETWORKING} leaves /etc/resolv.conf alone (MagicDNS serves warren)`,
    );
  }
  const node = await TsNode.start({
    tun,
    userspace,
    controlUrl: controlUrl.replace(/\/+$/, ""),
    authKey: await resolveAuthKey(v["auth-key"]),
    stateDir: v["state-dir"] ?? defaultStateDir(),
    forceReauth: !!v["force-reauth"],
    acceptRoutes: !!v["accept-routes"],
    advertiseRoutes,
    snatSubnetRoutes: v["snat-subnet-routes"] ?? true,
    ...exitNode,
    acceptDns: !!v["accept-dns"],
    hostname: v.hostname,
    givenPrefs: upGivenPrefs(v, advertiseRoutes),
    ephemeral: !!v.ephemeral,
    socket: v.socket,
    afterPlaneSleep: () => void scheduleStartupRelease(logLine, 1_000),
    plainDerp: !!v["derp-http"] || Deno.env.get("TS_DEBUG_USE_DERP_HTTP") === "1",
    port,
    tunables,
    loginTimeoutMs: (numberFlag("login-timeout", v["login-timeout"], 1, 86400) ?? 30) * 1000,
    timings: rekeyAfter === undefined ? undefined : {
      // A shortened session life for tests; rejection keeps the whitepaper's 3:2 ratio.
      rekeyAfterTime: rekeyAfter * 1000,
      rejectAfterTime: rekeyAfter * 1500,
    },
    log: (line) => (/^peer [^ ]+: handshake/.test(line) ? verbose : log)(line),
    onAuthUrl: (u) => log(`To authenticate, visit:\n\n\t${u}\n`),
  });
  const st = node.status();
  log(
    `${st.interface} up as ${st.tailnet?.self?.name ?? "?"} (${st.addresses.join(", ")}), ` +
      `${st.peers.length} peer(s), ` +
      (userspace ? "no TUN, no routes" : `${st.routes.length} route(s)`),
  );
  const proxies = services
    // Imported only in userspace mode: the TCP stack, proxies and forwards are ~150 KB of
    // source, ~2 MB of memory in a node that would never run them.
    ? await startOrStop(
      node,
      async () =>
        (await import("../daemon/userspace_services.ts")).startUserspaceServices(
          node,
          services,
          log,
        ),
    )
    : null;
  const code = await runUntilStopped(
    node,
    userspace ? `${st.interface} down` : `${st.interface} down: interface and routes removed`,
  );
  await proxies?.close();
  return code;
}

/** Runs `start` on a running node; if it throws, stops the node first. */
export async function startOrStop<T>(node: TsNode, start: () => T): Promise<T> {
  try {
    return await start();
  } catch (e) {
    await node.stop();
    throw e;
  }
}
