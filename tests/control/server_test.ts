import assert from "node:assert/strict";
import { ControlError } from "../../src/control/errors.ts";
import { formatNodePublic } from "../../src/key/node_key.ts";
import { TestControlServer } from "./server.ts";
import { makeNode, nextMessage, openStream, waitForMessage } from "./_test_util.ts";

const fast = {
  keepAliveMs: 60_000,
  keepAliveJitterMs: 0,
  offlineGraceMs: 50,
  derp: { urls: ["http://127.0.0.1:3340"] },
};

Deno.test("register over Noise: a good pre-auth key is accepted, a bad one gets Error", async () => {
  const srv = await TestControlServer.start({ ...fast, authKeys: ["good-key"] });
  const a = makeNode(srv, "node-a");
  const b = makeNode(srv, "node-b");
  try {
    const r = await a.client.register({
      authKey: "good-key",
      nodeKey: a.nodeKey,
      hostinfo: a.hostinfo,
    });
    assert.equal(r.MachineAuthorized, true);
    assert.equal(r.AuthURL, "");
    assert.equal(r.User.DisplayName, "test");
    await assert.rejects(
      b.client.register({ authKey: "wrong", nodeKey: b.nodeKey, hostinfo: b.hostinfo }),
      (e: ControlError) => e.kind === "auth" && /invalid pre auth key/.test(e.message),
    );
    const nodes = srv.nodes();
    assert.equal(nodes.length, 1);
    assert.equal(nodes[0].ipv4, "100.64.0.1");
    assert.equal(nodes[0].ipv6, "fd7a:115c:a1e0::1");
    assert.equal(nodes[0].fqdn, "node-a.tailnet.test.");
    assert.equal(nodes[0].nodeKey, formatNodePublic(a.nodeKey));
  } finally {
    a.client.close();
    b.client.close();
    await srv.close();
  }
});

Deno.test("map stream: full map, a joining peer, online and endpoint deltas, removal", async () => {
  const srv = await TestControlServer.start({ ...fast, authKeys: ["k"] });
  const a = makeNode(srv, "node-a");
  const b = makeNode(srv, "node-b");
  let sa: ReturnType<typeof openStream> | undefined;
  let sb: ReturnType<typeof openStream> | undefined;
  try {
    await a.client.register({ authKey: "k", nodeKey: a.nodeKey, hostinfo: a.hostinfo });
    sa = openStream(a);
    const full = await nextMessage(sa.it);
    assert.equal(full.Node?.Name, "node-a.tailnet.test.");
    assert.equal(full.Node?.Online, true);
    assert.equal("Peers" in full, false, "no Peers key when there are none (as Headscale)");
    assert.deepEqual(Object.keys(full.DERPMap?.Regions ?? {}), ["900"]);
    assert.equal(full.DERPMap?.Regions?.["900"]?.Nodes?.[0]?.DERPPort, 3340);
    assert.equal(full.DNSConfig?.Proxied, true);
    assert.deepEqual(full.DNSConfig?.Domains, ["tailnet.test"]);
    assert.equal(full.Domain, "127.0.0.1");
    assert.deepEqual(full.PacketFilters?.base?.[0]?.SrcIPs, ["*"]);
    assert.equal(full.UserProfiles?.[0]?.LoginName, "test");

    await b.client.register({ authKey: "k", nodeKey: b.nodeKey, hostinfo: b.hostinfo });
    const joined = await waitForMessage(sa.it, (m) => (m.PeersChanged?.length ?? 0) > 0);
    assert.equal(joined.PeersChanged?.[0]?.Name, "node-b.tailnet.test.");
    assert.deepEqual(joined.PeersChanged?.[0]?.Addresses, [
      "100.64.0.2/32",
      "fd7a:115c:a1e0::2/128",
    ]);

    sb = openStream(b);
    const fullB = await nextMessage(sb.it);
    assert.equal(fullB.Peers?.length, 1);
    assert.equal(fullB.Peers?.[0]?.Name, "node-a.tailnet.test.");
    const online = await waitForMessage(
      sa.it,
      (m) => m.PeersChangedPatch?.some((p) => p?.NodeID === 2 && p.Online === true) ?? false,
    );
    assert.ok(online.ControlTime);

    await b.client.liteUpdate({
      nodeKey: b.nodeKey,
      discoKey: b.discoKey,
      hostinfo: b.hostinfo,
      endpoints: ["192.0.2.7:41641"],
    });
    const eps = await waitForMessage(
      sa.it,
      (m) => m.PeersChangedPatch?.some((p) => p?.Endpoints) ?? false,
    );
    assert.deepEqual(eps.PeersChangedPatch?.[0], { NodeID: 2, Endpoints: ["192.0.2.7:41641"] });
    // B itself gets a self update carrying its new endpoints.
    const self = await waitForMessage(sb.it, (m) => m.Node?.Endpoints !== undefined);
    assert.deepEqual(self.Node?.Endpoints, ["192.0.2.7:41641"]);

    assert.ok(srv.deleteNode(2));
    const removed = await waitForMessage(sa.it, (m) => m.PeersRemoved !== undefined);
    assert.deepEqual(removed.PeersRemoved, [2]);
    assert.ok(removed.PacketFilters, "deletion comes as a policy change, as in the fixture");
    await assert.rejects(waitForMessage(sb.it, () => false, 3000), /ended|broke/);
  } finally {
    sa?.abort.abort();
    sb?.abort.abort();
    a.client.close();
    b.client.close();
    await srv.close();
  }
});

Deno.test("an idle map stream gets KeepAlive messages at the configured period", async () => {
  const srv = await TestControlServer.start({ ...fast, keepAliveMs: 100, authKeys: ["k"] });
  const a = makeNode(srv, "a");
  let s: ReturnType<typeof openStream> | undefined;
  try {
    await a.client.register({ authKey: "k", nodeKey: a.nodeKey, hostinfo: a.hostinfo });
    s = openStream(a, { Compress: undefined });
    const full = await nextMessage(s.it);
    assert.ok(full.Node);
    const ka = await waitForMessage(s.it, (m) => m.KeepAlive === true, 3000);
    assert.deepEqual(ka, { KeepAlive: true });
  } finally {
    s?.abort.abort();
    a.client.close();
    await srv.close();
  }
});
