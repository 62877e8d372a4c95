/**
 * The flag helpers `warren tun up` needs before it knows which mode runs, kept
 * apart from up_tailnet.ts so that `tun up --wg-config` never loads the tailnet
 * node's module graph (control client, DERP, disco, netstack): the graph alone
 * is ~10 MB of resident memory in a process that never runs it (`deno task
 * bench:memory`).
 *
 * @module
 */
import { UsageError } from "./usage.ts";

/** Tailscale's own coordination server. */
export const DEFAULT_CONTROL_URL: string = "https://controlplane.tailscale.com";

/** Boolean flags that take Go's `--flag=false` form, as tailscale's do. */
export const GO_BOOL_FLAGS = [
  "snat-subnet-routes",
  "advertise-exit-node",
  "exit-node-allow-lan-access",
] as const;

/**
 * Takes Go-style boolean flags out of `argv`: `--name` is true, `--name=VALUE` is VALUE as
 * strconv.ParseBool reads it (a UsageError if it is not a boolean). node:util's parser knows
 * no `=false`, so these never reach it.
 */
export function takeGoBoolFlags(
  argv: readonly string[],
  names: readonly string[],
): { rest: string[]; values: Record<string, boolean> } {
  const rest: string[] = [];
  const values: Record<string, boolean> = {};
  for (const arg of argv) {
    const m = /^--([a-z-]+)(?:=(.*))?$/s.exec(arg);
    if (arg === "--") break;
    if (!m || !names.includes(m[1])) {
      rest.push(arg);
      continue;
    }
    const v = m[2] === undefined ? true : parseBoolText(m[2], undefined);
    if (v === undefined) {
      throw new UsageError(`invalid boolean value "${m[2]}" for --${m[1]}`);
    }
    values[m[1]] = v;
  }
  const end = argv.indexOf("--");
  if (end >= 0) rest.push(...argv.slice(end));
  return { rest, values };
}

/**
 * A boolean as Go's `strconv.ParseBool` reads it (1, t, T, TRUE, true, True and
 * the same for false); empty or anything else gives `fallback`, as Tailscale's
 * container image reads its `TS_*` switches.
 */
export function parseBoolText<T extends boolean | undefined>(
  text: string | undefined,
  fallback: T,
): boolean | T {
  if (text === undefined) return fallback;
  if (["1", "t", "T", "TRUE", "true", "True"].includes(text)) return true;
  if (["0", "f", "F", "FALSE", "false", "False"].includes(text)) return false;
  return fallback;
}

/** Whether `TS_USERSPACE` asks for userspace networking (containerboot's switch). */
export function userspaceFromEnv(env: (name: string) => string | undefined = envGet): boolean {
  return parseBoolText(env("TS_USERSPACE"), false);
}

/** An environment variable, or undefined when unset or when the process may not read it. */
export function envGet(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined; // no env permission: nothing was asked for
  }
}
