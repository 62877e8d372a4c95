import assert from "node:assert/strict";
import { resolveConfig } from "./config.ts";
import { buildFromChange, fullMapResponse, goTime, tailNode } from "./mapper.ts";
import { Tailnet } from "./tailnet.ts";
import type { Json } from "./types.ts";
import { testOrSkip } from "../../src/testing/skip.ts";

const FIXTURES = new URL("./testdata/", import.meta.url);

function fixture(node: string, name: string): Json {
  return JSON.parse(Deno.readTextFileSync(new URL(`${node}/${name}`, FIXTURES)));
}

function fixtureSkip(): string | null {
  try {
    Deno.statSync(FIXTURES);
    return null;
  } catch {
    return `no captured map responses in ${FIXTURES.pathname}`;
  }
}

/** The object as it goes on the wire (undefined fields dropped). */
function wire(x: unknown): Json {
  return JSON.parse(JSON.stringify(x));
}

const NODE_A = fixture("node2", "2026-11-22T00-07-04.746076037-change.json");

/** A tailnet holding the fixture's node-a (with endpoints and home DERP) and node-b. */
async function fixtureTailnet(): Promise<Tailnet> {
  const t = new Tailnet(
    resolveConfig(
      { baseDomain: "tslab.test", derp: { urls: ["http://10.98.0.1:8080"] } },
      "http://10.98.0.1:8080",
    ),
  );
  t.addPreAuthKey({ key: "k" });
  const peerA = (NODE_A.Peers as Json[])[0];
  const selfB = NODE_A.Node as Json;
  for (const n of [peerA, selfB]) {
    const r = await t.register(
      { Version: 133, NodeKey: n.Key, Auth: { AuthKey: "k" }, Hostinfo: n.Hostinfo },
      n.Machine as string,
      new AbortController().signal,
    );
    assert.equal(r.status, 200);
  }
  const a = t.node(1)!;
  t.applyMapRequest(a, {
    DiscoKey: peerA.DiscoKey,
    Endpoints: peerA.Endpoints,
    Hostinfo: peerA.Hostinfo,
  });
  t.connect(a);
  t.applyMapRequest(t.node(2)!, { DiscoKey: selfB.DiscoKey, Hostinfo: selfB.Hostinfo });
  t.connect(t.node(2)!);
  return t;
}

testOrSkip(import.meta, fixtureSkip(), {
  name: "fullMapResponse has exactly the keys of Headscale 0.28's first map",
  fn: async () => {
    const t = await fixtureTailnet();
    const full = wire(fullMapResponse(t, 2, 133));
    assert.deepEqual(Object.keys(full), Object.keys(NODE_A));
    assert.deepEqual(Object.keys(full.DERPMap as Json), Object.keys(NODE_A.DERPMap as Json));
    const peer = (full.Peers as Json[])[0];
    const want = (NODE_A.Peers as Json[])[0];
    assert.deepEqual(Object.keys(peer), Object.keys(want));
    for (
      const k of [
        "ID",
        "StableID",
        "Name",
        "Key",
        "Machine",
        "DiscoKey",
        "Addresses",
        "AllowedIPs",
        "Endpoints",
        "DERP",
        "HomeDERP",
        "Hostinfo",
        "Cap",
        "Online",
        "MachineAuthorized",
        "CapMap",
      ]
    ) {
      assert.deepEqual(peer[k], want[k], k);
    }
    // Node-b has no endpoints or home DERP yet: DERP "127.3.3.40:0", no HomeDERP/Endpoints keys.
    assert.deepEqual(Object.keys(full.Node as Json), Object.keys(NODE_A.Node as Json));
    const dns = full.DNSConfig as Json, wantDns = NODE_A.DNSConfig as Json;
    assert.deepEqual(Object.keys(dns), Object.keys(wantDns));
    assert.deepEqual(Object.keys(dns.Routes as Json), Object.keys(wantDns.Routes as Json));
    assert.deepEqual(dns.Domains, wantDns.Domains);
    assert.deepEqual(full.PacketFilters, NODE_A.PacketFilters);
    assert.deepEqual(full.UserProfiles, [{ ID: 1, LoginName: "test", DisplayName: "test" }]);
    assert.equal(full.Domain, NODE_A.Domain);
    t.close();
  },
});

testOrSkip(import.meta, fixtureSkip(), {
  name: "deltas match the fixture kinds: self update, online patch, policy on deletion",
  fn: async () => {
    const t = await fixtureTailnet();
    const self = fixture("node2", "2026-11-22T00-07-05.542847998-self.json");
    const change = { reason: "node-changed", originNode: 2, peersChanged: [2] };
    assert.deepEqual(Object.keys(wire(buildFromChange(t, 2, 133, change))), Object.keys(self));
    const toPeer = wire(buildFromChange(t, 1, 133, change));
    assert.deepEqual(Object.keys(toPeer), ["PeersChanged", "UserProfiles", "ControlTime"]);
    const online = fixture("node2", "2026-11-22T00-07-05.542950881-change.json");
    const onlineDelta = wire(buildFromChange(t, 2, 133, {
      reason: "online",
      patches: [{ NodeID: 2, Online: true }],
    }));
    assert.deepEqual(onlineDelta.PeersChangedPatch, online.PeersChangedPatch);
    const removal = fixture("node1", "2026-11-22T00-07-21.541768717-policy.json");
    const c = { reason: "node-removed", peersRemoved: [3], policy: true };
    assert.deepEqual(Object.keys(wire(buildFromChange(t, 1, 133, c))), Object.keys(removal));
    assert.equal(buildFromChange(t, 1, 133, { reason: "none" }), null);
    t.close();
  },
});

Deno.test("tailNode omits zero fields like Go's omitempty and flags expired keys", async () => {
  const t = new Tailnet(resolveConfig({}, "http://127.0.0.1:1"));
  t.addPreAuthKey({ key: "k" });
  await t.register(
    {
      Version: 145,
      NodeKey: "nodekey:" + "11".repeat(32),
      Auth: { AuthKey: "k" },
      Hostinfo: { Hostname: "x" },
    },
    "mkey:" + "22".repeat(32),
    new AbortController().signal,
  );
  const n = t.node(1)!;
  const tn = tailNode(n, 145, t.config) as unknown as Json;
  for (
    const k of ["DiscoKey", "Endpoints", "HomeDERP", "KeyExpiry", "Online", "LastSeen", "Expired"]
  ) {
    assert.equal(k in JSON.parse(JSON.stringify(tn)), false, k);
  }
  assert.equal(tn.DERP, "127.3.3.40:0");
  assert.equal(tn.Name, "x.tailnet.test.");
  n.expiry = new Date(Date.now() - 1000);
  const exp = tailNode(n, 145, t.config) as unknown as Json;
  assert.equal(exp.Expired, true);
  assert.equal(exp.MachineAuthorized, false);
  assert.equal(goTime(new Date(Date.UTC(2026, 0, 2, 3, 4, 5, 0))), "2026-01-02T03:04:05Z");
  t.close();
});

Deno.test("register rejects a bad key and an old version the way Headscale does", async () => {
  const t = new Tailnet(resolveConfig({}, "http://127.0.0.1:1"));
  const sig = new AbortController().signal;
  const nk = "nodekey:" + "33".repeat(32), mk = "mkey:" + "44".repeat(32);
  const bad = await t.register({ Version: 145, NodeKey: nk, Auth: { AuthKey: "nope" } }, mk, sig);
  assert.equal(bad.status, 200);
  assert.equal((bad.body as Json).Error, "invalid pre auth key");
  const old = await t.register({ Version: 112, NodeKey: nk, Auth: { AuthKey: "nope" } }, mk, sig);
  assert.equal(old.status, 400);
  const garbage = await t.register({ Version: 145, NodeKey: "nodekey:zz" }, mk, sig);
  assert.match(String((garbage.body as Json).Error), /invalid NodeKey/);
  t.close();
});

testOrSkip(import.meta, fixtureSkip(), {
  name: "fullMapResponse for a node alone leaves Peers out, as Headscale 0.28 did for node 1",
  fn: () => {
    const alone = fixture("node1", "2026-11-22T00-07-02.743165785-change.json");
    const t = new Tailnet(resolveConfig({ derp: { urls: ["http://10.98.0.1:8080"] } }, "http://x"));
    t.addPreAuthKey({ key: "k" });
    const self = alone.Node as Json;
    return t.register(
      { Version: 133, NodeKey: self.Key, Auth: { AuthKey: "k" }, Hostinfo: self.Hostinfo },
      self.Machine as string,
      new AbortController().signal,
    ).then(() => {
      const full = wire(fullMapResponse(t, 1, 133));
      assert.deepEqual(Object.keys(full), Object.keys(alone));
      assert.equal("Peers" in full, false);
    });
  },
});
