/**
 * Tunnel benchmark: warren ↔ wireguard-go against wireguard-go ↔
 * wireguard-go, side by side in one run, on namespaces joined by veth.
 * Prints single-stream TCP throughput both ways, 4-stream throughput, ping
 * RTT, the ratio warren / wireguard-go for each, and warren's peak RSS.
 *
 *   deno task bench [--seconds 5]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { generatePrivateKey, publicKeyFrom } from "../src/crypto/x25519.ts";
import { formatWgKey } from "../src/key/wg_key.ts";
import { linkPair, namespaceSupport, Netns, run } from "../src/testbed/netns.ts";
import { WarrenNode } from "../src/testbed/warren_node.ts";
import { WireguardGo, wireguardGoSupport } from "../src/testbed/wireguard_go.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { seconds: { type: "string", default: "5" } },
});
const SECONDS = Number(values.seconds);

const missing = (await namespaceSupport()) ?? (await wireguardGoSupport()) ??
  ((await run(["sh", "-c", "command -v iperf3"], { check: false })).code !== 0
    ? "iperf3 is not installed"
    : null);
if (missing) {
  console.error(`bench: ${missing}`);
  Deno.exit(1);
}

interface Pair {
  label: string;
  client: Netns;
  serverIp: string;
  server: Netns;
}

async function iperf(p: Pair, args: string[]): Promise<number> {
  const srv = p.server.spawn(["iperf3", "-s", "-1", "-B", p.serverIp], { stdout: "null" });
  await new Promise((r) => setTimeout(r, 300));
  try {
    const out = await p.client.exec([
      "iperf3",
      "-c",
      p.serverIp,
      "-t",
      `${SECONDS}`,
      "-J",
      ...args,
    ]);
    const j = JSON.parse(out.stdout);
    return j.end.sum_received.bits_per_second / 1e6;
  } finally {
    await srv.status;
    await srv.stderr.cancel();
  }
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
  const keys = [0, 1, 2, 3].map(() => generatePrivateKey());
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

  const warren = await WarrenNode.start(
    a,
    "wb-warren",
    `[Interface]\nPrivateKey = ${
      formatWgKey(keys[0])
    }\nAddress = 10.250.1.1/24\nListenPort = 51820\n\n` +
      `[Peer]\nPublicKey = ${pub(1)}\nAllowedIPs = 10.250.1.2/32\nEndpoint = 10.251.0.2:51820\n`,
    dir,
  );
  stops.push(() => warren.stop());
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
    ]
  ) stops.push(() => wg.stop());

  const pairs: Pair[] = [
    { label: "warren↔wireguard-go", client: a, server: b, serverIp: "10.250.1.2" },
    { label: "wireguard-go↔wireguard-go", client: c, server: d, serverIp: "10.250.2.2" },
  ];
  for (const p of pairs) await pingRtt(p); // handshakes and warm-up

  const rows: [string, number, number, string][] = [];
  const measure = async (
    name: string,
    f: (p: Pair) => Promise<number>,
    better: "higher" | "lower",
  ) => {
    const [w, r] = [await f(pairs[0]), await f(pairs[1])];
    rows.push([name, w, r, better]);
  };
  await measure("TCP 1 stream, sender → receiver (Mbit/s)", (p) => iperf(p, []), "higher");
  await measure("TCP 1 stream, receiver → sender (Mbit/s)", (p) => iperf(p, ["-R"]), "higher");
  await measure("TCP 4 streams (Mbit/s)", (p) => iperf(p, ["-P", "4"]), "higher");
  await measure("ping RTT avg (ms)", pingRtt, "lower");
  const rss = await warren.peakRssKiB();

  console.log(
    `\nwarren tunnel benchmark (${SECONDS} s per iperf3 run, ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores)`,
  );
  console.log(
    `${"metric".padEnd(42)} ${"warren↔wg-go".padStart(13)} ${"wg-go↔wg-go".padStart(13)} ${
      "ratio".padStart(7)
    }`,
  );
  for (const [name, w, r, better] of rows) {
    const ratio = w / r;
    console.log(
      `${name.padEnd(42)} ${w.toFixed(name.includes("(ms)") ? 3 : 0).padStart(13)} ` +
        `${r.toFixed(name.includes("(ms)") ? 3 : 0).padStart(13)} ${ratio.toFixed(2).padStart(7)}` +
        (better === "lower" ? "  (lower is better)" : ""),
    );
  }
  console.log(`${"warren peak RSS (MiB)".padEnd(42)} ${(rss / 1024).toFixed(1).padStart(13)}`);
  console.log(
    "ratio = warren↔wireguard-go / wireguard-go↔wireguard-go; warren is the client side (a).",
  );
} finally {
  for (const s of stops.reverse()) await s().catch(() => {});
  for (const ns of spaces) await ns.delete();
  await Deno.remove(dir, { recursive: true });
}
