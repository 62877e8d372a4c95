/**
 * What the benchmarks read from /proc about the processes and namespaces they measure.
 *
 * @module
 */

/** Something that runs a command in a namespace and returns its output. */
export interface Execer {
  /** Runs `cmd`; resolves with what it printed. */
  exec(cmd: string[]): Promise<{ stdout: string }>;
}

/** User plus system CPU time of `pid` (or this process) so far, in seconds (100 ticks/s). */
export function cpuSeconds(pid: number | "self"): number {
  const stat = Deno.readTextFileSync(`/proc/${pid}/stat`);
  // The command name in parentheses may hold spaces: the fields start after its last ")".
  const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(f[11]) + Number(f[12])) / 100;
}

/** The namespace's UDP RcvbufErrors (IPv4 and IPv6): datagrams lost to a full socket buffer. */
export async function udpRcvbufErrors(ns: Execer): Promise<number> {
  const v4 = (await ns.exec(["cat", "/proc/net/snmp"])).stdout.split("\n").filter((l) =>
    l.startsWith("Udp:")
  );
  const i = v4[0].split(/\s+/).indexOf("RcvbufErrors");
  const v6 = /^Udp6RcvbufErrors\s+(\d+)/m.exec((await ns.exec(["cat", "/proc/net/snmp6"])).stdout);
  return Number(v4[1].split(/\s+/)[i]) + Number(v6?.[1] ?? 0);
}

/** The V8 flags under which `perf report` names a profiled warren's JS frames and wasm functions. */
export const PERF_V8_FLAGS = "--perf-basic-prof,--logfile=/dev/null";

/**
 * What `startPerf` runs: `perf record -g`, or the words of `WARREN_BENCH_PERF` instead (say
 * `trace -s`, for each thread's system calls by count and time during the download).
 */
const PERF_COMMAND = Deno.env.get("WARREN_BENCH_PERF")?.split(" ").filter((w) => w !== "") ??
  ["record", "-g"];

/**
 * Starts `perf record -g` (see `PERF_COMMAND`) on `pid` into `file` (its directory made if
 * missing); resolves once perf is attached, with the function that stops it and waits until the
 * file is written.
 */
export async function startPerf(pid: number, file: string): Promise<() => Promise<void>> {
  await Deno.mkdir(file.slice(0, Math.max(0, file.lastIndexOf("/"))) || ".", { recursive: true });
  const p = new Deno.Command("perf", {
    args: [...PERF_COMMAND, "-o", file, "-p", String(pid)],
    stdout: "null",
    stderr: "null",
  }).spawn();
  await new Promise((r) => setTimeout(r, 300));
  return async () => {
    p.kill("SIGINT");
    await p.status;
  };
}

/** The host's CPU time so far, all cores, in ticks: what ran, what sat idle, what the hypervisor took. */
export interface HostCpu {
  /** User, nice, system, irq and softirq ticks. */
  busy: number;
  /** Idle and I/O-wait ticks. */
  idle: number;
  /** Ticks the hypervisor gave another guest (steal). */
  steal: number;
}

/** Reads /proc/stat's `cpu` line. */
export function hostCpu(): HostCpu {
  const line = Deno.readTextFileSync("/proc/stat").split("\n")[0];
  const [user, nice, system, idle, iowait, irq, softirq, steal] = line.trim().split(/\s+/)
    .slice(1).map(Number);
  return {
    busy: user + nice + system + irq + softirq,
    idle: idle + iowait,
    steal: steal ?? 0,
  };
}

/** Shares of the host's CPU between two readings: busy, idle and stolen, each 0..1. */
export function hostShares(before: HostCpu, after: HostCpu): HostCpu {
  const busy = after.busy - before.busy, idle = after.idle - before.idle;
  const steal = after.steal - before.steal;
  const all = busy + idle + steal || 1;
  return { busy: busy / all, idle: idle / all, steal: steal / all };
}
