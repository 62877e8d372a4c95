/**
 * `warren tun up --config FILE`: the JSON file naming every network one process runs, checked
 * whole before anything is created. Every mistake is reported, each as
 * `FILE: networks.NAME.KEY: reason`, in one {@link NetworksConfigError}:
 *
 * ```json
 * {"networks": {
 *   "corp": {"tailnet": {"authKey": "file:/run/secrets/corp", "tun": "ts-corp"}},
 *   "office": {"wireguard": {"configFile": "/etc/wireguard/office.conf", "tun": "wg-office"}}
 * }}
 * ```
 *
 * tailscaled's own config file (`"version": "alpha0"`) is read too, as one tailnet. Both
 * may carry HuJSON's comments and trailing commas, as tailscaled's may.
 *
 * @module
 */
import { defaultStateDir } from "../key/state.ts";
import { checkClashes, type PlacedNetwork } from "./clashes.ts";
import { Fields, isObject, show } from "./fields.ts";
import { duplicateKeys, standardizeHujson } from "./json_text.ts";
import { joinPath, NetworksConfigError, ProblemList } from "./problems.ts";
import { parseTailnetSection, type SectionContext } from "./tailnet.ts";
import { isTailscaledConfig, parseTailscaledConfig } from "./tailscaled_conffile.ts";
import type { NetworkConfig, NetworksConfig } from "./types.ts";
import { parseWireguardSection } from "./wireguard.ts";

/** Where the loader reads from; tests pass their own. */
export interface NetworksConfigOptions {
  /** Reads a file the config names (auth keys, wg-quick files); default `Deno.readTextFileSync`. */
  readText?: (path: string) => string;
  /**
   * The state directory root: a tailnet without `stateDir` keeps its keys in `ROOT/NAME`
   * (a tailscaled file's one node in `ROOT` itself). Default: `defaultStateDir()`, which is
   * /var/lib/warren as root.
   */
  stateRoot?: string;
}

/** A network's name: what `--network NAME` takes and its state directory's name. */
const NETWORK_NAME = /^[A-Za-z0-9][A-Za-z0-9_-]{0,31}$/;

/**
 * Parses and checks a config file's text. `file` names it in messages, and relative paths in
 * it (auth key files, wg-quick files, state directories) are relative to its directory.
 *
 * @example
 * ```ts
 * import { parseNetworksConfig } from "./networks.ts";
 * const c = parseNetworksConfig(
 *   `{"networks": {"corp": {"tailnet": {"authKey": "tskey-auth-x", "tun": "ts-corp"}}}}`,
 *   "/etc/warren/warren.json",
 *   { stateRoot: "/var/lib/warren" },
 * );
 * console.assert(c.networks[0].kind === "tailnet" && c.networks[0].stateDir === "/var/lib/warren/corp");
 * ```
 * @throws {NetworksConfigError} listing every problem, as `FILE: PATH: reason` lines
 */
export function parseNetworksConfig(
  text: string,
  file: string,
  opts: NetworksConfigOptions = {},
): NetworksConfig {
  const out = new ProblemList(file);
  const json = standardizeHujson(text.replace(/^\uFEFF/, ""));
  let root: unknown;
  try {
    root = JSON.parse(json);
  } catch (e) {
    out.add("", `not valid JSON: ${(e as Error).message}`);
    throw new NetworksConfigError(out.problems);
  }
  for (const path of duplicateKeys(json)) out.add(path, "given twice (only the last would count)");
  if (!isObject(root)) {
    out.add("", `want a JSON object with "networks", got ${show(root)}`);
    throw new NetworksConfigError(out.problems);
  }
  const slash = file.lastIndexOf("/");
  const ctx: SectionContext = {
    out,
    dir: slash < 0 ? "" : file.slice(0, slash) || "/",
    readText: opts.readText ?? ((p) => Deno.readTextFileSync(p)),
  };
  let stateRoot = opts.stateRoot;
  const state = () => (stateRoot ??= defaultStateDir());

  if (isTailscaledConfig(root)) {
    const net = parseTailscaledConfig(root, state, ctx);
    out.throwIfAny();
    return { file, format: "tailscaled", networks: [net], warnings: out.warnings };
  }
  const placed = parseWarren(root, ctx, state);
  checkClashes(placed, out);
  out.throwIfAny();
  return { file, format: "warren", networks: placed.map((p) => p.net), warnings: out.warnings };
}

/**
 * Reads the file and parses it with {@link parseNetworksConfig}.
 *
 * @throws {NetworksConfigError} when it cannot be read or is not a valid config
 */
export function loadNetworksConfig(file: string, opts: NetworksConfigOptions = {}): NetworksConfig {
  const read = opts.readText ?? ((p: string) => Deno.readTextFileSync(p));
  let text: string;
  try {
    text = read(file);
  } catch (e) {
    throw new NetworksConfigError([
      { file, path: "", message: `cannot read: ${e instanceof Error ? e.message : e}` },
    ]);
  }
  return parseNetworksConfig(text, file, { ...opts, readText: read });
}

function parseWarren(
  root: Record<string, unknown>,
  ctx: SectionContext,
  state: () => string,
): PlacedNetwork[] {
  const top = new Fields(root, "", ctx.out, ["networks"]);
  const networks = top.object("networks");
  if (networks === undefined) {
    if (!top.has("networks")) {
      ctx.out.add("", `want "networks" (or tailscaled's "version": "alpha0" file)`);
    }
    return [];
  }
  const names = Object.keys(networks);
  if (names.length === 0) ctx.out.add("networks", "names no network");
  const placed: PlacedNetwork[] = [];
  for (const name of names) {
    const path = joinPath("networks", name);
    if (!NETWORK_NAME.test(name)) {
      ctx.out.add(
        path,
        `bad network name: 1 to 32 letters, digits, "_" or "-", first a letter or digit`,
      );
      continue;
    }
    const value = networks[name];
    if (!isObject(value)) {
      ctx.out.add(path, `want {"tailnet": {...}} or {"wireguard": {...}}, got ${show(value)}`);
      continue;
    }
    const kinds = new Fields(value, path, ctx.out, ["tailnet", "wireguard"]);
    const tailnet = kinds.has("tailnet");
    const wireguard = kinds.has("wireguard");
    if (tailnet === wireguard) {
      ctx.out.add(path, `want exactly one of "tailnet" or "wireguard"`);
      continue;
    }
    const kind = tailnet ? "tailnet" : "wireguard";
    const section = kinds.object(kind);
    if (section === undefined) continue;
    const sectionPath = kinds.path(kind);
    const net: NetworkConfig | null = tailnet
      ? parseTailnetSection(section, sectionPath, name, () => `${state()}/${name}`, ctx)
      : parseWireguardSection(section, sectionPath, name, ctx);
    if (net !== null) placed.push({ net, path: sectionPath });
  }
  return placed;
}
