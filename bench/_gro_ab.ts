/**
 * Scratch benchmark: UDP GRO on warren's WireGuard socket, on against off in one run. Pairs on
 * namespaces joined by veth: warren (WARREN_UDP_GRO=0) ↔ wireguard-go, warren (GRO default) ↔
 * wireguard-go, and warren ↔ warren with GRO off on both and on on both. Each round runs one
 * iperf3 per pair and direction, the pairs taking turns (order flipped every round), so the
 * machine's load hits both settings alike. Prints Mbit/s and the receiving warren's CPU time per
 * GB moved (user + system, from /proc; none where wireguard-go receives), median over the
 * rounds, with each run's TCP retransmits and UDP RcvbufErrors.
 *
 *   deno run -A bench/_gro_ab.ts [--seconds 3] [--rounds 4]
 *   deno run -A bench/_gro_ab.ts --profile DIR [--profile-pairs 0,1]
 *
 * `--profile DIR` instead runs one `-R` per listed pair (0-3, in the order above) under
 * `perf record` into DIR/perfN.data, with V8's `--perf-basic-prof`, and prints the node's drop
 * counters and peer byte counts after it.
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
import { cpuSeconds, udpRcvbufErrors } from "./_proc.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: {
    seconds: { type: "string", default: "3" },
    rounds: { type: "string", default: "4" },
    profile: { type: "string" },
    "profile-pairs": { type: "string", default: "0,1" },
  },
});
const SECONDS = Number(values.seconds);
const ROUNDS = Number(values.rounds);
await exitUnlessReady({ wireguardGo: true, commands: ["iperf3"] });

interface Pair {
  label: string;
  client: Netns;
  server: Netns;
  serverIp: string;
  pids: number[];
  node: WarrenNode;
}

const extra: string[] = [];

/** One iperf3 run: Mbit/s and the receiving warren's CPU seconds (the client's with -R). */
async function iperf(p: Pair, args: string[]): Promise<[number, number]> {
  // UDP RcvbufErrors in the client namespace (warren's).
  const drops0 = await udpRcvbufErrors(p.client);
  let before: number[] = [];
  const r = await iperf3(p.client, p.server, p.serverIp, SECONDS, args, () => {
    before = p.pids.map(cpuSeconds);
  });
  const rx = args.includes("-R") ? 0 : 1;
  const cpu = rx < p.pids.length ? cpuSeconds(p.pids[rx]) - before[rx] : NaN;
  extra.push(
    `${p.label} ${args.join(" ")}: retransmits ${r.retransmits}, ` +
      `UDP RcvbufErrors +${(await udpRcvbufErrors(p.client)) - drops0}`,
  );
  return [r.mbit, cpu];
}

const dir = await Deno.makeTempDir({ prefix: "warren-groab-" });
const spaces: Netns[] = [];
const stops: (() => Promise<unknown>)[] = [];
try {
  const keys = Array.from({ length: 8 }, () => generatePrivateKey());
  const pub = (i: number) => formatWgKey(publicKeyFrom(keys[i]));
  const pairs: Pair[] = [];
  const warrenConf = (self: number, peer: number, addr: string, peerAddr: string, ep: string) =>
    `[Interface]\nPrivateKey = ${formatWgKey(keys[self])}\nAddress = ${addr}/24\n` +
    `ListenPort = 51820\n\n[Peer]\nPublicKey = ${pub(peer)}\n` +
    `AllowedIPs = ${peerAddr}/32\nEndpoint = ${ep}:51820\n`;
  const specs: [string, boolean, boolean][] = [
    ["warren GRO off ↔ wg-go", false, false],
    ["warren GRO on  ↔ wg-go", true, false],
    ["warren ↔ warren, GRO off", false, true],
    ["warren ↔ warren, GRO on ", true, true],
  ];
  for (const [s, [label, gro, both]] of specs.entries()) {
    const a = await Netns.create(`gab${s}a`), b = await Netns.create(`gab${s}b`);
    spaces.push(a, b);
    const net = 240 + s;
    await linkPair(a, b, {
      a4: `10.${net}.0.1`,
      b4: `10.${net}.0.2`,
      a6: `fd00:${net}::1`,
      b6: `fd00:${net}::2`,
    });
    const [ka, kb] = [2 * s, 2 * s + 1];
    const tunA = `10.23${s}.0.1`, tunB = `10.23${s}.0.2`;
    const env: Record<string, string> = {
      WARREN_UDP_GRO: gro ? "1" : "0",
      WARREN_DATAPLANE: "main",
    };
    if (values.profile) env.DENO_V8_FLAGS = "--perf-basic-prof,--logfile=/dev/null";
    const na = await WarrenNode.start(
      a,
      `gab${s}a`,
      warrenConf(ka, kb, tunA, tunB, `10.${net}.0.2`),
      dir,
      [],
      env,
    );
    stops.push(() => na.stop());
    const pids = [na.proc.pid];
    if (both) {
      const nb = await WarrenNode.start(
        b,
        `gab${s}b`,
        warrenConf(kb, ka, tunB, tunA, `10.${net}.0.1`),
        dir,
        [],
        env,
      );
      stops.push(() => nb.stop());
      pids.push(nb.proc.pid);
    } else {
      const wg = await WireguardGo.start(b, {
        name: `gab${s}b`,
        privateKey: formatWgKey(keys[kb]),
        listenPort: 51820,
        addresses: [`${tunB}/24`],
        peers: [{
          publicKey: pub(ka),
          allowedIps: [`${tunA}/32`],
          endpoint: `10.${net}.0.1:51820`,
        }],
      }, dir);
      stops.push(() => wg.stop());
    }
    pairs.push({ label, client: a, server: b, serverIp: tunB, pids, node: na });
  }
  for (const p of pairs) await p.client.exec(["ping", "-c", "5", "-i", "0.1", "-q", p.serverIp]);

  if (values.profile) {
    for (const i of values["profile-pairs"].split(",").map(Number)) {
      const perf = new Deno.Command("perf", {
        args: [
          "record",
          "-g",
          "-o",
          `${values.profile}/perf${i}.data`,
          "-p",
          String(pairs[i].pids[0]),
        ],
        stdout: "null",
        stderr: "null",
      }).spawn();
      await new Promise((r) => setTimeout(r, 500));
      console.log(pairs[i].label, await iperf(pairs[i], ["-R"]));
      perf.kill("SIGINT");
      await perf.status;
      const st = JSON.parse((await pairs[i].node.cli(["status", "--json"])).stdout);
      console.log(
        JSON.stringify(st.drops),
        JSON.stringify(
          st.peers?.map((p: { rxBytes?: number; txBytes?: number }) => [p.rxBytes, p.txBytes]),
        ),
      );
    }
  }
  const dirs: [string, string[]][] = [["warren receives (-R)", ["-R"]], ["warren sends", []]];
  const results = pairs.map(() => dirs.map(() => [] as [number, number][]));
  for (let r = 0; r < (values.profile ? 0 : ROUNDS); r++) {
    for (const [d, [, args]] of dirs.entries()) {
      // Within each group of two (off, on), flip the order every round.
      for (const g of [0, 2]) {
        const order = r % 2 ? [g + 1, g] : [g, g + 1];
        for (const i of order) results[i][d].push(await iperf(pairs[i], args));
      }
    }
  }
  const median = (xs: number[]) => {
    const s = [...xs].sort((a, b) => a - b);
    return s.length % 2 ? s[s.length >> 1] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
  };
  console.log(extra.join("\n"));
  console.log(`GRO A/B: ${ROUNDS} rounds of ${SECONDS} s iperf3 runs; medians (all runs)`);
  for (const [d, [dname]] of dirs.entries()) {
    console.log(`\n${dname}`);
    for (const [i, p] of pairs.entries()) {
      const rs = results[i][d];
      const mbit = rs.map(([m]) => m);
      // CPU seconds of the receiving warren per GB moved.
      const perGb = rs.map(([m, cpu]) => cpu / (m * SECONDS / 8 / 1000));
      console.log(
        `${p.label.padEnd(28)} ${median(mbit).toFixed(0).padStart(6)} Mbit/s ` +
          `[${mbit.map((x) => x.toFixed(0)).join(" ")}]  ` +
          `receiver CPU ${median(perGb).toFixed(2)} s/GB [${
            perGb.map((x) => x.toFixed(2)).join(" ")
          }]`,
      );
    }
  }
} finally {
  for (const s of stops.reverse()) await s().catch(() => {});
  for (const ns of spaces) await ns.delete();
  await Deno.remove(dir, { recursive: true });
}
