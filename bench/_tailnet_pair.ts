/**
 * For `deno task bench`: a warren tailnet pair against a warren plain-WireGuard pair on the
 * same two hosts of a test tailnet (hub with the coordination server and DERP, hosts routed
 * through it, no NAT), so the tailnet's own cost (magicsock, disco, the packet filter) shows as
 * a ratio without tailscaled; and a second tailnet pair on two more hosts whose data planes run
 * on the main thread (`WARREN_DATAPLANE=pool`, as before the tailnet node had a Worker). The
 * pairs take turns per figure. The WireGuard pair runs at the tailnet's MTU (1280, as
 * tailscaled's): at wg-quick's default 1420 it sent 11% fewer packets per byte, and that alone
 * made the tailnet pair look 10-25% slower.
 *
 * @module
 */
import { generatePrivateKey, publicKeyFrom } from "../src/crypto/x25519.ts";
import { formatWgKey } from "../src/key/wg_key.ts";
import type { Netns } from "../src/testbed/netns.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";
import { WarrenNode } from "../src/testbed/warren_node.ts";
import { TAILNET_MTU } from "../src/daemon/ts_node.ts";
import { median, pingTimes } from "./_ping.ts";

/** One figure for both pairs. */
export interface PairRow {
  /** What was measured. */
  metric: string;
  /** The tailnet pair's figure. */
  tailnet: number;
  /** The main-thread tailnet pair's figure. */
  tailnetPool: number;
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

/** Measures the pairs: `iperf` runs one figure from a client namespace to a server address. */
export async function tailnetAgainstWireguard(
  dir: string,
  iperf: (client: Netns, server: Netns, serverIp: string, args: string[]) => Promise<number>,
  pingRtt: (client: Netns, serverIp: string) => Promise<number>,
): Promise<PairRow[]> {
  const t = await Tailnet.create({ keepAliveSeconds: 10 });
  const stops: (() => Promise<unknown>)[] = [];
  try {
    const a = await t.addHost("ba"), b = await t.addHost("bb");
    const pa = await t.addHost("pa");
    await t.addHost("pb");
    await t.up("ba");
    await t.up("bb");
    const pool = { wrapper: ["env", "WARREN_DATAPLANE=pool"] };
    await t.up("pa", [], pool);
    await t.up("pb", [], pool);
    // The first address is the IPv4 one; the pool hosts hold only their tailnet node.
    const tsIpOf = async (host: string, tun: string[]) =>
      (JSON.parse((await t.warren(host, ["status", "--json", ...tun])).stdout)
        .addresses as string[])[0].split("/")[0];
    const tsIp = await tsIpOf("bb", []);
    const poolIp = await tsIpOf("pb", []);
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
      }\nAddress = ${addr}/24\nMTU = ${TAILNET_MTU}\nListenPort = 51900\n\n` +
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
    // Every pair past its handshakes, and both tailnet pairs on their direct paths.
    await pingRtt(a, "10.249.0.2");
    const deadline = Date.now() + 30_000;
    // Two nodes in ba, so status names the tailnet one's interface (the testbed's).
    const pathState = async (host: string, peerIp: string, tun: string[]) =>
      (JSON.parse((await t.warren(host, ["status", "--json", ...tun])).stdout)
        .peers as { addresses: string[]; pathState: string }[])
        .find((p) => p.addresses.some((x) => x.startsWith(`${peerIp}/`)))?.pathState;
    for (
      const [host, client, ip, tun] of [
        ["ba", a, tsIp, ["--tun", "warren0"]],
        ["pa", pa, poolIp, []],
      ] as const
    ) {
      while (await pathState(host, ip, [...tun]) !== "direct") {
        if (Date.now() > deadline) throw new Error(`${host}'s tailnet pair never went direct`);
        await pingRtt(client, ip);
      }
    }
    const pb = t.hosts.get("pb")!;
    const rows: PairRow[] = [];
    const all = async (metric: string, f: (c: Netns, s: Netns, ip: string) => Promise<number>) =>
      rows.push({
        metric,
        tailnet: await f(a, b, tsIp),
        tailnetPool: await f(pa, pb, poolIp),
        wireguard: await f(a, b, "10.249.0.2"),
      });
    await all("TCP 1 stream, a → b (Mbit/s)", (c, s, ip) => iperf(c, s, ip, []));
    await all("TCP 1 stream, b → a (Mbit/s)", (c, s, ip) => iperf(c, s, ip, ["-R"]));
    await all("ping RTT avg (ms)", (c, _s, ip) => pingRtt(c, ip));
    // Averages of 50 pings swing with this VM's noise; medians of 200, taken in turns, less.
    const times: number[][] = [[], [], []];
    const targets = [[a, tsIp], [pa, poolIp], [a, "10.249.0.2"]] as const;
    for (let round = 0; round < 4; round++) {
      for (const [i, [c, ip]] of targets.entries()) times[i].push(...await pingTimes(c, ip));
    }
    const [tn, tp, wg] = times.map(median);
    rows.push({
      metric: "ping RTT median, 4 × 50 (ms)",
      tailnet: tn,
      tailnetPool: tp,
      wireguard: wg,
    });
    return rows;
  } finally {
    for (const s of stops.reverse()) await s().catch(() => {});
    await t.close();
  }
}
