/**
 * An idle tailnet node's Worker data plane falls asleep and the next packet wakes it, from
 * either side, with nothing lost: a peer's ping through the UDP socket, the node's own ping
 * through its TUN, MagicDNS answered meanwhile without waking it, counters and sessions carried
 * over (no handshake after a wake). The quiet time is shortened (`WARREN_PLANE_QUIET_MS`), so
 * each sleep comes about ten seconds after a ping: once the keepalive owed for it went out.
 */
import assert from "node:assert/strict";
import { namespaceSupport, waitFor } from "../src/testbed/netns.ts";
import { Tailnet } from "../src/testbed/tailnet.ts";
import { testOrSkip } from "../src/testing/skip.ts";
import { lookup, ping, type Status, waitPeers } from "./_tailnet_probes.ts";

const skip = await namespaceSupport();

const addrOf = (st: Status) =>
  (st.addresses as string[]).find((a) => !a.includes(":"))!.split("/")[0];

async function waitAsleep(t: Tailnet, host: string, asleep: boolean): Promise<Status> {
  let st: Status | null = null;
  await waitFor(`${host}'s data plane to ${asleep ? "sleep" : "wake"}`, async () => {
    st = await t.status(host);
    if ((st.dataPlaneAsleep === true) === asleep) return true;
    await new Promise((r) => setTimeout(r, 250));
    return false;
  }, 40_000);
  return st!;
}

testOrSkip(import.meta, skip, {
  name:
    "an idle node's data plane sleeps, keeps its sessions, and a packet from either side wakes it",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await Tailnet.create();
    try {
      await t.up("alpha", [], { wrapper: ["env", "WARREN_PLANE_QUIET_MS=1500"] });
      await t.up("beta", [], { wrapper: ["env", "WARREN_PLANE_SLEEP=0"] });
      const a = t.hosts.get("alpha")!, b = t.hosts.get("beta")!;
      const stA = await waitPeers(t, "alpha", ["beta.tailnet.test"]);
      const stB = await t.status("beta");
      assert.equal(stA.dataPlane, "worker");

      // Nothing carried yet: the plane sleeps after the quiet time alone.
      await waitAsleep(t, "alpha", true);
      assert.match((await t.warren("alpha", ["status"])).stdout, /data plane: own thread \(asleep/);
      // MagicDNS is served on the main thread: a query leaves the plane asleep.
      assert.equal(await lookup(a, "beta.tailnet.test"), `A ${addrOf(stB)}`);
      assert.equal((await t.status("alpha")).dataPlaneAsleep, true, "a DNS query did not wake it");

      // The peer's packets wake it (they arrive on the UDP socket or over DERP): a handshake.
      await ping(b, addrOf(stA));
      const woken = await t.status("alpha");
      assert.notEqual(woken.dataPlaneAsleep, true);
      const rx1 = woken.peers[0].rxBytes as number;
      const handshake = woken.peers[0].latestHandshake as number;
      assert.ok(rx1 > 0 && handshake > 0);

      // Asleep again once no keepalive is owed, its session kept; its own traffic, read from the
      // TUN, wakes it and goes out on that session: no new handshake on either side.
      const slept = await waitAsleep(t, "alpha", true);
      assert.ok((slept.peers[0].rxBytes as number) >= rx1, "counters survive the sleep");
      await ping(a, addrOf(stB));
      const again = await t.status("alpha");
      assert.notEqual(again.dataPlaneAsleep, true);
      assert.ok((again.peers[0].rxBytes as number) > rx1, "the new Worker's bytes add to the old");
      assert.ok((again.peers[0].txBytes as number) > 0);
      assert.equal(again.peers[0].latestHandshake, handshake, "alpha went on with its session");

      // And once more from the peer's side, through the socket.
      await waitAsleep(t, "alpha", true);
      await ping(b, addrOf(stA));
      const third = await t.status("alpha");
      assert.notEqual(third.dataPlaneAsleep, true);
      assert.equal(third.peers[0].latestHandshake, handshake, "beta's session still works");
      // Every packet that woke it was held for the next Worker: none past the held queue.
      assert.equal((third.drops as Record<string, number>).heldOverflow, 0);
      assert.equal((await t.status("beta")).peers[0].latestHandshake, handshake);
    } finally {
      await t.close();
    }
  },
});
