/**
 * Tunnel benchmark: warren ↔ wireguard-go against wireguard-go ↔
 * wireguard-go, side by side in one run, on namespaces joined by veth, and
 * a second warren ↔ wireguard-go pair whose warren runs its data plane on
 * the main thread (`WARREN_DATAPLANE=pool`, as before the data-plane
 * Worker). Prints single-stream TCP throughput both ways, 4-stream
 * throughput, ping RTT, the ratio warren / wireguard-go for each, and each
 * warren's peak RSS. The pairs take turns per figure, so the machine's load
 * hits all of them alike, and a warren ↔ warren pair against the same wireguard-go pair: what
 * the tunnel moves when neither end is wireguard-go (warren ↔ wireguard-go is bounded by
 * wireguard-go's own cost on its side). Then (unless `--skip-tailnet`) a warren tailnet pair
 * against a warren plain-WireGuard pair on the same two hosts of a test
 * tailnet, and a tailnet pair whose nodes run their data planes on the main thread
 * (`bench/_tailnet_pair.ts`).
 *
 *   deno task bench [--seconds 5] [--skip-tailnet] [--profile DIR] [--rtt-only] [--rtt-rounds 6]
 *
 * `--rtt-only` measures only the ping round-trip medians (no iperf3, no tailnet pairs), in
 * `--rtt-rounds` rounds of 50 pings per pair.
 *
 * `--profile DIR` records the first pair's warren (the shipped data plane, sending to
 * wireguard-go) with `perf record` during its single-stream runs, V8's `--perf-basic-prof`
 * naming the JS frames: DIR/send.data and DIR/receive.data, for `perf report -i`.
 *
 * @module
 */
import { parseArgs } from "node:util";
import { generatePrivateKey, publicKeyFrom } from "../src/crypto/x25519.ts";
import { formatWgKey } from "../src/key/wg_key.ts";
import { linkPair, Netns } from "../src/testbed/netns.ts";
import { WarrenNode } from "../src/testbed/warren_node.ts";
import { WireguardGo } from "../src/testbed/wireguard_go.ts";
import { exitUnlessReady } from "./_needs.ts";
import { iperf3 } from "./_iperf.ts";
import { cpuSeconds, PERF_V8_FLAGS, startPerf } from "./_proc.ts";
import { median, pingTimes } from "./_ping.ts";
import { findDenoPid } from "./_rss.ts";
import { tailnetAgainstWireguard } from "./_tailnet_pair.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "5" },
    "skip-tailnet": { type: "boolean", default: false },
    profile: { type: "string" },
    "rtt-only": { type: "boolean", default: false },
    "rtt-rounds": { type: "string", default: "6" },
  },
});
const RTT_ONLY = values["rtt-only"];
const SECONDS = Number(values.seconds);
/** Rounds of 50 pings per pair for the RTT medians. */
const RTT_ROUNDS = Number(values["rtt-rounds"]);

await exitUnlessReady({ wireguardGo: true, commands: ["iperf3"] });

interface Pair {
  label: string;
  client: Netns;
  serverIp: string;
  server: Netns;
  /** The client warren's deno process, whose CPU time each transfer reads; none for wireguard-go. */
  warrenPid?: number;
}

async function iperf(p: Pair, args: string[]): Promise<number> {
  return (await iperf3(p.client, p.server, p.serverIp, SECONDS, args)).mbit;
}

async function pingRtt(p: Pair): Promise<number> {
  const out = await p.client.exec(["ping", "-c", "50", "-i", "0.02", "-q", p.serverIp]);
  const m = /= [\d.]+\/([\d.]+)\//.exec(out.stdout);
  return m ? Number(m[1]) : NaN;
}

const dir = await Deno.makeTempDir({ prefix: "warren-bench-" });
const spaces: Netns[] = [];
const stops: (() => Promise<unknown>)[] = [];
try {
  const mk = async (n: string) => {
    const ns = await Netns.create(`wb-${n}`);
    spaces.push(ns);
    return ns;
  };
  const [a, b, c, d] = [await mk("a"), await mk("b"), await mk("c"), await mk("d")];
  const [e, f] = [await mk("e"), await mk("f")];
  const [g, h] = [await mk("g"), await mk("h")];
  await linkPair(a, b, {
    a4: "10.251.0.1",
    b4: "10.251.0.2",
    a6: "fd00:251::1",
    b6: "fd00:251::2",
  });
  await linkPair(c, d, {
    a4: "10.252.0.1",
    b4: "10.252.0.2",
    a6: "fd00:252::1",
    b6: "fd00:252::2",
  });
  await linkPair(e, f, {
    a4: "10.253.0.1",
    b4: "10.253.0.2",
    a6: "fd00:253::1",
    b6: "fd00:253::2",
  });
  await linkPair(g, h, {
    a4: "10.254.0.1",
    b4: "10.254.0.2",
    a6: "fd00:254::1",
    b6: "fd00:254::2",
  });
  const keys = [0, 1, 2, 3, 4, 5, 6, 7].map(() => generatePrivateKey());
  const pub = (i: number) => formatWgKey(publicKeyFrom(keys[i]));
  const wgPeer = (
    name: string,
    ns: Netns,
    self: number,
    peer: number,
    addr: string,
    peerAddr: string,
    ep: string,
  ) =>
    WireguardGo.start(ns, {
      name,
      privateKey: formatWgKey(keys[self]),
      listenPort: 51820,
      addresses: [`${addr}/24`],
      peers: [{ publicKey: pub(peer), allowedIps: [`${peerAddr}/32`], endpoint: ep }],
    }, dir);

  /** A warren on host `side` (1 or 2) of link `net`: 10.250.net.side inside, 10.2(50+net).0.side outside. */
  const warrenOn = async (
    ns: Netns,
    tun: string,
    self: number,
    peer: number,
    net: number,
    env: Record<string, string>,
    side = 1,
  ) => {
    const other = 3 - side;
    const node = await WarrenNode.start(
      ns,
      tun,
      `[Interface]\nPrivateKey = ${formatWgKey(keys[self])}\nAddress = 10.250.${net}.${side}/24\n` +
        `ListenPort = 51820\n\n[Peer]\nPublicKey = ${pub(peer)}\n` +
        `AllowedIPs = 10.250.${net}.${other}/32\nEndpoint = 10.2${50 + net}.0.${other}:51820\n`,
      dir,
      [],
      env,
    );
    stops.push(() => node.stop());
    return node;
  };
  const shipped = { WARREN_DATAPLANE: Deno.env.get("WARREN_DATAPLANE") ?? "main" };
  const warren = await warrenOn(a, "wb-warren", 0, 1, 1, {
    ...shipped,
    ...(values.profile === undefined ? {} : { DENO_V8_FLAGS: PERF_V8_FLAGS }),
  });
  const warren1 = await warrenOn(e, "wb-warren1", 4, 5, 3, { WARREN_DATAPLANE: "pool" });
  const warrenG = await warrenOn(g, "wb-warren-g", 6, 7, 4, shipped);
  await warrenOn(h, "wb-warren-h", 7, 6, 4, shipped, 2);
  for (
    const wg of [
      await wgPeer(
        `wbb${b.name.slice(-5)}`,
        b,
        1,
        0,
        "10.250.1.2",
        "10.250.1.1",
        "10.251.0.1:51820",
      ),
      await wgPeer(
        `wbc${c.name.slice(-5)}`,
        c,
        2,
        3,
        "10.250.2.1",
        "10.250.2.2",
        "10.252.0.2:51820",
      ),
      await wgPeer(
        `wbd${d.name.slice(-5)}`,
        d,
        3,
        2,
        "10.250.2.2",
        "10.250.2.1",
        "10.252.0.1:51820",
      ),
      await wgPeer(
        `wbf${f.name.slice(-5)}`,
        f,
        5,
        4,
        "10.250.3.2",
        "10.250.3.1",
        "10.253.0.1:51820",
      ),
    ]
  ) stops.push(() => wg.stop());

  const pairs: Pair[] = [
    {
      label: "warren↔wireguard-go",
      client: a,
      server: b,
      serverIp: "10.250.1.2",
      warrenPid: await findDenoPid(warren.proc.pid),
    },
    {
      label: "warren (main thread)↔wireguard-go",
      client: e,
      server: f,
      serverIp: "10.250.3.2",
      warrenPid: await findDenoPid(warren1.proc.pid),
    },
    {
      label: "warren↔warren",
      client: g,
      server: h,
      serverIp: "10.250.4.2",
      warrenPid: await findDenoPid(warrenG.proc.pid),
    },
    { label: "wireguard-go↔wireguard-go", client: c, server: d, serverIp: "10.250.2.2" },
  ];
  for (const p of pairs) await pingRtt(p); // handshakes and warm-up

  /** One figure: its name, a value per pair (in `pairs` order, wireguard-go's pair last). */
  const rows: { name: string; values: number[]; better: "higher" | "lower" }[] = [];
  const measure = async (
    name: string,
    f: (p: Pair) => Promise<number>,
    better: "higher" | "lower",
  ) => {
    const values: number[] = [];
    for (const p of pairs) values.push(await f(p));
    rows.push({ name, values, better });
  };
  /** The client warren's CPU seconds per GB (10^9 bytes) each pair's transfers moved. */
  const cpuRows: { name: string; values: number[] }[] = [];
  const transfer = async (name: string, args: string[], profileAs?: string) => {
    const cpu: number[] = [];
    await measure(name, async (p) => {
      const perf = profileAs === undefined || values.profile === undefined || p !== pairs[0]
        ? null
        : await startPerf(p.warrenPid!, `${values.profile}/${profileAs}.data`);
      const before = p.warrenPid === undefined ? NaN : cpuSeconds(p.warrenPid);
      const mbit = await iperf(p, args);
      const used = p.warrenPid === undefined ? NaN : cpuSeconds(p.warrenPid) - before;
      await perf?.();
      cpu.push(used / (mbit * SECONDS / 8000));
      return mbit;
    }, "higher");
    cpuRows.push({ name, values: cpu.slice(0, -1) });
  };
  if (!RTT_ONLY) {
    await transfer("TCP 1 stream, sender → receiver (Mbit/s)", [], "send");
    await transfer("TCP 1 stream, receiver → sender (Mbit/s)", ["-R"], "receive");
    await transfer("TCP 4 streams (Mbit/s)", ["-P", "4"]);
    await measure("ping RTT avg (ms)", pingRtt, "lower");
  }
  // The pairs' medians, RTT_ROUNDS rounds of 50 pings in turns (the order reversed every other
  // round), and each round's ratio of the first pair to wireguard-go's: the spread shows how
  // far one round's figure can be trusted.
  const rounds: number[][] = pairs.map(() => []);
  for (let r = 0; r < RTT_ROUNDS; r++) {
    const order = pairs.map((_, i) => i);
    if (r % 2 === 1) order.reverse();
    for (const i of order) {
      rounds[i].push(median(await pingTimes(pairs[i].client, pairs[i].serverIp)));
    }
  }
  rows.push({
    name: `ping RTT median, ${RTT_ROUNDS} × 50 (ms)`,
    values: rounds.map(median),
    better: "lower",
  });
  const roundRatios = rounds[0].map((x, r) => x / rounds[rounds.length - 1][r]);
  const rss = [warren, warren1, warrenG].map((w) => w.peakRssKiB());

  console.log(
    `\nwarren tunnel benchmark (${
      RTT_ONLY ? "ping round trips only" : `${SECONDS} s per iperf3 run`
    }, ${Deno.build.arch}, ` +
      `${navigator.hardwareConcurrency} cores)`,
  );
  const cols = ["warren↔wg-go", "1-thread↔wg-go", "warren↔warren"].flatMap((c) => [c, "ratio"]);
  const pad = (c: string) => c.padStart(14);
  console.log(`${"metric".padEnd(42)} ${[...cols, "wg-go↔wg-go"].map(pad).join(" ")}`);
  for (const { name, values, better } of rows) {
    const fmt = (x: number) => pad(x.toFixed(name.includes("(ms)") ? 3 : 0));
    const ref = values[values.length - 1];
    const cells = values.slice(0, -1).flatMap((x) => [fmt(x), pad((x / ref).toFixed(2))]);
    console.log(
      `${name.padEnd(42)} ${[...cells, fmt(ref)].join(" ")}` +
        (better === "lower" ? "  (lower is better)" : ""),
    );
  }
  const mib = async (k: Promise<number>) => pad(((await k) / 1024).toFixed(1));
  console.log(
    `${"warren peak RSS (MiB)".padEnd(42)} ` +
      (await Promise.all(rss.map(mib))).join(` ${pad("")} `),
  );
  for (const { name, values } of cpuRows) {
    const label = `warren CPU s/GB, ${name.replace(/^TCP /, "").replace(/ \(Mbit\/s\)$/, "")}`;
    console.log(`${label.padEnd(42)} ${values.map((x) => pad(x.toFixed(2))).join(` ${pad("")} `)}`);
  }
  console.log(
    "ratio = the pair's figure / wireguard-go↔wireguard-go's; warren is the client side. " +
      "1-thread: warren with its data plane on the main thread (WARREN_DATAPLANE=pool). " +
      "warren↔warren: both ends warren as shipped. CPU s/GB: the client warren's user+system " +
      "time (all its threads) per 10^9 bytes moved, over the whole iperf3 run.",
  );
  console.log(
    `RTT median per round, warren↔wg-go / wg-go↔wg-go: ${
      roundRatios.map((x) => x.toFixed(2)).join(" ")
    } (median ${median(roundRatios).toFixed(2)})`,
  );
  if (!values["skip-tailnet"] && !RTT_ONLY) {
    const pairRows = await tailnetAgainstWireguard(
      dir,
      (client, server, serverIp, args) => iperf({ label: "", client, server, serverIp }, args),
      (client, serverIp) => pingRtt({ label: "", client, server: client, serverIp }),
    );
    console.log(
      `\n${"warren tailnet pairs / warren WireGuard pair".padEnd(42)} ` +
        ["tailnet", "ratio", "1-thread", "ratio", "wireguard"].map((c) => c.padStart(10)).join(" "),
    );
    for (const r of pairRows) {
      const fmt = (x: number) => x.toFixed(r.metric.includes("(ms)") ? 3 : 0).padStart(10);
      const ratio = (x: number) => (x / r.wireguard).toFixed(2).padStart(10);
      console.log(
        `${r.metric.padEnd(42)} ${fmt(r.tailnet)} ${ratio(r.tailnet)} ` +
          `${fmt(r.tailnetPool)} ${ratio(r.tailnetPool)} ${fmt(r.wireguard)}`,
      );
    }
    console.log(
      "The tailnet pair and the WireGuard pair on the same two hosts, the 1-thread tailnet " +
        "pair (WARREN_DATAPLANE=pool) on two more, all routed through the test tailnet's hub.",
    );
  }
} finally {
  for (const s of stops.reverse()) await s().catch(() => {});
  for (const ns of spaces) await ns.delete();
  await Deno.remove(dir, { recursive: true });
}
