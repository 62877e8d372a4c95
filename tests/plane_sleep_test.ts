/**
 * An idle tailnet node's Worker data plane falls asleep and the next packet wakes it, from
 * either side, with nothing lost: a peer's ping through the UDP socket, the node's own ping
 * through its TUN, MagicDNS answered meanwhile without waking it, counters carried over.
 * Sessions are shortened (`--debug-rekey-after 2`: rejected after 3 s) and the quiet time too
 * (`WARREN_PLANE_QUIET_MS`), so each sleep comes within seconds.
 */
import assert from "node:assert/strict";
import { namespaceSupport, type Netns } from "../src/testbed/netns.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";
import { testOrSkip } from "../src/testing/skip.ts";

const skip = await namespaceSupport();
const DNS = new URL("./testdata/dns_query.ts", import.meta.url).pathname;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

type Status = Awaited<ReturnType<Tailnet["status"]>>;
const addrOf = (st: Status) =>
  (st.addresses as string[]).find((a) => !a.includes(":"))!.split("/")[0];

async function ping(ns: Netns, dst: string): Promise<void> {
  const r = await ns.exec(["ping", "-c", "3", "-i", "0.2", "-W", "5", dst], { check: false });
  assert.equal(r.code, 0, `ping ${dst} from ${ns.name}: ${r.stdout}${r.stderr}`);
}

async function waitAsleep(t: Tailnet, host: string, asleep: boolean): Promise<Status> {
  const deadline = Date.now() + 40_000;
  for (;;) {
    const st = await t.status(host);
    if ((st.dataPlaneAsleep === true) === asleep) return st;
    if (Date.now() > deadline) {
      throw new Error(`${host}: data plane never ${asleep ? "slept" : "woke"}`);
    }
    await sleep(250);
  }
}

testOrSkip(import.meta, skip, {
  name: "an idle node's data plane sleeps, and a packet from either side wakes it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await Tailnet.create();
    try {
      const rekey = ["--debug-rekey-after", "2"];
      await t.up("alpha", rekey, { wrapper: ["env", "WARREN_PLANE_QUIET_MS=1500"] });
      await t.up("beta", rekey, { wrapper: ["env", "WARREN_PLANE_SLEEP=0"] });
      const a = t.hosts.get("alpha")!, b = t.hosts.get("beta")!;
      let stA = await t.status("alpha");
      for (let i = 0; stA.peers.length === 0 && i < 80; i++) {
        await sleep(250);
        stA = await t.status("alpha");
      }
      const stB = await t.status("beta");
      assert.equal(stA.dataPlane, "worker");

      // Nothing carried yet: the plane sleeps after the quiet time alone.
      await waitAsleep(t, "alpha", true);
      assert.match((await t.warren("alpha", ["status"])).stdout, /data plane: own thread \(asleep/);
      // MagicDNS is served on the main thread: a query leaves the plane asleep.
      const dns = await a.exec([
        Deno.execPath(),
        "run",
        "-A",
        DNS,
        "100.100.100.100",
        "beta.tailnet.test",
      ]);
      assert.equal(dns.stdout.trim(), `A ${addrOf(stB)}`);
      assert.equal((await t.status("alpha")).dataPlaneAsleep, true, "a DNS query did not wake it");

      // The peer's packets wake it (they arrive on the UDP socket or over DERP).
      await ping(b, addrOf(stA));
      const woken = await t.status("alpha");
      assert.notEqual(woken.dataPlaneAsleep, true);
      const rx1 = woken.peers[0].rxBytes as number;
      assert.ok(rx1 > 0);

      // Asleep again once the sessions expire; then its own traffic, read from the TUN, wakes it.
      const slept = await waitAsleep(t, "alpha", true);
      assert.ok((slept.peers[0].rxBytes as number) >= rx1, "counters survive the sleep");
      await ping(a, addrOf(stB));
      const again = await t.status("alpha");
      assert.notEqual(again.dataPlaneAsleep, true);
      assert.ok((again.peers[0].rxBytes as number) > rx1, "the new Worker's bytes add to the old");
      assert.ok((again.peers[0].txBytes as number) > 0);
    } finally {
      await t.close();
    }
  },
});
