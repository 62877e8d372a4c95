/**
 * Userspace-networking benchmark: one download through warren's SOCKS5
 * proxy on a node in `--tun userspace-networking` mode (warren's own TCP)
 * against the same download through the same node in kernel-TUN mode (the
 * kernel's TCP), side by side in one run, on the same pair of namespaces of
 * a test tailnet (control server and DERP on the hub, both nodes behind
 * NATs, direct path). The server is the body server on a kernel-TUN warren
 * peer; every body is SHA-256 checked.
 *
 *   deno task bench:userspace [--mib 128] [--warmups 1] [--profile DIR]
 *
 * `--warmups N` downloads N times untimed before the measured one (default 1).
 * Each download is a new TCP connection through the userspace node's stack,
 * and its first segments still deoptimize some of the stack's hot functions
 * (V8 has not yet seen every kind of value there), which V8 then compiles
 * again during the download: a few more warm-ups measure the steady state.
 *
 * `--profile DIR` records the userspace node with `perf record` during its
 * download (V8's `--perf-basic-prof` names the JS frames) into
 * DIR/perf.data; `perf report -i DIR/perf.data` reads it.
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
import { cpuSeconds, PERF_V8_FLAGS, startPerf, udpRcvbufErrors } from "./_proc.ts";
import { findDenoPid } from "./_rss.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    mib: { type: "string", default: "128" },
    warmups: { type: "string", default: "1" },
    profile: { type: "string" },
  },
});
const BYTES = Number(values.mib) * 1024 * 1024;
const WARMUPS = Number(values.warmups);
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
  const cli = await t.addHostBehindNat("cli");
  const srv = t.hosts.get("srv")!;
  await t.up("srv");
  const srvIp = ipv4(await t.status("srv"));
  const server = await startBodyServer(srv, [`${srvIp}:8000`], BYTES);
  const url = `http://${srvIp}:8000/body`;

  /** Brings `cli` up, waits for its direct path to srv, downloads once (curl `args`). */
  const measure = async (
    upArgs: string[],
    tun: string | undefined,
    wrapper: string[],
    args: string[],
    profile?: string,
  ): Promise<Run> => {
    await t.up("cli", upArgs, { tun, wrapper });
    const upAt = Date.now();
    const cliIp = ipv4(await t.status("cli"));
    let path = "";
    // Traffic makes disco look for a direct path; DERP would be the bottleneck.
    await srv.exec(["ping", "-c", "3", "-i", "0.2", "-W", "3", cliIp], { check: false });
    await waitFor("a direct path cli→srv", async () => {
      const p = (await t.status("cli")).peers.find((x) => x.name === "srv.tailnet.test");
      path = String(p?.path ?? "");
      return p?.pathState === "direct";
    }, 40_000);
    const download = async () => {
      const r = await curlSha(cli, [...args, url]);
      if (r.sha !== server.sha || r.bytes !== BYTES) {
        throw new Error(`body mismatch: ${r.bytes} bytes, sha ${r.sha} (want ${server.sha})`);
      }
      return r;
    };
    let perf: (() => Promise<void>) | null = null;
    try {
      // Untimed first: both nodes' JIT warms up, and the peers' WireGuard sessions settle.
      for (let i = 0; i < WARMUPS; i++) await download();
      // A node gives back its start-up pages once, RELEASE_AFTER_MS after it is up, and
      // faults back in what it still runs: that is start-up, not the steady state measured.
      const settled = upAt + RELEASE_AFTER_MS + 500 - Date.now();
      if (settled > 0) await new Promise((r) => setTimeout(r, settled));
      perf = profile === undefined
        ? null
        : await startPerf(await nodePid("node-cli"), `${profile}/perf.data`);
      const pids = [await nodePid("node-cli"), await nodePid("node-srv")];
      const before = pids.map(cpuSeconds);
      const sentBefore = await netstackSent();
      const dropsBefore = await udpRcvbufErrors(cli);
      const retransBefore = await retransSegs(srv);
      const r = await download();
      const after = pids.map(cpuSeconds);
      const udpDrops = await udpRcvbufErrors(cli) - dropsBefore;
      const retrans = await retransSegs(srv) - retransBefore;
      const sentAfter = await netstackSent();
      const sent = sentBefore === null || sentAfter === null ? null : sentAfter - sentBefore;
      return {
        r,
        path,
        cliCpu: after[0] - before[0],
        srvCpu: after[1] - before[1],
        sent,
        udpDrops,
        retrans,
      };
    } finally {
      await perf?.();
      await t.stop("node-cli");
    }
  };
  const netstackSent = async () => {
    const ns = (await t.status("cli")).netstack as { ip: { sent: number } } | undefined;
    return ns?.ip.sent ?? null;
  };
  const nodePid = (name: string) => findDenoPid(t.procs.get(name)!.child.pid);

  const kern = await measure([], undefined, [], []);
  const user = await measure(
    ["--socks5-server", SOCKS],
    USERSPACE_NETWORKING,
    values.profile === undefined ? [] : ["env", `DENO_V8_FLAGS=${PERF_V8_FLAGS}`],
    ["--socks5", SOCKS],
    values.profile,
  );
  await server.stop();

  const cpu = /^model name\s*:\s*(.*)$/m.exec(await Deno.readTextFile("/proc/cpuinfo"))?.[1];
  const mbs = (r: CurlResult) => r.bytes / 1e6 / r.seconds;
  console.log(
    `\nwarren userspace-networking benchmark, ${new Date().toISOString()}\n` +
      `${cpu ?? "?"}, ${navigator.hardwareConcurrency} cores, ${Deno.build.arch}, ` +
      `Deno ${Deno.version.deno}, load average before the run ${loadBefore}\n` +
      `${values.mib} MiB download (HTTP, SHA-256 checked) from a kernel-TUN warren peer over the ` +
      `direct path, after ${WARMUPS} untimed in each mode; MB = 10^6 bytes`,
  );
  console.log(
    `${"".padEnd(40)} ${"time".padStart(7)} ${"MB/s".padStart(7)}  CPU s: node, peer  ` +
      `UDP drops  rexmits  path`,
  );
  const row = (label: string, x: Run) =>
    console.log(
      `${label.padEnd(40)} ${x.r.seconds.toFixed(2).padStart(5)} s ${
        mbs(x.r).toFixed(1).padStart(7)
      }  ${x.cliCpu.toFixed(2).padStart(11)}, ${x.srvCpu.toFixed(2)}  ${
        String(x.udpDrops).padStart(9)
      }  ${String(x.retrans).padStart(7)}  ${x.path}`,
    );
  row("kernel TUN (the kernel's TCP)", kern);
  row("userspace, through SOCKS5 (warren's TCP)", user);
  if (user.sent !== null) {
    const segs = Math.ceil(BYTES / 1228);
    console.log(
      `${"packets the userspace stack sent".padEnd(40)} ${user.sent} ` +
        `(one per ${(segs / user.sent).toFixed(1)} data segments of 1228 B)`,
    );
  }
  console.log(
    `${"ratio userspace / kernel".padEnd(40)} ${(mbs(user.r) / mbs(kern.r)).toFixed(2)}`,
  );
} catch (e) {
  await t.dumpLogs(3000);
  throw e;
} finally {
  await t.close();
}
