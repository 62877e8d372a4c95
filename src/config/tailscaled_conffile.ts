/**
 * tailscaled's own config file (`tailscaled --config`, tailscale's `ipn.ConfigVAlpha`,
 * `"version": "alpha0"`) read as one tailnet network, so a host moving from tailscaled keeps
 * its file. Keys match ignoring case and `null` means unset, as Go's encoding/json reads them.
 * A field asking for something warren does not do (Tailscale SSH, an exit node, advertised
 * routes, ...) is an error naming it rather than silently ignored; fields that ask for nothing
 * (false, empty, the defaults) are accepted.
 *
 * @module
 */
import { Fields, show } from "./fields.ts";
import { checkControlUrl, readAuthKey, readExitNode, type SectionContext } from "./tailnet.ts";
import { DEFAULT_TAILNET_PORT, DEFAULT_TUN, type TailnetNetwork } from "./types.ts";

/** The name of the one network a tailscaled config file becomes. */
export const TAILSCALED_NETWORK_NAME = "default";

/** Every field of tailscale's ConfigVAlpha, spelled as its JSON encoding spells them. */
export const TAILSCALED_KEYS = [
  "version",
  "Locked",
  "ServerURL",
  "AuthKey",
  "Enabled",
  "OperatorUser",
  "Hostname",
  "acceptDNS",
  "acceptRoutes",
  "exitNode",
  "allowLANWhileUsingExitNode",
  "AdvertiseRoutes",
  "AdvertiseExitNode",
  "DisableSNAT",
  "AdvertiseServices",
  "AppConnector",
  "NetfilterMode",
  "NoStatefulFiltering",
  "PostureChecking",
  "RunSSHServer",
  "RunWebClient",
  "ShieldsUp",
  "RemoteConfig",
  "AutoUpdate",
  "ServeConfigTemp",
  "StaticEndpoints",
  "RelayServerPort",
  "RelayServerStaticEndpoints",
] as const;

/** Booleans whose `true` asks for a feature warren lacks, with the feature's name. */
const UNSUPPORTED_IF_TRUE: Record<string, string> = {
  AdvertiseExitNode: "offering an exit node",
  PostureChecking: "posture checking",
  RunSSHServer: "Tailscale SSH",
  RunWebClient: "the Tailscale web client",
  ShieldsUp: "shields up (blocking incoming connections)",
  RemoteConfig: "remote configuration",
};

/** Strings or arrays whose non-empty value asks for a feature warren lacks. */
const UNSUPPORTED_IF_SET: Record<string, string> = {
  OperatorUser: "an operator user",
  AdvertiseRoutes: "advertising subnet routes",
  AdvertiseServices: "advertising services",
  StaticEndpoints: "static endpoints",
  RelayServerStaticEndpoints: "a peer relay server",
  ServeConfigTemp: "Tailscale Serve",
  RelayServerPort: "a peer relay server",
};

/** Fields accepted with no effect on warren, with the type they must have. */
const NEUTRAL_BOOLS = [
  "Locked",
  "DisableSNAT",
  "NoStatefulFiltering",
];

const NETFILTER_MODES = ["on", "off", "nodivert"];

/** Whether `obj` (a parsed JSON file) is a tailscaled config rather than warren's own. */
export function isTailscaledConfig(obj: Record<string, unknown>): boolean {
  return Object.keys(obj).some((k) => k.toLowerCase() === "version");
}

/**
 * Maps a tailscaled config file onto one tailnet network named
 * {@link TAILSCALED_NETWORK_NAME}, on interface {@link DEFAULT_TUN}, port 41641 and the
 * default state directory (the node `tun up` with flags would be).
 */
export function parseTailscaledConfig(
  obj: Record<string, unknown>,
  defaultStateDir: () => string,
  ctx: SectionContext,
): TailnetNetwork {
  const f = new Fields(obj, "", ctx.out, TAILSCALED_KEYS, { foldCase: true, nullIsUnset: true });
  const version = f.raw("version");
  if (version !== "alpha0") {
    f.problem("version", `unsupported version ${show(version)}; want "alpha0"`);
  }
  checkUnsupported(f);
  if (f.bool("Enabled") === false) {
    f.problem("Enabled", "warren has no configured-but-stopped node; remove the key to run it");
  }
  const mode = f.string("NetfilterMode");
  if (mode !== undefined && !NETFILTER_MODES.includes(mode)) {
    f.problem("NetfilterMode", `want "on", "off" or "nodivert", got ${show(mode)}`);
  }
  for (const key of NEUTRAL_BOOLS) f.bool(key);
  const hostname = f.string("Hostname", true);
  return {
    kind: "tailnet",
    name: TAILSCALED_NETWORK_NAME,
    tun: DEFAULT_TUN,
    controlUrl: checkControlUrl(f, "ServerURL"),
    ...readAuthKey(f, "AuthKey", ctx),
    stateDir: defaultStateDir(),
    ...(hostname === undefined ? {} : { hostname }),
    forceReauth: false,
    acceptRoutes: f.bool("acceptRoutes") ?? false,
    acceptDns: f.bool("acceptDNS") ?? false,
    ...readExitNode(f, "exitNode", "allowLANWhileUsingExitNode"),
    ephemeral: false,
    plainDerp: false,
    loginTimeoutMs: 30_000,
    port: DEFAULT_TAILNET_PORT,
    tunables: {},
    verbose: false,
  };
}

function checkUnsupported(f: Fields): void {
  const no = (key: string, what: string) =>
    f.problem(key, `warren does not support ${what}; remove the key`);
  for (const [key, what] of Object.entries(UNSUPPORTED_IF_TRUE)) {
    if (f.bool(key) === true) no(key, what);
  }
  for (const [key, what] of Object.entries(UNSUPPORTED_IF_SET)) {
    const v = f.raw(key);
    if (v === undefined || v === "" || (Array.isArray(v) && v.length === 0)) continue;
    no(key, what);
  }
  const app = f.nested("AppConnector", ["Advertise"]);
  if (app?.bool("Advertise") === true) {
    app.problem("Advertise", "warren does not support being an app connector; remove the key");
  }
  const up = f.nested("AutoUpdate", ["Check", "Apply"]);
  up?.bool("Check");
  if (up?.bool("Apply") === true) {
    up.problem("Apply", "warren does not update itself; remove the key");
  }
}
