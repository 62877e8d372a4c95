/**
 * A `"wireguard": {…}` section of a `tun up --config` file: a wg-quick file (what
 * `tun up --wg-config` takes), its interface name and verbosity, resolved to a
 * {@link WireguardNetwork}. The wg-quick file's own problems keep their `file:line: reason`.
 *
 * @module
 */
import { ConfigError, formatProblem, parseWgQuick, type WgConfig } from "../wireguard/wg_quick.ts";
import { Fields } from "./fields.ts";
import { checkTun, resolvePath, type SectionContext } from "./tailnet.ts";
import type { WireguardNetwork } from "./types.ts";

/** The keys of a wireguard section. */
export const WIREGUARD_KEYS = ["configFile", "tun", "verbose"] as const;

/**
 * Parses the `wireguard` section of network `name` at `path`; null when the wg-quick file
 * is missing or unusable (the problems are in `ctx.out`).
 */
export function parseWireguardSection(
  section: Record<string, unknown>,
  path: string,
  name: string,
  ctx: SectionContext,
): WireguardNetwork | null {
  const f = new Fields(section, path, ctx.out, WIREGUARD_KEYS);
  const tun = checkTun(f, false);
  const verbose = f.bool("verbose") ?? false;
  const raw = f.string("configFile", true);
  if (raw === undefined) {
    if (!f.has("configFile")) f.problem("configFile", "required: the wg-quick file to bring up");
    return null;
  }
  const configFile = resolvePath(ctx.dir, raw);
  let text: string;
  try {
    text = ctx.readText(configFile);
  } catch (e) {
    f.problem("configFile", `cannot read ${configFile}: ${e instanceof Error ? e.message : e}`);
    return null;
  }
  let config: WgConfig;
  try {
    config = parseWgQuick(text, configFile);
  } catch (e) {
    if (!(e instanceof ConfigError)) throw e;
    for (const p of e.problems) f.problem("configFile", formatProblem(p));
    return null;
  }
  for (const p of config.unsupported) f.warn("configFile", formatProblem(p));
  return { kind: "wireguard", name, tun, configFile, config, verbose };
}
