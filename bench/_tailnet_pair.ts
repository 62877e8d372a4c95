/**
 * For `deno task bench`: a warren tailnet pair against a warren plain-WireGuard pair on the
 * same two hosts of a test tailnet (hub with the coordination server and DERP, hosts routed
 * through it, no NAT), so the tailnet's own cost (magicsock, disco, the packet filter, the
 * main-thread data plane) shows as a ratio without tailscaled. The pairs take turns per figure.
 *
 * @module
 */
import { generatePrivateKey, publicKeyFrom } from "../src/crypto/x25519.ts";
import { formatWgKey } from "../src/key/wg_key.ts";
import type { Netns } from "../src/testbed/netns.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";
import { WarrenNode } from "../src/testbed/warren_node.ts";

/** One figure for both pairs. */
export interface PairRow {
  /** What was measured. */
  metric: string;
  /** The tailnet pair's figure. */
  tailnet: number;
  /** The plain WireGuard pair's figure. */
  wireguard: number;
}

/** The underlay IPv4 address of a testbed host (its 10.80.N.2). */
async function underlayIp(ns: Netns): Promise<string> {
  const out = (await ns.exec(["ip", "-4", "-o", "addr", "show"])).stdout;
  const m = /inet (10\.80\.\d+\.2)\//.exec(out);
  if (!m) throw new Error(`no 10.80.N.2 address in ${ns.name}`);
  return m[1];
}

/** Measures both pairs: `iperf` runs one figure from a client namespace to a server address. */
export async function tailnetAgainstWireguard(
  dir: string,
  iperf: (client: Netns, server: Netns, serverIp: string, args: string[]) => Promise<number>,
  pingRtt: (client: Netns, serverIp: string) => Promise<number>,
): Promise<PairRow[]> {
  const t = await Tailnet.create({ keepAliveSeconds: 10 });
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const a = await t.addHost("ba"), b = await t.addHost("bb");
    await t.up("ba");
    await t.up("bb");
    const tsIp = ((await t.status("bb")).addresses as string[])[0].split("/")[0]; // one node yet
    const [ua, ub] = [await underlayIp(a), await underlayIp(b)];
    const [ka, kb] = [generatePrivateKey(), generatePrivateKey()];
    const wgConf = (
      self: Uint8Array,
      peer: Uint8Array,
      addr: string,
      peerAddr: string,
      ep: string,
    ) =>
      `[Interface]\nPrivateKey = ${
        formatWgKey(self)
      }\nAddress = ${addr}/24\nListenPort = 51900\n\n` +
      `[Peer]\nPublicKey = ${formatWgKey(publicKeyFrom(peer))}\nAllowedIPs = ${peerAddr}/32\n` +
      `Endpoint = ${ep}:51900\n`;
    for (
      const [ns, tun, conf] of [
        [a, "bwa", wgConf(ka, kb, "10.249.0.1", "10.249.0.2", ub)],
        [b, "bwb", wgConf(kb, ka, "10.249.0.2", "10.249.0.1", ua)],
      ] as const
    ) {
      const node = await WarrenNode.start(ns, tun, conf, dir);
      stops.push(() => node.stop());
    }
    // Both pairs past their handshakes, and the tailnet pair on its direct path.
    await pingRtt(a, "10.249.0.2");
    const deadline = Date.now() + 30_000;
    // Two nodes in each namespace, so status names the tailnet one's interface (the testbed's).
    const pathState = async () =>
      JSON.parse((await t.warren("ba", ["status", "--json", "--tun", "warren0"])).stdout)
        .peers[0]?.pathState;
    while (await pathState() !== "direct") {
      if (Date.now() > deadline) throw new Error("the tailnet pair never went direct");
      await pingRtt(a, tsIp);
    }
    const rows: PairRow[] = [];
    const both = async (metric: string, f: (ip: string) => Promise<number>) =>
      rows.push({ metric, tailnet: await f(tsIp), wireguard: await f("10.249.0.2") });
    await both("TCP 1 stream, a → b (Mbit/s)", (ip) => iperf(a, b, ip, []));
    await both("TCP 1 stream, b → a (Mbit/s)", (ip) => iperf(a, b, ip, ["-R"]));
    await both("ping RTT avg (ms)", (ip) => pingRtt(a, ip));
    return rows;
  } finally {
    for (const s of stops.reverse()) await s().catch(() => {});
    await t.close();
  }
}
