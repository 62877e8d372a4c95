/**
 * A `"tailnet": {…}` section of a `tun up --config` file: one key per flag of `tun up`
 * (camelCase), checked as the flags are, resolved to a {@link TailnetNetwork}.
 *
 * @module
 */
import { Fields, show } from "./fields.ts";
import type { IpPrefix } from "../net/ip.ts";
import { AdvertiseRoutesError, parseAdvertiseRoutes } from "../net/advertise_routes.ts";
import { checkExitNodePrefs } from "../daemon/exit_node.ts";
import type { ProblemList } from "./problems.ts";
import { readNetstackKeys } from "./userspace_keys.ts";
import {
  type ConfigTunables,
  DEFAULT_TAILNET_PORT,
  DEFAULT_TUN,
  type TailnetNetwork,
  USERSPACE_NETWORKING,
} from "./types.ts";

/** Tailscale's own coordination server (as `tun up` defaults to). */
export const DEFAULT_CONTROL_URL = "https://controlplane.tailscale.com";

/** What a section parser needs besides the section. */
export interface SectionContext {
  /** Where problems go. */
  out: ProblemList;
  /** The config file's directory: relative paths in the file are relative to it. */
  dir: string;
  /** Reads a file the config names (auth key, wg-quick file); throws when it cannot. */
  readText: (path: string) => string;
}

/** The keys of a tailnet section, flag by flag. */
export const TAILNET_KEYS = [
  "authKey",
  "controlUrl",
  "stateDir",
  "hostname",
  "forceReauth",
  "acceptRoutes",
  "advertiseRoutes",
  "advertiseExitNode",
  "snatSubnetRoutes",
  "exitNode",
  "exitNodeAllowLanAccess",
  "acceptDns",
  "ephemeral",
  "derpHttp",
  "loginTimeout",
  "port",
  "tun",
  "verbose",
  "debugRekeyAfter",
  "disco",
  "socket",
  "socks5Server",
  "outboundHttpProxyListen",
  "forward",
  "netstackMaxConnections",
  "netstackTcpBuffer",
  "netstackTcpMemory",
] as const;

/** The keys of a tailnet's `disco` object: the direct-path tunables. */
export const DISCO_KEYS = [
  "heartbeatInterval",
  "reprobeInterval",
  "probeTimeout",
  "degradedAfterFailures",
  "degradedTimeout",
] as const;

const IFNAME = /^[A-Za-z0-9_.-]{1,15}$/;

/** `path` joined to `dir` unless absolute. */
export function resolvePath(dir: string, path: string): string {
  return path.startsWith("/") || dir === "" ? path : `${dir}/${path}`;
}

/**
 * Reads and checks the interface name (`tun`, default {@link DEFAULT_TUN}); `userspace`
 * also allows {@link USERSPACE_NETWORKING}.
 */
export function checkTun(f: Fields, userspace: boolean): string {
  const tun = f.string("tun") ?? DEFAULT_TUN;
  if (tun === USERSPACE_NETWORKING) {
    if (userspace) return tun;
    f.problem("tun", `"${USERSPACE_NETWORKING}" is only for tailnets`);
  } else if (!IFNAME.test(tun)) {
    f.problem(
      "tun",
      `bad interface name ${show(tun)}: 1 to 15 letters, digits, "_", "." or "-"` +
        (userspace ? `, or "${USERSPACE_NETWORKING}"` : ""),
    );
  }
  return tun;
}

/** Checks a control server URL; returns it without trailing slashes. */
export function checkControlUrl(f: Fields, key: string): string {
  const raw = f.string(key, true) ?? DEFAULT_CONTROL_URL;
  let url: URL | null = null;
  try {
    url = new URL(raw);
  } catch {
    f.problem(key, `${show(raw)} is not a URL`);
  }
  if (url !== null && url.protocol !== "http:" && url.protocol !== "https:") {
    f.problem(key, `${show(raw)} must be http:// or https://`);
  }
  return raw.replace(/\/+$/, "");
}

/** Reads an auth key, resolving `file:PATH` (relative to the config) to the key in the file. */
export function readAuthKey(
  f: Fields,
  key: string,
  ctx: SectionContext,
): { authKey?: string; authKeyFile?: string } {
  const raw = f.string(key);
  if (raw === undefined || raw === "") return {};
  if (!raw.startsWith("file:")) return { authKey: raw };
  const path = resolvePath(ctx.dir, raw.slice(5));
  let text: string;
  try {
    text = ctx.readText(path);
  } catch (e) {
    f.problem(key, `cannot read auth key file ${path}: ${e instanceof Error ? e.message : e}`);
    return { authKeyFile: path };
  }
  const authKey = text.trim();
  if (authKey === "") f.problem(key, `auth key file ${path} is empty`);
  return { authKey, authKeyFile: path };
}

/**
 * Parses the `tailnet` section of network `name` at `path`; problems go to `ctx.out`.
 * `defaultStateDir` is asked only when `stateDir` is absent.
 */
export function parseTailnetSection(
  section: Record<string, unknown>,
  path: string,
  name: string,
  defaultStateDir: () => string,
  ctx: SectionContext,
): TailnetNetwork {
  const f = new Fields(section, path, ctx.out, TAILNET_KEYS);
  const stateDir = f.string("stateDir", true);
  const rekey = f.durationMs("debugRekeyAfter", 1000, 120_000);
  const hostname = f.string("hostname", true);
  const socket = f.string("socket", true);
  const socks5 = f.string("socks5Server", true);
  const httpProxy = f.string("outboundHttpProxyListen", true);
  const tun = checkTun(f, true);
  for (const [key, v] of [["socks5Server", socks5], ["outboundHttpProxyListen", httpProxy]]) {
    if (v !== undefined && tun !== USERSPACE_NETWORKING) {
      f.problem(
        key!,
        `needs "tun": "${USERSPACE_NETWORKING}" (the proxies dial through warren's own stack)`,
      );
    }
  }
  const netstack = readNetstackKeys(f, tun === USERSPACE_NETWORKING);
  if (socket !== undefined && !socket.startsWith("/")) {
    f.problem("socket", "must be an absolute path");
  }
  return {
    kind: "tailnet",
    name,
    tun,
    controlUrl: checkControlUrl(f, "controlUrl"),
    ...readAuthKey(f, "authKey", ctx),
    stateDir: stateDir === undefined
      ? defaultStateDir()
      : stateDir === "mem:"
      ? stateDir
      : resolvePath(ctx.dir, stateDir),
    ...(hostname === undefined ? {} : { hostname }),
    ...(socket === undefined ? {} : { socket }),
    ...(socks5 === undefined ? {} : { socks5Server: socks5 }),
    ...(httpProxy === undefined ? {} : { outboundHttpProxyListen: httpProxy }),
    ...netstack,
    forceReauth: f.bool("forceReauth") ?? false,
    acceptRoutes: f.bool("acceptRoutes") ?? false,
    ...readAdvertiseRoutes(f),
    ...readExitNode(f, "exitNode", "exitNodeAllowLanAccess"),
    acceptDns: f.bool("acceptDns") ?? false,
    ephemeral: f.bool("ephemeral") ?? false,
    plainDerp: f.bool("derpHttp") ?? false,
    loginTimeoutMs: f.durationMs("loginTimeout", 1000, 86_400_000) ?? 30_000,
    port: f.integer("port", 0, 65535) ?? DEFAULT_TAILNET_PORT,
    tunables: parseDisco(f),
    // A shortened session life for tests; rejection keeps the whitepaper's 3:2 ratio.
    ...(rekey === undefined
      ? {}
      : { timings: { rekeyAfterTime: rekey, rejectAfterTime: rekey * 1.5 } }),
    verbose: f.bool("verbose") ?? false,
  };
}

/**
 * `advertiseRoutes` (as the flag: comma-separated prefixes), `advertiseExitNode` and
 * `snatSubnetRoutes`, as the fields of a network; none when none is set.
 */
function readAdvertiseRoutes(
  f: Fields,
): { advertiseRoutes?: IpPrefix[]; snatSubnetRoutes?: boolean } {
  const exit = f.bool("advertiseExitNode") ?? false;
  const snat = f.bool("snatSubnetRoutes");
  let routes: IpPrefix[] = [];
  try {
    routes = parseAdvertiseRoutes(f.string("advertiseRoutes") ?? "", exit);
  } catch (e) {
    if (!(e instanceof AdvertiseRoutesError)) throw e;
    f.problem("advertiseRoutes", e.message);
  }
  return {
    ...(routes.length > 0 ? { advertiseRoutes: routes } : {}),
    ...(snat === undefined ? {} : { snatSubnetRoutes: snat }),
  };
}

/**
 * The exit node keys (`exitNode`, and the key allowing LAN access), refused as the flags are:
 * using and offering an exit node at once, LAN access alone.
 */
export function readExitNode(
  f: Fields,
  key: string,
  lanKey: string,
): { exitNode?: string; exitNodeAllowLanAccess?: boolean } {
  const exitNode = (f.string(key) ?? "").trim();
  const allowLanAccess = f.bool(lanKey) ?? false;
  const offers = f.bool("advertiseExitNode") === true || f.bool("AdvertiseExitNode") === true;
  try {
    checkExitNodePrefs({ exitNode, allowLanAccess }, offers);
  } catch (e) {
    f.problem(exitNode === "" ? lanKey : key, (e as Error).message);
  }
  return exitNode === "" ? {} : { exitNode, exitNodeAllowLanAccess: allowLanAccess };
}

function parseDisco(f: Fields): ConfigTunables {
  const d = f.nested("disco", DISCO_KEYS);
  if (d === undefined) return {};
  const ms = (key: (typeof DISCO_KEYS)[number]) => d.durationMs(key, 50, 3_600_000);
  const out: ConfigTunables = {
    heartbeatInterval: ms("heartbeatInterval"),
    reprobeInterval: ms("reprobeInterval"),
    probeTimeout: ms("probeTimeout"),
    degradedAfterFailures: d.integer("degradedAfterFailures", 1, 100),
    degradedTimeout: ms("degradedTimeout"),
  };
  return Object.fromEntries(Object.entries(out).filter(([, v]) => v !== undefined));
}
