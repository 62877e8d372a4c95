/**
 * Userspace-networking benchmark: downloads through warren's SOCKS5 proxy on a node in
 * `--tun userspace-networking` mode (warren's own TCP) against the same downloads through a
 * node in kernel-TUN mode (the kernel's TCP), side by side in one run on a test tailnet
 * (control server and DERP on the hub, every node behind a NAT of its own, direct paths). The
 * two client nodes are up together and their downloads take turns, the order reversed every
 * other run, so the host's load falls on both modes alike; the figure is the median of the
 * per-run ratios. The server is the body server on a kernel-TUN warren peer; every body is
 * SHA-256 checked.
 *
 *   deno task bench:userspace [--mib 128] [--runs 3] [--warmups 1] [--profile DIR]
 *
 * `--warmups N` downloads N times untimed per mode before the measured runs (default 1).
 * Each download is a new TCP connection through the userspace node's stack,
 * and its first segments still deoptimize some of the stack's hot functions
 * (V8 has not yet seen every kind of value there), which V8 then compiles
 * again during the download: a few more warm-ups measure the steady state.
 *
 * `--profile DIR` records each client node with `perf record` during its first measured
 * download (V8's `--perf-basic-prof` names the JS frames) into DIR/perf-ucli.data (userspace)
 * and DIR/perf-kcli.data (kernel TUN), so the two modes' time can be compared symbol by symbol;
 * `perf report -i DIR/perf-ucli.data` reads one. `WARREN_BENCH_PERF="trace -s"` records each
 * thread's system calls instead (the files are then text).
 *
 * @module
 */
import { parseArgs } from "node:util";
import { type CurlResult, curlSha, startBodyServer } from "../src/testbed/body_server.ts";
import { waitFor } from "../src/testbed/netns.ts";
import { exitUnlessReady } from "./_needs.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";
import { USERSPACE_NETWORKING } from "../src/daemon/node_link.ts";
import { RELEASE_AFTER_MS } from "../src/cli/release_startup.ts";
import {
  cpuSeconds,
  type HostCpu,
  hostCpu,
  hostShares,
  PERF_V8_FLAGS,
  startPerf,
  udpRcvbufErrors,
} from "./_proc.ts";
import { median } from "./_ping.ts";
import { findDenoPid } from "./_rss.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    mib: { type: "string", default: "128" },
    warmups: { type: "string", default: "1" },
    runs: { type: "string", default: "3" },
    profile: { type: "string" },
  },
});
const BYTES = Number(values.mib) * 1024 * 1024;
const WARMUPS = Number(values.warmups);
const RUNS = Number(values.runs);
const SOCKS = "127.0.0.1:1055";

await exitUnlessReady({ commands: ["curl", "sha256sum", "nft"] });

type Status = Awaited<ReturnType<Tailnet["status"]>>;
/** One measured download and the CPU time each node spent meanwhile. */
interface Run {
  r: CurlResult;
  path: string;
  cliCpu: number;
  /** Packets the userspace stack sent during the download (its ACKs), null in kernel mode. */
  sent: number | null;
  /** UDP datagrams the kernel dropped in the node's namespace for a full socket buffer meanwhile. */
  udpDrops: number;
  /** TCP segments the sender (the peer's kernel) retransmitted meanwhile. */
  retrans: number;
  srvCpu: number;
  /** The host's CPU meanwhile, as shares: a download here is bound by both cores, or by steal. */
  host: HostCpu;
}
/** The namespace's TCP RetransSegs (IPv4): segments its kernel sent again. */
async function retransSegs(ns: { exec(cmd: string[]): Promise<{ stdout: string }> }) {
  const tcp = (await ns.exec(["cat", "/proc/net/snmp"])).stdout.split("\n").filter((l) =>
    l.startsWith("Tcp:")
  );
  return Number(tcp[1].split(/\s+/)[tcp[0].split(/\s+/).indexOf("RetransSegs")]);
}
const ipv4 = (st: Status) =>
  (st.addresses as string[]).find((a) => !a.includes(":"))!.split("/")[0];

const loadBefore = (await Deno.readTextFile("/proc/loadavg")).split(" ").slice(0, 3).join(" ");
const t = await Tailnet.create();
try {
  await t.addHostBehindNat("srv");
  // Two clients, up together: one in kernel-TUN mode, one in userspace mode, so their
  // downloads can take turns and the host's load (which moves a single download by ±10% here)
  // falls on both alike.
  const kcli = await t.addHostBehindNat("kcli");
  const ucli = await t.addHostBehindNat("ucli");
  const srv = t.hosts.get("srv")!;
  await t.up("srv");
  const srvIp = ipv4(await t.status("srv"));
  const server = await startBodyServer(srv, [`${srvIp}:8000`], BYTES);
  const url = `http://${srvIp}:8000/body`;
  const upAt = Date.now();
  const wrapper = values.profile === undefined ? [] : ["env", `DENO_V8_FLAGS=${PERF_V8_FLAGS}`];
  await t.up("kcli", [], { wrapper });
  await t.up("ucli", ["--socks5-server", SOCKS], { tun: USERSPACE_NETWORKING, wrapper });

  /** One client: its namespace, node, curl arguments and the path it found to srv. */
  interface Client {
    label: string;
    name: string;
    ns: typeof kcli;
    curlArgs: string[];
    path: string;
    runs: Run[];
  }
  const clients: Client[] = [
    {
      label: "kernel TUN (the kernel's TCP)",
      name: "kcli",
      ns: kcli,
      curlArgs: [],
      path: "",
      runs: [],
    },
    {
      label: "userspace, through SOCKS5 (warren's TCP)",
      name: "ucli",
      ns: ucli,
      curlArgs: ["--socks5", SOCKS],
      path: "",
      runs: [],
    },
  ];
  for (const c of clients) {
    const cliIp = ipv4(await t.status(c.name));
    // Traffic makes disco look for a direct path; DERP would be the bottleneck.
    await srv.exec(["ping", "-c", "3", "-i", "0.2", "-W", "3", cliIp], { check: false });
    await waitFor(`a direct path ${c.name}→srv`, async () => {
      const p = (await t.status(c.name)).peers.find((x) => x.name === "srv.tailnet.test");
      c.path = String(p?.path ?? "");
      return p?.pathState === "direct";
    }, 40_000);
  }
  const download = async (c: Client) => {
    const r = await curlSha(c.ns, [...c.curlArgs, url]);
    if (r.sha !== server.sha || r.bytes !== BYTES) {
      throw new Error(`body mismatch: ${r.bytes} bytes, sha ${r.sha} (want ${server.sha})`);
    }
    return r;
  };
  const netstackSent = async (c: Client) => {
    const ns = (await t.status(c.name)).netstack as { ip: { sent: number } } | undefined;
    return ns?.ip.sent ?? null;
  };
  const nodePid = (name: string) => findDenoPid(t.procs.get(`node-${name}`)!.child.pid);
  const srvPid = await nodePid("srv");
  /** One measured download by `c`, with what each node spent on it. */
  const measure = async (c: Client, profile?: string): Promise<Run> => {
    const perf = profile === undefined ? null : await startPerf(await nodePid(c.name), profile);
    try {
      const pids = [await nodePid(c.name), srvPid];
      const before = pids.map(cpuSeconds);
      const sentBefore = await netstackSent(c);
      const dropsBefore = await udpRcvbufErrors(c.ns);
      const retransBefore = await retransSegs(srv);
      const hostBefore = hostCpu();
      const r = await download(c);
      const host = hostShares(hostBefore, hostCpu());
      const after = pids.map(cpuSeconds);
      const sentAfter = await netstackSent(c);
      return {
        r,
        path: c.path,
        cliCpu: after[0] - before[0],
        srvCpu: after[1] - before[1],
        sent: sentBefore === null || sentAfter === null ? null : sentAfter - sentBefore,
        udpDrops: await udpRcvbufErrors(c.ns) - dropsBefore,
        retrans: await retransSegs(srv) - retransBefore,
        host,
      };
    } finally {
      await perf?.();
    }
  };

  // Untimed first: both nodes' JIT warms up, and the peers' WireGuard sessions settle.
  for (let i = 0; i < WARMUPS; i++) for (const c of clients) await download(c);
  // A node gives back its start-up pages once, RELEASE_AFTER_MS after it is up, and faults
  // back in what it still runs: that is start-up, not the steady state measured.
  const settled = upAt + RELEASE_AFTER_MS + 500 - Date.now();
  if (settled > 0) await new Promise((r) => setTimeout(r, settled));
  for (let run = 0; run < RUNS; run++) {
    const order = run % 2 === 0 ? clients : [...clients].reverse();
    for (const c of order) {
      const profile = values.profile !== undefined && run === 0
        ? `${values.profile}/perf-${c.name}.data`
        : undefined;
      c.runs.push(await measure(c, profile));
    }
  }
  await server.stop();

  const cpu = /^model name\s*:\s*(.*)$/m.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1];
  const mbs = (r: CurlResult) => r.bytes / 1e6 / r.seconds;
  console.log(
    `\nwarren userspace-networking benchmark, ${new Date().toISOString()}\n` +
      `${cpu ?? "?"}, ${navigator.hardwareConcurrency} cores, ${Deno.build.arch}, ` +
      `Deno ${Deno.version.deno}, load average before the run ${loadBefore}\n` +
      `${values.mib} MiB downloads (HTTP, SHA-256 checked) from a kernel-TUN warren peer over ` +
      `the direct path, ${RUNS} per mode in turns after ${WARMUPS} untimed each; MB = 10^6 bytes`,
  );
  console.log(
    `${"".padEnd(48)} ${"time".padStart(7)} ${"MB/s".padStart(7)}  CPU s: node, peer  ` +
      `UDP drops  rexmits  host idle, steal  path`,
  );
  const pct = (x: number) => `${(100 * x).toFixed(0)} %`;
  const row = (label: string, x: Run) =>
    console.log(
      `${label.padEnd(48)} ${x.r.seconds.toFixed(2).padStart(5)} s ${
        mbs(x.r).toFixed(1).padStart(7)
      }  ${x.cliCpu.toFixed(2).padStart(11)}, ${x.srvCpu.toFixed(2)}  ${
        String(x.udpDrops).padStart(9)
      }  ${String(x.retrans).padStart(7)}  ${pct(x.host.idle).padStart(9)}, ${
        pct(x.host.steal).padStart(5)
      }  ${x.path}`,
    );
  const [kern, user] = clients;
  for (let run = 0; run < RUNS; run++) {
    row(`${kern.label}, run ${run + 1}`, kern.runs[run]);
    row(`${user.label}, run ${run + 1}`, user.runs[run]);
  }
  const sent = user.runs.map((x) => x.sent).filter((x): x is number => x !== null);
  if (sent.length > 0) {
    const segs = Math.ceil(BYTES / 1228);
    console.log(
      `${"packets the userspace stack sent (median)".padEnd(48)} ${median(sent)} ` +
        `(one per ${(segs / median(sent)).toFixed(1)} data segments of 1228 B)`,
    );
  }
  const kMbs = kern.runs.map((x) => mbs(x.r)), uMbs = user.runs.map((x) => mbs(x.r));
  const ratios = uMbs.map((u, i) => u / kMbs[i]);
  console.log(
    `${"MB/s, median of the runs".padEnd(48)} kernel TUN ${median(kMbs).toFixed(1)}, ` +
      `userspace ${median(uMbs).toFixed(1)}`,
  );
  console.log(
    `${"ratio userspace / kernel, per run".padEnd(48)} ${
      ratios.map((x) => x.toFixed(2)).join(" ")
    } (median ${median(ratios).toFixed(2)})`,
  );
} catch (e) {
  await t.dumpLogs(3000);
  throw e;
} finally {
  await t.close();
}
