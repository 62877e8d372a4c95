/**
 * Where a running node's LocalAPI socket lives. The path includes the
 * network namespace, because /run is shared between namespaces while the
 * interface names are not: `warren tun status` run inside a namespace finds
 * the node of that namespace.
 *
 * @module
 */

/** The directory holding LocalAPI sockets for this user and network namespace. */
export function runtimeDir(): string {
  const base = Deno.uid() === 0
    ? "/run/warren"
    : (Deno.env.get("XDG_RUNTIME_DIR")
      ? `${Deno.env.get("XDG_RUNTIME_DIR")}/warren`
      : `/tmp/warren-${Deno.uid()}`);
  return `${base}/${netnsId()}`;
}

/** The LocalAPI socket of the node that owns interface `tun`. */
export function socketPath(tun: string): string {
  return `${runtimeDir()}/${tun}.sock`;
}

/** Interface names of nodes with a socket in this namespace. */
export function listNodes(): string[] {
  const names: string[] = [];
  try {
    for (const e of Deno.readDirSync(runtimeDir())) {
      if (e.name.endsWith(".sock")) names.push(e.name.slice(0, -5));
    }
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  return names.sort();
}

function netnsId(): string {
  try {
    // "net:[4026531840]" → "net-4026531840"
    const m = /\[(\d+)\]/.exec(Deno.readLinkSync("/proc/self/ns/net"));
    if (m) return `net-${m[1]}`;
  } catch {
    // No procfs (or not Linux): one namespace is all we can tell apart.
  }
  return "net-default";
}
