/**
 * Reads a process's resident set size from /proc, for the memory benchmark
 * and the memory regression test.
 *
 * @module
 */

/** A process's current and peak resident set size, KiB. */
export interface Rss {
  /** VmRSS: resident now. */
  rssKiB: number;
  /** VmHWM: the most it was ever resident. */
  hwmKiB: number;
  /** RssAnon: resident memory not backed by a file (heaps, stacks), the process's own. */
  anonKiB: number;
}

/** Parses VmRSS, VmHWM and RssAnon out of the text of /proc/PID/status. */
export function parseProcStatus(text: string): Rss {
  const field = (name: string) => {
    const m = new RegExp(`^${name}:\\s+(\\d+) kB$`, "m").exec(text);
    if (!m) throw new Error(`No ${name} in /proc status: is the process a zombie?`);
    return Number(m[1]);
  };
  return { rssKiB: field("VmRSS"), hwmKiB: field("VmHWM"), anonKiB: field("RssAnon") };
}

/** Reads VmRSS, VmHWM and RssAnon of `pid`. */
export async function readRss(pid: number): Promise<Rss> {
  return parseProcStatus(await Deno.readTextFile(`/proc/${pid}/status`));
}

/**
 * The pid of the process `pid` runs: `pid` itself unless its executable is a
 * wrapper (a shell, `ip`, `unshare`, `nsenter`, `env`, `timeout`), else that
 * wrapper's one child, followed down. `ip netns exec` execs in place, but a
 * shell or `unshare` wrapper forks, and its RSS is not the node's.
 */
export async function findDenoPid(pid: number): Promise<number> {
  const exe = await Deno.readLink(`/proc/${pid}/exe`).catch(() => "");
  if (!WRAPPER.test(exe)) return pid;
  const kids = (await Deno.readTextFile(`/proc/${pid}/task/${pid}/children`).catch(() => ""))
    .trim().split(/\s+/).filter(Boolean).map(Number);
  if (kids.length !== 1) {
    throw new Error(
      `Cannot find the deno process under pid ${pid} (${exe}, ${kids.length} children)`,
    );
  }
  return await findDenoPid(kids[0]);
}

const WRAPPER = /(^|\/)(ip|sh|dash|bash|unshare|nsenter|env|timeout)$/;
