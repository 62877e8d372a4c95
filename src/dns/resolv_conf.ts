/**
 * Points the OS at quad-100 (only with --accept-dns) by rewriting
 * /etc/resolv.conf, and puts the original back. The original is saved
 * beside it once, so a crash between the two leaves something to restore.
 *
 * @module
 */
import { QUAD100_V4, QUAD100_V6 } from "./constants.ts";

/** Where and what to write. */
export interface ResolvConfOptions {
  /** The file to manage; default `/etc/resolv.conf`. */
  path?: string;
  /** Where the original is kept; default `<path>.warren-backup`. */
  backupPath?: string;
}

/** The saved state of the original file. */
type Backup =
  | { kind: "file"; content: string }
  | { kind: "symlink"; target: string }
  | { kind: "absent" };

const MARKER = "# Written by warren (MagicDNS); the original is restored on `warren tun down`.";

/**
 * The text of a resolv.conf for these name servers and search domains.
 *
 * @example
 * ```ts
 * import { renderResolvConf } from "./resolv_conf.ts";
 * renderResolvConf(["100.100.100.100"], ["tslab.test."]).includes("search tslab.test\n"); // true
 * ```
 * @throws {RangeError} if no name server is given
 */
export function renderResolvConf(
  nameservers: readonly string[],
  search: readonly string[],
): string {
  if (nameservers.length === 0) throw new RangeError("resolv.conf needs at least one name server");
  let s = MARKER + "\n";
  for (const ns of nameservers) s += `nameserver ${ns}\n`;
  const domains = search.map((d) => d.replace(/\.$/, "")).filter((d) => d !== "");
  if (domains.length) s += `search ${domains.join(" ")}\n`;
  return s;
}

/**
 * Saves the current file (unless a backup already exists: it is then the
 * real original, from before an earlier run that did not clean up) and
 * writes `content` in its place. A symlink (systemd-resolved, NetworkManager)
 * is replaced by a plain file; a plain file is rewritten in place, which also
 * works for a bind-mounted file in a container.
 */
export async function installResolvConf(
  content: string,
  opts: ResolvConfOptions = {},
): Promise<void> {
  const path = opts.path ?? "/etc/resolv.conf";
  const backupPath = opts.backupPath ?? `${path}.warren-backup`;
  if (!(await exists(backupPath))) {
    let backup: Backup;
    try {
      const st = await Deno.lstat(path);
      backup = st.isSymlink
        ? { kind: "symlink", target: await Deno.readLink(path) }
        : { kind: "file", content: await Deno.readTextFile(path) };
    } catch (e) {
      if (!(e instanceof Deno.errors.NotFound)) throw e;
      backup = { kind: "absent" };
    }
    await Deno.writeTextFile(backupPath, JSON.stringify(backup));
  }
  try {
    if ((await Deno.lstat(path)).isSymlink) await Deno.remove(path);
  } catch (e) {
    if (!(e instanceof Deno.errors.NotFound)) throw e;
  }
  await Deno.writeTextFile(path, content);
}

/**
 * The `nameserver` addresses of a resolv.conf text, in order. Scoped IPv6 addresses
 * (`fe80::1%eth0`) are left out: they cannot be dialled without their interface.
 *
 * @example
 * ```ts
 * import { parseNameservers } from "./resolv_conf.ts";
 * parseNameservers("# x\nnameserver 192.0.2.53 # lab\nsearch a.test\n"); // ["192.0.2.53"]
 * ```
 */
export function parseNameservers(text: string): string[] {
  const out: string[] = [];
  for (const line of text.split("\n")) {
    const m = /^\s*nameserver\s+([^\s#;]+)/.exec(line);
    if (m && !m[1].includes("%")) out.push(m[1]);
  }
  return out;
}

/**
 * The host's own name servers, from before warren pointed resolv.conf at quad-100:
 * the saved backup if there is one (a symlink's target is read), else the current
 * file unless warren wrote it. Quad-100 itself is never among them, so forwarding to
 * them cannot loop back (tailscaled's direct manager drops it the same way).
 */
export async function readBaseNameservers(opts: ResolvConfOptions = {}): Promise<string[]> {
  const path = opts.path ?? "/etc/resolv.conf";
  const backupPath = opts.backupPath ?? `${path}.warren-backup`;
  let text = "";
  const raw = await Deno.readTextFile(backupPath).catch(() => null);
  if (raw !== null) {
    let backup: Backup | null = null;
    try {
      backup = JSON.parse(raw);
    } catch {
      // Not warren's backup: restore will refuse it; here it just names no server.
    }
    if (backup?.kind === "file") text = backup.content;
    else if (backup?.kind === "symlink") {
      const target = backup.target.startsWith("/")
        ? backup.target
        : `${path.slice(0, path.lastIndexOf("/") + 1)}${backup.target}`;
      text = await Deno.readTextFile(target).catch(() => "");
    }
  } else {
    text = await Deno.readTextFile(path).catch(() => "");
    if (text.startsWith(MARKER)) text = "";
  }
  return parseNameservers(text).filter((ns) =>
    ns !== QUAD100_V4 && ns.toLowerCase() !== QUAD100_V6
  );
}

/**
 * Puts the saved original back and deletes the backup. Returns false when
 * there was nothing to restore.
 *
 * @throws {SyntaxError} if the backup file is not one warren wrote
 */
export async function restoreResolvConf(opts: ResolvConfOptions = {}): Promise<boolean> {
  const path = opts.path ?? "/etc/resolv.conf";
  const backupPath = opts.backupPath ?? `${path}.warren-backup`;
  let raw: string;
  try {
    raw = await Deno.readTextFile(backupPath);
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
  let backup: Backup;
  try {
    backup = JSON.parse(raw);
  } catch {
    throw new SyntaxError(`Cannot restore ${path}: backup ${backupPath} is not warren's JSON`);
  }
  const current = await Deno.lstat(path).catch(() => null);
  if (backup.kind === "file") {
    if (current?.isSymlink) await Deno.remove(path);
    await Deno.writeTextFile(path, backup.content);
  } else if (backup.kind === "symlink") {
    if (current) await Deno.remove(path);
    await Deno.symlink(backup.target, path);
  } else if (backup.kind === "absent") {
    if (current) await Deno.remove(path);
  } else {
    throw new SyntaxError(`Cannot restore ${path}: backup ${backupPath} has an unknown kind`);
  }
  await Deno.remove(backupPath);
  return true;
}

async function exists(p: string): Promise<boolean> {
  try {
    await Deno.lstat(p);
    return true;
  } catch (e) {
    if (e instanceof Deno.errors.NotFound) return false;
    throw e;
  }
}
