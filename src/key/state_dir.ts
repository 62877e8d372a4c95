/**
 * Where a node's state directory is by default. Apart from `state.ts` so that `tun up`'s
 * usage text, which every `tun up` loads, does not load the keys' crypto with it: a plain
 * WireGuard node's main thread has no use for it (its data-plane Worker has).
 *
 * @module
 */

/**
 * The default state directory: `/var/lib/warren` as root, else
 * `$XDG_STATE_HOME/warren`, else `~/.local/state/warren`.
 */
export function defaultStateDir(
  env: (name: string) => string | undefined = (n) => Deno.env.get(n),
  uid: number | null = Deno.uid(),
): string {
  if (uid === 0) return "/var/lib/warren";
  const xdg = env("XDG_STATE_HOME");
  if (xdg) return `${xdg}/warren`;
  const home = env("HOME");
  if (!home) throw new Error("Cannot choose a state directory: HOME is not set; pass --state");
  return `${home}/.local/state/warren`;
}
