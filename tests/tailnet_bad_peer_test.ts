/**
 * A netmap with bad peers in it is applied for every good peer: control hands
 * a node a peer with a low-order node key (no WireGuard session is possible
 * with it) and a peer claiming another node's address, alongside a new good
 * peer. The node skips the two (and says why in `tun status`), reaches the
 * good one by ping and MagicDNS, and keeps its route to the node whose address
 * was claimed.
 */
import assert from "node:assert/strict";
import { generatePrivateKey, publicKeyFrom } from "../src/crypto/x25519.ts";
import { parseNodePublic, publicFromPrivate } from "../src/key/node_key.ts";
import { LOW_ORDER as LOW_ORDER_KEY } from "../src/daemon/_plan_test_util.ts";
import { KeyState } from "../src/key/state.ts";
import { namespaceSupport } from "../src/testbed/netns.ts";
import { AUTH_KEY, Tailnet } from "../src/testbed/tailnet.ts";
import { testOrSkip } from "../src/testing/skip.ts";
import { ipv4Of, lookup, ping, waitPeers } from "./_tailnet_probes.ts";
import { editStoppedTailnet, registerOffline } from "./control/offline_admin.ts";

const skip = await namespaceSupport();

/** A point of order 8 on Curve25519 (see the planner's tests), as raw key bytes. */
const LOW_ORDER = parseNodePublic(LOW_ORDER_KEY);

testOrSkip(import.meta, skip, {
  name:
    "peers with a low-order key or a stolen address are skipped; the rest of the netmap applies",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await Tailnet.create({ keepAliveSeconds: 5 });
    const stateFile = `${t.dir}/control-state.json`;
    try {
      for (const h of ["alpha", "beta"]) await t.up(h);
      const alpha = t.hosts.get("alpha")!;
      const betaIp = ipv4Of(
        await waitPeers(t, "alpha", ["beta.tailnet.test"]),
        "beta.tailnet.test",
      );

      await t.stop("control");
      const carolDir = `${t.dir}/carol-state`;
      await Deno.mkdir(carolDir);
      const carol = await KeyState.open(carolDir);
      await editStoppedTailnet(stateFile, async (tn) => {
        // Registered first, so a node that stops at the first bad peer never gets to carol.
        await registerOffline(tn, {
          machineKey: publicKeyFrom(generatePrivateKey()),
          nodeKey: LOW_ORDER,
          hostname: "mallory",
          authKey: AUTH_KEY,
        });
        const thief = await registerOffline(tn, {
          machineKey: publicKeyFrom(generatePrivateKey()),
          nodeKey: publicKeyFrom(generatePrivateKey()),
          hostname: "thief",
          authKey: AUTH_KEY,
        });
        thief.ipv4 = betaIp;
        await registerOffline(tn, {
          machineKey: publicKeyFrom(carol.machineKey),
          nodeKey: publicFromPrivate(carol.nodeKey),
          hostname: "carol",
          authKey: AUTH_KEY,
        });
      });
      await t.startControl(5);
      const st = await waitPeers(t, "alpha", [
        "beta.tailnet.test",
        "carol.tailnet.test",
        "mallory.tailnet.test",
        "thief.tailnet.test",
      ]);
      const skipped = (st.tailnet as { skippedPeers: { name: string; reason: string }[] })
        .skippedPeers.map((s) => `${s.name}: ${s.reason}`).sort();
      assert.deepEqual(skipped, [
        "mallory.tailnet.test: node key is low-order (no shared secret is possible)",
        `thief.tailnet.test: address ${betaIp}/32 is already held by beta.tailnet.test`,
      ]);

      await t.up("carol", ["--state-dir", carolDir], { authKey: null });
      const carolIp = ipv4Of(await t.status("alpha"), "carol.tailnet.test");
      await ping(alpha, carolIp);
      assert.equal(await lookup(alpha, "carol.tailnet.test"), `A ${carolIp}`);
      assert.equal(await lookup(alpha, "mallory.tailnet.test"), "RCODE 3");
      await ping(alpha, betaIp); // still beta's, not the thief's
    } catch (e) {
      await t.dumpLogs(3000);
      throw e;
    } finally {
      await t.close();
    }
  },
});
