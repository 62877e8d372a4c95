/**
 * Splits a process's /proc/PID/smaps into where its resident memory lies: the deno
 * binary's text, read-only data and writable data, other libraries, malloc's main heap, and
 * anonymous mappings (V8 heap pages, thread arenas, stacks). For the memory benchmark: an
 * idle tailnet node's growth between 10 and 70 s after `tun up` is the binary's text
 * faulting back in, not its own memory.
 *
 * @module
 */

/** One mapping of /proc/PID/smaps. */
export interface SmapsEntry {
  /** First address, hex. */
  start: string;
  /** Size in KiB. */
  sizeKiB: number;
  /** Permissions, e.g. `r-xp`. */
  perms: string;
  /** Backing file, `[heap]`, `[stack]` or "" (anonymous). */
  path: string;
  /** Resident KiB. */
  rssKiB: number;
  /** Resident anonymous (private, written) KiB. */
  anonKiB: number;
}

/** Parses the text of /proc/PID/smaps into its mappings. */
export function parseSmaps(text: string): SmapsEntry[] {
  const out: SmapsEntry[] = [];
  let cur: SmapsEntry | null = null;
  for (const line of text.split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ \d+\s*(.*)$/.exec(line);
    if (head) {
      cur = {
        start: head[1],
        sizeKiB: (parseInt(head[2], 16) - parseInt(head[1], 16)) / 1024,
        perms: head[3],
        path: head[4],
        rssKiB: 0,
        anonKiB: 0,
      };
      out.push(cur);
      continue;
    }
    const field = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (!field || cur === null) continue;
    if (field[1] === "Rss") cur.rssKiB = Number(field[2]);
    else if (field[1] === "Anonymous") cur.anonKiB = Number(field[2]);
  }
  return out;
}

/** The category of one mapping, given the path of the process's executable. */
export function smapsCategory(e: SmapsEntry, exe: string): string {
  if (e.path === exe) {
    if (e.perms[2] === "x") return "exe text";
    if (e.perms[1] === "w" || e.anonKiB > 0) return "exe data (rw, relro)";
    return "exe rodata";
  }
  if (e.path === "[heap]") return "malloc main heap";
  if (e.path.startsWith("[stack")) return "stack";
  if (e.path.startsWith("/")) return e.anonKiB > 0 ? "libs (written)" : "libs";
  // V8's heap pages, its code space, other threads' malloc arenas and stacks.
  if (e.path === "") return "anon";
  return e.path;
}

/** Resident KiB per category of `pid`'s mappings. */
export async function smapsBreakdown(pid: number): Promise<Map<string, number>> {
  const exe = await Deno.readLink(`/proc/${pid}/exe`);
  const out = new Map<string, number>();
  for (const e of parseSmaps(await Deno.readTextFile(`/proc/${pid}/smaps`))) {
    const c = smapsCategory(e, exe);
    out.set(c, (out.get(c) ?? 0) + e.rssKiB);
  }
  return out;
}
