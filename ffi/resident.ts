/**
 * Gives back the memory a process needed only to start: the pages of its executable and
 * libraries it read while loading (Deno's module loader and TypeScript cache, V8's compilers
 * on the start-up code, the node compat layer's set-up), and malloc's free heap.
 *
 * A `deno run` node maps ~25 MB of the deno binary it touched once while starting and never
 * again; the kernel keeps them mapped until memory runs short. `madvise(MADV_DONTNEED)` on a
 * read-only file mapping only unmaps the pages from this process: they stay in the page
 * cache, and a page touched again comes back with a minor fault, so whatever the node still
 * runs is resident again within moments and RSS shows the working set instead of start-up.
 * Only mappings that cannot have been written (no write permission, no private anonymous
 * copy such as relocated RELRO pages, not locked) are touched, so no data can be lost.
 *
 * @module
 */
import { libc } from "./libc.ts";

const MADV_DONTNEED = 4;

/** A read-only file mapping of the process whose pages can be dropped safely. */
export interface ReleasableMapping {
  /** First address. */
  start: number;
  /** One past the last address. */
  end: number;
  /** The file mapped. */
  path: string;
  /** Resident KiB when read. */
  rssKiB: number;
}

/**
 * The mappings in the text of /proc/PID/smaps that {@link releaseStartupPages} may drop: backed
 * by a file, not writable, holding no anonymous (copied-on-write) page and not locked.
 *
 * @example
 * ```ts
 * const text = "7f00-7f10 r-xp 00000000 08:01 12 /usr/lib/libc.so.6\nRss: 8 kB\n" +
 *   "Anonymous: 0 kB\nLocked: 0 kB\n";
 * console.assert(releasableMappings(text)[0].path === "/usr/lib/libc.so.6");
 * ```
 */
export function releasableMappings(smaps: string): ReleasableMapping[] {
  const out: ReleasableMapping[] = [];
  let cur: (ReleasableMapping & { ok: boolean }) | null = null;
  const finish = () => {
    if (cur?.ok) out.push({ start: cur.start, end: cur.end, path: cur.path, rssKiB: cur.rssKiB });
    cur = null;
  };
  for (const line of smaps.split("\n")) {
    const head = /^([0-9a-f]+)-([0-9a-f]+) (\S{4}) \S+ \S+ (\d+)\s*(.*)$/.exec(line);
    if (head) {
      finish();
      const [, start, end, perms, inode, path] = head;
      cur = {
        start: parseInt(start, 16),
        end: parseInt(end, 16),
        path,
        rssKiB: 0,
        ok: perms[0] === "r" && perms[1] === "-" && inode !== "0" && path.startsWith("/"),
      };
      continue;
    }
    if (cur === null) continue;
    const field = /^(\w+):\s+(\d+) kB$/.exec(line);
    if (!field) continue;
    const kib = Number(field[2]);
    if (field[1] === "Rss") cur.rssKiB = kib;
    else if ((field[1] === "Anonymous" || field[1] === "Locked") && kib > 0) cur.ok = false;
  }
  finish();
  return out;
}

/** What {@link releaseStartupPages} gave back. */
export interface ReleaseReport {
  /** Resident KiB of the file mappings just before they were dropped. */
  filePagesKiB: number;
  /** How many mappings were dropped. */
  mappings: number;
  /**
   * Mappings madvise refused (one unmapped or changed since /proc was read: a library closed
   * meanwhile); they are left as they were.
   */
  refused: number;
}

/**
 * Unmaps every resident page of the process's read-only file mappings (they stay in the page
 * cache; what is used again faults back in) and returns malloc's free memory to the kernel.
 * Call it once start-up is over; `collect` (a full garbage collection) runs after the mappings
 * are read and before they are dropped. Linux only; needs `--allow-ffi` and `--allow-read`.
 *
 * @example
 * ```ts ignore
 * const { filePagesKiB } = releaseStartupPages();
 * ```
 */
export function releaseStartupPages(collect: () => void = () => {}): ReleaseReport {
  const maps = releasableMappings(Deno.readTextFileSync("/proc/self/smaps"));
  // Reading and splitting the smaps text (hundreds of KB) leaves garbage on new V8 heap
  // pages; collected before the drop, those pages go too and what the collector's code
  // touched of the binary is dropped with the rest.
  collect();
  const c = libc();
  let filePagesKiB = 0, mappings = 0, refused = 0;
  for (const m of maps) {
    if (m.rssKiB === 0) continue;
    if (c.madvise(m.start, m.end - m.start, MADV_DONTNEED) !== 0) {
      refused++;
      continue;
    }
    filePagesKiB += m.rssKiB;
    mappings++;
  }
  c.malloc_trim(0);
  return { filePagesKiB, mappings, refused };
}
