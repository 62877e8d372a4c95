/**
 * The node set changes while the control server is down (issue 9 item 1):
 * three warren nodes are up; control stops; one node is deleted from its
 * state and another registered; control comes back. A surviving node must
 * drop the deleted peer, its route and its MagicDNS name, and reach the node
 * added meanwhile — the first map of the new stream replaces the old netmap.
 * Then every other node goes the same way and the survivor, alone (Headscale
 * leaves `Peers` out), must drop them all.
 */
import assert from "node:assert/strict";
import { publicKeyFrom } from "../src/crypto/x25519.ts";
import { publicFromPrivate } from "../src/key/node_key.ts";
import { KeyState } from "../src/key/state.ts";
import { namespaceSupport } from "../src/testbed/netns.ts";
import { AUTH_KEY, Tailnet } from "../src/testbed/tailnet.ts";
import { testOrSkip } from "../src/testing/skip.ts";
import { ipv4Of, lookup, ping, routes, waitForgotten, waitPeers } from "./_tailnet_probes.ts";
import { editStoppedTailnet, registerOffline } from "./control/offline_admin.ts";

const skip = await namespaceSupport();

testOrSkip(import.meta, skip, {
  name:
    "a node deleted while control is down is forgotten after it returns, one added meanwhile is reachable, and no peers at all drops them all",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const t = await Tailnet.create({ keepAliveSeconds: 5 });
    const stateFile = `${t.dir}/control-state.json`;
    try {
      for (const h of ["alpha", "beta", "gamma"]) await t.up(h);
      const alpha = t.hosts.get("alpha")!;
      const st = await waitPeers(t, "alpha", ["beta.tailnet.test", "gamma.tailnet.test"]);
      const betaIp = ipv4Of(st, "beta.tailnet.test");
      const gammaIp = ipv4Of(st, "gamma.tailnet.test");
      assert.ok((await routes(alpha)).includes(`${gammaIp} `), "gamma is routed before");
      assert.equal(await lookup(alpha, "gamma.tailnet.test"), `A ${gammaIp}`);

      // Control goes down; gamma goes down and is deleted; delta is registered.
      await t.stop("control");
      await t.stop("node-gamma");
      const deltaDir = `${t.dir}/delta-state`;
      await Deno.mkdir(deltaDir);
      const delta = await KeyState.open(deltaDir);
      await editStoppedTailnet(stateFile, async (tn) => {
        // Registered before gamma goes, so it cannot take over gamma's address.
        await registerOffline(tn, {
          machineKey: publicKeyFrom(delta.machineKey),
          nodeKey: publicFromPrivate(delta.nodeKey),
          hostname: "delta",
          authKey: AUTH_KEY,
        });
        const g = tn.listNodes().find((n) => n.givenName === "gamma");
        assert.ok(g && tn.deleteNode(g.id), "gamma is in the stored state");
      });
      await t.startControl(5);

      await waitPeers(t, "alpha", ["beta.tailnet.test", "delta.tailnet.test"]);
      await waitForgotten(alpha, gammaIp, "gamma.tailnet.test");
      // delta starts with the identity registered while control was down (no auth key).
      await t.up("delta", ["--state-dir", deltaDir], { authKey: null });
      const st2 = await waitPeers(t, "alpha", ["beta.tailnet.test", "delta.tailnet.test"]);
      const deltaIp = ipv4Of(st2, "delta.tailnet.test");
      await ping(alpha, deltaIp);
      await ping(alpha, betaIp);
      assert.equal(await lookup(alpha, "delta.tailnet.test"), `A ${deltaIp}`);

      // Down again, and every other node is deleted: alpha's new full map has no Peers key.
      await t.stop("control");
      await t.stop("node-beta");
      await t.stop("node-delta");
      await editStoppedTailnet(stateFile, (tn) => {
        for (const n of tn.listNodes()) if (n.givenName !== "alpha") tn.deleteNode(n.id);
      });
      await t.startControl(5);
      await waitPeers(t, "alpha", []);
      await waitForgotten(alpha, betaIp, "beta.tailnet.test");
      await waitForgotten(alpha, deltaIp, "delta.tailnet.test");
      assert.equal((await t.status("alpha")).state, "Running");
    } catch (e) {
      await t.dumpLogs(3000);
      throw e;
    } finally {
      await t.close();
    }
  },
});
