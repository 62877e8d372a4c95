/**
 * Direct paths through real NAT: nodes behind their own NAT router
 * namespaces (nftables masquerade) start on DERP, find each other with STUN
 * and disco and go direct; when UDP between the NATs is blocked they fall
 * back to DERP while a TCP transfer keeps running, and go direct again when
 * it is unblocked. A node behind a symmetric NAT stays on DERP and works.
 */
import assert from "node:assert/strict";
import { namespaceSupport, type Netns, run } from "../src/testbed/netns.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";
import { transfer } from "../src/testbed/transfer.ts";
import { testOrSkip } from "../src/testing/skip.ts";

const skip = (await namespaceSupport()) ??
  ((await run(["sh", "-c", "command -v nft"], { check: false })).code !== 0
    ? "nft (nftables) is not installed"
    : null);

const MB = 1024 * 1024;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Status = Awaited<ReturnType<Tailnet["status"]>>;
const v4 = (st: Status) => (st.addresses as string[])[0].split("/")[0];

/** Polls until `peer`'s path state at `host` is one of `states`; returns the ms it took. */
async function waitPathState(
  t: Tailnet,
  host: string,
  peer: string,
  states: string[],
  ms: number,
): Promise<number> {
  const started = Date.now();
  let last = "";
  while (Date.now() - started < ms) {
    const st = await t.status(host);
    const p = st.peers.find((x) => x.name === `${peer}.tailnet.test`);
    last = `${p?.pathState} ${p?.path}`;
    if (p && states.includes(p.pathState as string)) return Date.now() - started;
    await sleep(100);
  }
  throw new Error(`${host}→${peer} not ${states} after ${ms} ms (last: ${last})`);
}

async function ping(ns: Netns, dst: string): Promise<void> {
  const r = await ns.exec(["ping", "-c", "3", "-i", "0.2", "-W", "3", dst], { check: false });
  assert.equal(r.code, 0, `ping ${dst}: ${r.stdout}`);
}

testOrSkip(import.meta, skip, {
  name:
    "Nodes behind NAT go direct, fall back to DERP when UDP is blocked mid-transfer, and recover",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await Tailnet.create({ keepAliveSeconds: 5 });
    try {
      await t.addHostBehindNat("alpha");
      await t.addHostBehindNat("beta");
      const started = Date.now();
      await t.up("alpha");
      await t.up("beta");
      const a = t.hosts.get("alpha")!, b = t.hosts.get("beta")!;
      const stB = await t.status("beta");
      const stA = await t.status("alpha");
      // Traffic starts over DERP and triggers discovery; the path goes direct.
      await ping(a, v4(stB));
      await waitPathState(t, "alpha", "beta", ["direct"], 30_000);
      console.log(`nat_test: direct after ${Date.now() - started} ms from the first tun up`);
      const direct = (await t.status("alpha")).peers[0];
      assert.match(
        direct.path as string,
        /^10\.80\.\d+\.2:\d+$/,
        "the path is the peer's NAT mapping",
      );

      // 16 MB at 1 MB/s from alpha to beta while UDP between the NATs is cut and restored.
      const { sent, received } = await transfer(a, b, v4(stB), 5401, 16 * MB, {
        rate: MB,
        during: async () => {
          await sleep(2000);
          await t.blockUdpBetweenNats(true);
          const fellBack = await waitPathState(t, "alpha", "beta", ["relay-only"], 20_000);
          console.log(`nat_test: relay-only ${fellBack} ms after UDP was blocked`);
          assert.ok(
            fellBack <= 10_000 + 3_000,
            `relay-only within the degraded timeout (${fellBack} ms)`,
          );
          await ping(a, v4(stB));
          await t.blockUdpBetweenNats(false);
          const recovered = await waitPathState(t, "alpha", "beta", ["direct"], 40_000);
          console.log(`nat_test: direct again ${recovered} ms after UDP was unblocked`);
        },
      });
      assert.equal(received, sent, "the TCP transfer survived the path changes intact");
      assert.match(sent, new RegExp(`^${16 * MB} [0-9a-f]{64}$`));

      // warren tun ping reports the direct path.
      const pingOut = (await t.warren("alpha", ["ping", "beta", "-c", "5"])).stdout;
      assert.match(
        pingOut,
        /pong from beta\.tailnet\.test \(100\.64\.\d+\.\d+\) via 10\.80\.\d+\.2:\d+ in/,
      );

      // A node behind a symmetric NAT: peers' pings can't reach its per-destination mappings.
      await t.addHostBehindNat("gamma", { symmetric: true });
      await t.up("gamma");
      const g = t.hosts.get("gamma")!;
      const stG = await t.status("gamma");
      await ping(a, v4(stG));
      await ping(g, v4(stA));
      await sleep(8000);
      const toGamma = (await t.status("alpha")).peers.find((p) => p.name === "gamma.tailnet.test")!;
      assert.match(
        toGamma.path as string,
        /^derp-900$/,
        `gamma stays on DERP (${toGamma.pathState})`,
      );
      await ping(a, v4(stG));

      // netcheck from inside a NAT: UDP works, the mapped address is the router's, and whether
      // the mapping varies by destination tells the two kinds of NAT apart.
      const nc = JSON.parse((await t.warren("alpha", ["netcheck", "--json"])).stdout);
      assert.equal(nc.udp, true);
      assert.ok(
        nc.endpoints.some((e: { addr: string; type: number }) =>
          e.type === 2 && e.addr.startsWith("10.80.")
        ),
      );
      assert.equal(nc.preferredDerp, 900);
      // Two STUN servers (one per hub address) see the same mapping behind the ordinary NAT…
      assert.equal(nc.mappingVariesByDestIp, false);
      // …and different ones behind the symmetric NAT.
      const ncG = JSON.parse((await t.warren("gamma", ["netcheck", "--json"])).stdout);
      assert.equal(ncG.mappingVariesByDestIp, true);
    } catch (e) {
      await t.dumpLogs(3000);
      throw e;
    } finally {
      await t.close();
    }
  },
});
