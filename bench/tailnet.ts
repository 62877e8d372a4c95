/**
 * Tailnet benchmark: two warren nodes behind their own NAT routers, a hub
 * with the coordination server and `warren tun derp`. Prints the time from
 * `tun up` to the first packet across, the time to a direct path, and TCP
 * throughput over the direct path against the same over DERP (UDP between
 * the NATs blocked).
 *
 *   deno task bench:tailnet [--seconds 5]
 *
 * @module
 */
import { parseArgs } from "node:util";
import { exitUnlessReady } from "./_needs.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";

const { values } = parseArgs({
  args: Deno.args,
  options: { seconds: { type: "string", default: "5" } },
});
const SECONDS = Number(values.seconds);
await exitUnlessReady({ commands: ["iperf3", "nft"] });
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

const t = await Tailnet.create({ keepAliveSeconds: 10 });
try {
  await t.addHostBehindNat("alpha");
  await t.addHostBehindNat("beta");
  await t.up("alpha");
  const alphaIp = ((await t.status("alpha")).addresses as string[])[0].split("/")[0];
  const beta = t.hosts.get("beta")!, alpha = t.hosts.get("alpha")!;

  const t0 = performance.now();
  await t.up("beta", [], { wait: false });
  let firstPacket = NaN;
  while (performance.now() - t0 < 30_000) {
    const r = await beta.exec(["ping", "-c", "1", "-W", "1", alphaIp], { check: false });
    if (r.code === 0) {
      firstPacket = performance.now() - t0;
      break;
    }
  }
  let direct = NaN;
  while (performance.now() - t0 < 60_000) {
    const st = await t.status("beta");
    if (st.peers[0]?.pathState === "direct") {
      direct = performance.now() - t0;
      break;
    }
    await sleep(50);
  }

  const iperf = async (): Promise<number> => {
    const srv = alpha.spawn(["iperf3", "-s", "-1", "-B", alphaIp], { stdout: "null" });
    await sleep(300);
    try {
      const out = await beta.exec(["iperf3", "-c", alphaIp, "-t", `${SECONDS}`, "-J"]);
      return JSON.parse(out.stdout).end.sum_received.bits_per_second / 1e6;
    } finally {
      await srv.status;
      await srv.stderr.cancel();
    }
  };
  const directMbit = await iperf();
  const pathDirect = (await t.status("beta")).peers[0].path;
  await t.blockUdpBetweenNats(true);
  while ((await t.status("beta")).peers[0].pathState !== "relay-only") await sleep(200);
  const derpMbit = await iperf();
  const pathDerp = (await t.status("beta")).peers[0].path;
  await t.blockUdpBetweenNats(false);

  console.log(
    `\nwarren tailnet benchmark (two nodes behind NAT, ${Deno.build.arch}, ${navigator.hardwareConcurrency} cores)`,
  );
  console.log(`tun up → first packet across (ping)      ${(firstPacket / 1000).toFixed(2)} s`);
  console.log(`tun up → direct path                     ${(direct / 1000).toFixed(2)} s`);
  console.log(`TCP 1 stream over the direct path (${pathDirect})  ${directMbit.toFixed(0)} Mbit/s`);
  console.log(`TCP 1 stream over DERP (${pathDerp})           ${derpMbit.toFixed(0)} Mbit/s`);
  console.log(`ratio direct / DERP                      ${(directMbit / derpMbit).toFixed(2)}`);
} finally {
  await t.close();
}
