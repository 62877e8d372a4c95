import assert from "node:assert/strict";
import { generatePrivateKey, publicKeyFrom } from "../../src/crypto/x25519.ts";
import { generateNodePrivate } from "../../src/key/node_key.ts";
import type { MapResponse } from "../../src/netmap/tailcfg.ts";
import { editStoppedTailnet, registerOffline } from "./offline_admin.ts";
import { TestControlServer, type TestControlServerOptions } from "./server.ts";
import { makeNode, nextMessage, openStream } from "./_test_util.ts";

const fast = {
  keepAliveMs: 60_000,
  keepAliveJitterMs: 0,
  offlineGraceMs: 50,
  derp: { urls: ["http://127.0.0.1:3340"] },
};

const peerNames = (m: MapResponse) => (m.Peers ?? []).map((p) => p.Name).sort();

Deno.test("a server restarted on an edited state file serves the new node set: deleted gone, added there, none = no Peers key", async () => {
  const dir = await Deno.makeTempDir();
  const stateFile = `${dir}/control.json`;
  const opts: TestControlServerOptions = { ...fast, stateFile, authKeys: ["k"] };
  let srv = await TestControlServer.start(opts);
  const port = Number(new URL(srv.url).port);
  const [a, b, c] = ["node-a", "node-b", "node-c"].map((h) => makeNode(srv, h));
  const aborts: AbortController[] = [];
  try {
    for (const n of [a, b, c]) {
      await n.client.register({ authKey: "k", nodeKey: n.nodeKey, hostinfo: n.hostinfo });
    }
    const s1 = openStream(a);
    aborts.push(s1.abort);
    assert.deepEqual(peerNames(await nextMessage(s1.it)), [
      "node-b.tailnet.test.",
      "node-c.tailnet.test.",
    ]);
    await srv.close();

    // Down: node-c is deleted, node-d registered.
    const d = {
      machineKey: publicKeyFrom(generatePrivateKey()),
      nodeKey: publicKeyFrom(generateNodePrivate()),
    };
    await editStoppedTailnet(stateFile, async (t) => {
      assert.ok(t.deleteNode(3));
      const added = await registerOffline(t, { ...d, hostname: "node-d", authKey: "k" });
      assert.equal(added.ipv4, "100.64.0.3", "node-c's address is free again");
    });
    srv = await TestControlServer.start({ ...opts, port });
    a.client.reset();
    const s2 = openStream(a);
    aborts.push(s2.abort);
    const full = await nextMessage(s2.it);
    assert.deepEqual(peerNames(full), ["node-b.tailnet.test.", "node-d.tailnet.test."]);
    await srv.close();

    // Down again: everyone but node-a is deleted. Headscale then sends no Peers key at all.
    await editStoppedTailnet(stateFile, (t) => {
      for (const n of t.peersOf(1)) t.deleteNode(n.id);
    });
    srv = await TestControlServer.start({ ...opts, port });
    a.client.reset();
    const s3 = openStream(a);
    aborts.push(s3.abort);
    const alone = await nextMessage(s3.it);
    assert.ok(alone.Node, "a full map");
    assert.equal("Peers" in alone, false, "no Peers key when the node has no peers");
  } finally {
    for (const ab of aborts) ab.abort();
    await srv.close();
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("firstMapDelayMs holds the full map back without deltas before it; shufflePeers keeps the set", async () => {
  const srv = await TestControlServer.start({
    ...fast,
    authKeys: ["k"],
    firstMapDelayMs: 300,
    shufflePeers: true,
  });
  const nodes = ["a", "b", "c", "d", "e"].map((h) => makeNode(srv, `node-${h}`));
  const aborts: AbortController[] = [];
  try {
    for (const n of nodes) {
      await n.client.register({ authKey: "k", nodeKey: n.nodeKey, hostinfo: n.hostinfo });
    }
    const s = openStream(nodes[0]);
    aborts.push(s.abort);
    const first = nextMessage(s.it);
    // A change while the first message is held: it must be in the full map, not before it.
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(srv.nodes()[0].streams, 0, "not yet counted as streaming");
    srv.deleteNode(5);
    const full = await first;
    assert.ok(full.Node, "the first message is the full map");
    assert.deepEqual(peerNames(full), [
      "node-b.tailnet.test.",
      "node-c.tailnet.test.",
      "node-d.tailnet.test.",
    ]);
  } finally {
    for (const ab of aborts) ab.abort();
    await srv.close();
  }
});
