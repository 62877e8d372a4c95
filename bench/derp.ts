/**
 * DERP relay benchmark: `deno task bench:derp`.
 *
 * Starts `warren tun derp` (plain HTTP, no STUN) in its own process, then worker
 * processes on loopback that (1) hold many idle connections (server RSS per
 * connection), (2) flood 1,200-byte packets across many client pairs (relayed
 * packets/s and Mbit/s), (3) measure relay round trips, idle and under load.
 *
 * Flags: --idle N (10000), --pairs N (32), --seconds S (5), --size B (1200),
 *        --flood-workers N (1), --server-v8-flags FLAGS (default: the flags warren
 *        ships with, src/cli/v8_flags.ts; empty for V8's defaults), --quick,
 *        --idle-only (skip the latency and throughput parts),
 *        --tls (serve TLS with a self-signed certificate; clients pin it),
 *        --burst: a reconnect storm instead of the other parts: --idle connections (10000)
 *        opened --burst-batch (500) at a time by --burst-workers (4) processes against the
 *        fresh server, its RSS sampled --sample-early (3) and --sample-late (60) seconds after
 *        the last one connected, and its CPU time per connection over the storm,
 *        --smaps: where the server's resident memory lies (bench/_smaps.ts) at start and, with
 *        --burst, at each sample
 *
 * @module
 */

import https from "node:https";
import { parseArgs } from "node:util";
import { WARREN_V8_FLAGS } from "../src/cli/v8_flags.ts";
import { cpuSeconds } from "./_proc.ts";
import { smapsBreakdown } from "./_smaps.ts";

const { values: v } = parseArgs({
  args: Deno.args,
  options: {
    idle: { type: "string" },
    pairs: { type: "string" },
    seconds: { type: "string" },
    size: { type: "string" },
    "flood-workers": { type: "string" },
    "server-v8-flags": { type: "string" },
    quick: { type: "boolean" },
    "idle-only": { type: "boolean" },
    tls: { type: "boolean" },
    burst: { type: "boolean" },
    "burst-batch": { type: "string" },
    "burst-workers": { type: "string" },
    "sample-early": { type: "string" },
    "sample-late": { type: "string" },
    smaps: { type: "boolean" },
  },
});
const quick = v.quick ?? false;
const IDLE = Number(v.idle ?? (quick ? 1000 : 10000));
const PAIRS = Number(v.pairs ?? 32);
const SECONDS = Number(v.seconds ?? (quick ? 2 : 5));
const SIZE = Number(v.size ?? 1200);
const FLOOD_WORKERS = Number(v["flood-workers"] ?? 1);

const here = new URL(".", import.meta.url);
const worker = new URL("_derp_worker.ts", here).pathname;
const cli = new URL("../src/cli/derp.ts", here).href;

/** With --smaps, one line of where `pid`'s resident MiB lie, largest first. */
async function printSmaps(pid: number, when: string): Promise<void> {
  if (!v.smaps) return;
  const by = [...(await smapsBreakdown(pid))].sort((a, b) => b[1] - a[1]);
  const parts = by.filter(([, kib]) => kib >= 512).map(([k, kib]) =>
    `${k} ${(kib / 1024).toFixed(1)}`
  );
  console.log(`smaps ${when} (MiB): ${parts.join(", ")}`);
}

function rssKiB(pid: number): number {
  const s = Deno.readTextFileSync(`/proc/${pid}/status`);
  return Number(s.match(/VmRSS:\s+(\d+) kB/)![1]);
}

/** Reads until a line matches; returns that line, or with `all` everything read so far. */
async function lines(
  stream: ReadableStream<Uint8Array>,
  until: (l: string) => boolean,
  all = false,
): Promise<string> {
  const dec = new TextDecoder();
  let buf = "";
  const reader = stream.getReader();
  try {
    for (;;) {
      const r = await reader.read();
      if (r.done) throw new Error(`stream ended before the expected line; got: ${buf}`);
      buf += dec.decode(r.value);
      const l = buf.split("\n").find(until);
      if (l) return all ? buf : l;
    }
  } finally {
    reader.releaseLock();
  }
}

let certName = "";

/** The server's /metrics (over TLS without checking the self-signed certificate). */
function metricsText(): Promise<string> {
  const url = `${scheme}://127.0.0.1:${port}/metrics`;
  if (!certName) return fetch(url).then((r) => r.text());
  return new Promise((resolve, reject) => {
    https.get(url, { rejectUnauthorized: false }, (res) => {
      let body = "";
      res.on("data", (c) => body += c);
      res.on("end", () => resolve(body));
    }).on("error", reject);
  });
}

function spawnWorker(args: string[]): Deno.ChildProcess {
  return new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", worker, ...args],
    env: certName ? { WARREN_BENCH_CERT_NAME: certName } : undefined,
    stdout: "piped",
    stderr: "inherit",
    stdin: "null",
  }).spawn();
}

async function workerJson<T>(p: Deno.ChildProcess): Promise<T> {
  const out = await p.output();
  const text = new TextDecoder().decode(out.stdout).trim().split("\n").pop()!;
  return JSON.parse(text) as T;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))];
}

// 1. Server, with the V8 flags warren ships with unless told otherwise.
const serverV8Flags = v["server-v8-flags"] ?? WARREN_V8_FLAGS.join(",");
const server = new Deno.Command(Deno.execPath(), {
  args: [
    "eval",
    ...(serverV8Flags ? [`--v8-flags=${serverV8Flags}`] : []),
    "--quiet",
    `import { derpCommand } from ${JSON.stringify(cli)}; Deno.exit(await derpCommand(${
      JSON.stringify([
        "--port",
        "0",
        "--address",
        "127.0.0.1",
        "--no-stun",
        "--quiet",
        "--max-conns",
        "100000",
        ...(v.tls ? ["--hostname", "127.0.0.1"] : []),
      ])
    }));`,
  ],
  stdout: "piped",
  stderr: "null",
  stdin: "null",
}).spawn();
const scheme = v.tls ? "https" : "http";
// The last line the server prints before it serves: the pin with TLS, else the STUN line.
const lastLine = await lines(
  server.stdout,
  (l) => l.includes(v.tls ? "certificate pin" : "warren tun derp: STUN"),
  true,
);
const serving = lastLine.split("\n").find((l) => l.includes(`serving ${scheme}://`))!;
if (v.tls) certName = lastLine.match(/(sha256-raw:[0-9a-f]{64})/)![1];
await server.stdout.cancel();
const port = Number(serving.match(/:(\d+)\/derp/)![1]);
const url = `${scheme}://127.0.0.1:${port}/derp`;
await new Promise((r) => setTimeout(r, 500));
const baseRss = rssKiB(server.pid);
console.log(
  `server pid ${server.pid} on ${url}, RSS ${(baseRss / 1024).toFixed(1)} MiB at start, ` +
    `V8 flags: ${serverV8Flags || "none"}`,
);

await printSmaps(server.pid, "at start");

const results: Record<string, number | string> = {
  command: `deno task bench:derp ${Deno.args.join(" ")}`.trim(),
  server_v8_flags: serverV8Flags,
};

// 2a. A reconnect storm, as after a server restart.
if (v.burst) await burst();

async function burst(): Promise<void> {
  const batch = Number(v["burst-batch"] ?? 500);
  const workers = Number(v["burst-workers"] ?? 4);
  const early = Number(v["sample-early"] ?? 3);
  const late = Number(v["sample-late"] ?? 60);
  const limits = Deno.readTextFileSync(`/proc/${server.pid}/limits`);
  const fdLimit = limits.match(/^Max open files\s+(\d+)/m)?.[1] ?? "?";
  const per = Math.ceil(IDLE / workers);
  const cpu0 = cpuSeconds(server.pid);
  const t0 = performance.now();
  const ps = Array.from(
    { length: workers },
    () => spawnWorker(["idle", url, String(per), String(Math.ceil(batch / workers))]),
  );
  await Promise.all(ps.map((p) => lines(p.stdout, (l) => l.startsWith("ready"))));
  const secs = (performance.now() - t0) / 1000;
  const cpuS = cpuSeconds(server.pid) - cpu0;
  const clients = Number((await metricsText()).match(/^derp_clients (\d+)$/m)![1]);
  const perConnMs = (cpuS * 1000) / clients;
  await new Promise((r) => setTimeout(r, early * 1000));
  const rssEarly = rssKiB(server.pid) / 1024;
  await printSmaps(server.pid, `${early} s after`);
  await new Promise((r) => setTimeout(r, Math.max(0, late - early) * 1000));
  const rssLate = rssKiB(server.pid) / 1024;
  await printSmaps(server.pid, `${late} s after`);
  const m = await metricsText();
  const mib = (name: string) =>
    (Number(m.match(new RegExp(`^derp_${name} (\\d+)$`, "m"))![1]) / 1048576).toFixed(1);
  results.burst_connections = clients;
  results.burst_seconds = Number(secs.toFixed(1));
  results.burst_server_cpu_ms_per_conn = Number(perConnMs.toFixed(3));
  results[`burst_rss_mib_${early}s`] = Number(rssEarly.toFixed(1));
  results[`burst_rss_mib_${late}s`] = Number(rssLate.toFixed(1));
  console.log(
    `burst: ${clients} connections opened ${batch} at a time by ${workers} processes in ${
      secs.toFixed(1)
    } s (${Math.round(clients / secs)}/s; server fd limit ${fdLimit}); server CPU ${
      perConnMs.toFixed(3)
    } ms per connection (handshakes${v.tls ? ", TLS included" : ""}); server RSS ${
      rssEarly.toFixed(1)
    } MiB ${early} s after the last one, ${rssLate.toFixed(1)} MiB after ${late} s (V8 heap ${
      mib("js_heap_total_bytes")
    } MiB, external ${mib("js_external_memory_bytes")} MiB)`,
  );
  for (const p of ps) p.kill("SIGTERM");
  await Promise.all(ps.map((p) => p.output()));
}

// 2. Idle connections.
if (!v.burst) {
  const workers = IDLE >= 2000 ? 2 : 1;
  const per = Math.ceil(IDLE / workers);
  const t0 = performance.now();
  const ps = Array.from({ length: workers }, () => spawnWorker(["idle", url, String(per)]));
  await Promise.all(ps.map((p) => lines(p.stdout, (l) => l.startsWith("ready"))));
  const connectSecs = (performance.now() - t0) / 1000;
  await new Promise((r) => setTimeout(r, 2000));
  const metrics = await metricsText();
  const clients = Number(metrics.match(/^derp_clients (\d+)$/m)![1]);
  const rss = rssKiB(server.pid);
  const gauge = (name: string) =>
    Number(metrics.match(new RegExp(`^derp_${name} (\\d+)$`, "m"))![1]);
  const heapMiB = (gauge("js_heap_total_bytes") / 1048576).toFixed(1);
  results.idle_connections = clients;
  results.idle_connect_seconds = Number(connectSecs.toFixed(1));
  results.server_rss_mib_idle = Number((rss / 1024).toFixed(1));
  results.server_rss_kib_per_conn = Number(((rss - baseRss) / clients).toFixed(2));
  console.log(
    `idle: ${clients} connections held (opened in ${connectSecs.toFixed(1)} s); server RSS ${
      (rss / 1024).toFixed(1)
    } MiB, ${((rss - baseRss) / clients).toFixed(2)} KiB per connection above the start ` +
      `(V8 heap ${heapMiB} MiB of it)`,
  );
  for (const p of ps) p.kill("SIGTERM");
  await Promise.all(ps.map((p) => p.output()));
  for (let i = 0; i < 100; i++) {
    const m = await metricsText();
    if (Number(m.match(/^derp_clients (\d+)$/m)![1]) === 0) break;
    await new Promise((r) => setTimeout(r, 100));
  }
}

const otherParts = !v["idle-only"] && !v.burst;

// 3. Latency at rest.
if (otherParts) {
  const r = await workerJson<{ rtts: number[] }>(
    spawnWorker(["latency", url, "2000", String(SIZE)]),
  );
  const s = r.rtts.sort((a, b) => a - b);
  results.rtt_idle_p50_ms = Number(pct(s, 0.5).toFixed(3));
  results.rtt_idle_p99_ms = Number(pct(s, 0.99).toFixed(3));
  console.log(
    `latency at rest: relay round trip (A→server→B→server→A) p50 ${
      pct(s, 0.5).toFixed(3)
    } ms, p99 ${pct(s, 0.99).toFixed(3)} ms over ${s.length} packets`,
  );
}

// 4. Throughput, with a latency probe running alongside.
if (otherParts) {
  const cpu0 = cpuSeconds(server.pid);
  const floods = Array.from(
    { length: FLOOD_WORKERS },
    () =>
      spawnWorker([
        "flood",
        url,
        String(Math.ceil(PAIRS / FLOOD_WORKERS)),
        String(SECONDS),
        String(SIZE),
      ]),
  );
  await new Promise((r) => setTimeout(r, 1500));
  const lat = spawnWorker(["latency", url, "300", String(SIZE)]);
  const rs = await Promise.all(
    floods.map((p) => workerJson<{ received: number; seconds: number }>(p)),
  );
  const cpu1 = cpuSeconds(server.pid);
  const l = await workerJson<{ rtts: number[] }>(lat);
  const received = rs.reduce((n, r) => n + r.received, 0);
  const secs = Math.max(...rs.map((r) => r.seconds));
  const pps = received / secs;
  const mbit = (pps * SIZE * 8) / 1e6;
  const cpu = (cpu1 - cpu0) / (secs + 2.5);
  const s = l.rtts.sort((a, b) => a - b);
  results.pairs = PAIRS;
  results.packet_size = SIZE;
  results.relayed_packets_per_s = Math.round(pps);
  results.relayed_mbit_per_s = Number(mbit.toFixed(0));
  results.server_cpu_cores = Number(cpu.toFixed(2));
  results.rtt_loaded_p50_ms = Number(pct(s, 0.5).toFixed(3));
  results.rtt_loaded_p99_ms = Number(pct(s, 0.99).toFixed(3));
  console.log(
    `throughput: ${PAIRS} pairs, ${SIZE}-byte packets: ${Math.round(pps)} packets/s relayed = ${
      mbit.toFixed(0)
    } Mbit/s (server used ~${cpu.toFixed(2)} cores)`,
  );
  console.log(
    `latency under load: p50 ${pct(s, 0.5).toFixed(3)} ms, p99 ${pct(s, 0.99).toFixed(3)} ms`,
  );
  const metrics = await metricsText();
  const drops = [...metrics.matchAll(/^derp_packets_dropped_total\{reason="(\w+)"\} (\d+)$/gm)]
    .filter((m) => m[2] !== "0").map((m) => `${m[1]}=${m[2]}`).join(" ");
  console.log(`server drops: ${drops || "none"}`);
}

server.kill("SIGTERM");
await server.status;
console.log(JSON.stringify(results));
