/**
 * Where a running node's LocalAPI socket lives. The path includes the
 * network namespace, because /run is shared between namespaces while the
 * interface names are not: `warren tun status` run inside a namespace finds
 * the node of that namespace.
 *
 * There are several candidate directories, most preferred first: root's
 * `/run/warren`, then `$XDG_RUNTIME_DIR/warren`, then `/tmp/warren-<uid>`.
 * A node listens in the first one it can create and bind in (an
 * unprivileged user, or root in a container whose /run is read-only, falls
 * through to the next), and the client commands look in all of them in the
 * same order, so both sides meet without being told a path.
 *
 * @module
 */

/** Reads an environment variable; undefined without permission. */
export type EnvGet = (name: string) => string | undefined;

function envGet(name: string): string | undefined {
  try {
    return Deno.env.get(name);
  } catch {
    return undefined;
  }
}

/**
 * The directories a LocalAPI socket may be in for user `uid` in this network
 * namespace, most preferred first.
 *
 * @example
 * ```ts ignore
 * runtimeDirs(() => "/run/user/1000", 1000);
 * // ["/run/user/1000/warren/net-4026531840", "/tmp/warren-1000/net-4026531840"]
 * ```
 */
export function runtimeDirs(env: EnvGet = envGet, uid: number = Deno.uid() ?? 0): string[] {
  const bases: string[] = [];
  if (uid === 0) bases.push("/run/warren");
  const xdg = env("XDG_RUNTIME_DIR");
  if (xdg) bases.push(`${xdg.replace(/\/+$/, "")}/warren`);
  bases.push(`/tmp/warren-${uid}`);
  const ns = netnsId();
  return bases.map((b) => `${b}/${ns}`);
}

/** The preferred directory holding LocalAPI sockets for this user and namespace. */
export function runtimeDir(): string {
  return runtimeDirs()[0];
}

/**
 * The LocalAPI socket of the node that owns interface `tun`: the first of
 * `dirs` that has one, else where the preferred directory would have it.
 */
export function socketPath(tun: string, dirs: string[] = runtimeDirs()): string {
  for (const d of dirs) {
    const p = `${d}/${tun}.sock`;
    if (isSocket(p)) return p;
  }
  return `${dirs[0]}/${tun}.sock`;
}

/** Interface names of nodes with a socket in this namespace, in any of `dirs`. */
export function listNodes(dirs: string[] = runtimeDirs()): string[] {
  const names = new Set<string>();
  for (const d of dirs) {
    try {
      for (const e of Deno.readDirSync(d)) {
        if (e.name.endsWith(".sock")) names.add(e.name.slice(0, -5));
      }
    } catch {
      // Not there, not a directory or not ours to read: no node of ours is in it.
    }
  }
  return [...names].sort();
}

/**
 * Creates `dir` (mode 0700) if need be and checks that it belongs to this
 * user, so a directory someone else made in /tmp is never trusted.
 */
export async function ensureOwnDir(dir: string): Promise<void> {
  await Deno.mkdir(dir, { recursive: true, mode: 0o700 });
  const st = await Deno.stat(dir);
  const uid = Deno.uid();
  if (uid !== null && st.uid !== null && st.uid !== uid) {
    throw new Deno.errors.PermissionDenied(`${dir} belongs to uid ${st.uid}, not ${uid}`);
  }
}

function isSocket(path: string): boolean {
  try {
    return Deno.statSync(path).isSocket === true;
  } catch {
    return false;
  }
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
