import assert from "node:assert/strict";
import { resolveConfig } from "./config.ts";
import { buildFromChange, fullMapResponse } from "./mapper.ts";
import { checkApprovedRoutes } from "./routes.ts";
import { Tailnet } from "./tailnet.ts";
import type { Change, Json } from "./types.ts";

const DIR = new URL("./testdata/routes/", import.meta.url);
const fixture = (name: string): Json =>
  JSON.parse(Deno.readTextFileSync(new URL(name, DIR))) as Json;
const wire = (x: unknown): Json => JSON.parse(JSON.stringify(x));

/** ts-b's first map: its own node and ts-a as a peer, before any route. */
const FIRST_B = fixture("node2-2026-12-01T22-15-28.384536762-change.json");
/** ts-a's self update after `tailscale set --advertise-routes … --advertise-exit-node`. */
const SELF_A_ADVERTISED = fixture("node1-2026-12-01T22-15-31.081158186-self.json");
/** ts-b's view of that change. */
const PEER_A_ADVERTISED = fixture("node2-2026-12-01T22-15-31.080900032-change.json");
/** What each node got on `headscale nodes approve-routes -i 1 -r 10.98.8.0/24,0.0.0.0/0,::/0`. */
const APPROVED_TO_A = fixture("node1-2026-12-01T22-15-33.481360441-policy.json");
const APPROVED_TO_B = fixture("node2-2026-12-01T22-15-33.481068476-policy.json");

/** ts-a (node 1) and ts-b (node 2) as in the capture, both streaming; the changes it emits. */
async function captureTailnet(): Promise<{ t: Tailnet; changes: Change[] }> {
  const t = new Tailnet(
    resolveConfig(
      { baseDomain: "tslab.test", derp: { urls: ["http://10.98.0.1:8080"] } },
      "http://10.98.0.1:8080",
    ),
  );
  t.addPreAuthKey({ key: "k" });
  const a = (FIRST_B.Peers as Json[])[0], b = FIRST_B.Node as Json;
  for (const n of [a, b]) {
    const r = await t.register(
      { Version: 133, NodeKey: n.Key, Auth: { AuthKey: "k" }, Hostinfo: n.Hostinfo },
      n.Machine as string,
      new AbortController().signal,
    );
    assert.equal(r.status, 200);
  }
  for (const [id, n] of [[1, a], [2, b]] as const) {
    const node = t.node(id)!;
    t.applyMapRequest(node, { DiscoKey: n.DiscoKey, Endpoints: n.Endpoints, Hostinfo: n.Hostinfo });
    t.connect(node);
  }
  const changes: Change[] = [];
  t.subscribe((c) => changes.push(c));
  return { t, changes };
}

/** ts-a starts advertising what the capture's ts-a advertised. */
function advertise(t: Tailnet): Change {
  const hi = (SELF_A_ADVERTISED.Node as Json).Hostinfo as Json;
  const c = t.applyMapRequest(t.node(1)!, { Hostinfo: hi });
  assert.ok(c);
  t.emit(c);
  return c;
}

Deno.test("announced routes: in RoutableIPs only, no AllowedIPs or PrimaryRoutes yet", async () => {
  const { t } = await captureTailnet();
  const c = advertise(t);
  const self = wire(buildFromChange(t, 1, 133, c));
  const wantSelf = SELF_A_ADVERTISED.Node as Json;
  const gotSelf = self.Node as Json;
  assert.deepEqual(Object.keys(self), Object.keys(SELF_A_ADVERTISED));
  assert.deepEqual(Object.keys(gotSelf), Object.keys(wantSelf));
  assert.deepEqual(gotSelf.AllowedIPs, wantSelf.AllowedIPs);
  assert.deepEqual((gotSelf.Hostinfo as Json).RoutableIPs, ["0.0.0.0/0", "10.98.8.0/24", "::/0"]);
  const peer = (wire(buildFromChange(t, 2, 133, c)).PeersChanged as Json[])[0];
  const wantPeer = (PEER_A_ADVERTISED.PeersChanged as Json[])[0];
  assert.deepEqual(Object.keys(peer), Object.keys(wantPeer));
  assert.deepEqual(peer.AllowedIPs, wantPeer.AllowedIPs);
  assert.equal("PrimaryRoutes" in peer, false);
  const before = fixture("headscale-list-routes-before-approval.json") as unknown as Json[];
  const r = t.routesOf(1)!;
  assert.deepEqual(r.available_routes, before[0].available_routes);
  assert.deepEqual(r.approved_routes, []);
  assert.deepEqual(r.subnet_routes, []);
});

Deno.test("approved routes: a policy update, the peer's AllowedIPs and PrimaryRoutes as Headscale's", async () => {
  const { t, changes } = await captureTailnet();
  advertise(t);
  changes.length = 0;
  t.approveRoutes(1, ["10.98.8.0/24", "0.0.0.0/0", "::/0"]);
  assert.equal(changes.length, 1);
  const c = changes[0];

  // The router itself gets no self update, exactly as ts-a did not.
  const toA = wire(buildFromChange(t, 1, 133, c));
  assert.deepEqual(Object.keys(toA), Object.keys(APPROVED_TO_A));
  assert.deepEqual((toA.PeersChanged as Json[]).map((p) => p.ID), [2]);

  const toB = wire(buildFromChange(t, 2, 133, c));
  assert.deepEqual(Object.keys(toB), Object.keys(APPROVED_TO_B));
  const peer = (toB.PeersChanged as Json[])[0];
  const want = (APPROVED_TO_B.PeersChanged as Json[])[0];
  assert.deepEqual(Object.keys(peer), Object.keys(want));
  assert.deepEqual(peer.AllowedIPs, [
    "0.0.0.0/0",
    "10.98.8.0/24",
    "100.64.0.1/32",
    "::/0",
    "fd7a:115c:a1e0::1/128",
  ]);
  assert.deepEqual(peer.AllowedIPs, want.AllowedIPs);
  assert.deepEqual(peer.PrimaryRoutes, want.PrimaryRoutes);

  // The node itself, when next sent whole, carries them too (Headscale's tailNode for self).
  const self = wire(fullMapResponse(t, 1, 133).Node);
  assert.deepEqual(self.AllowedIPs, want.AllowedIPs);
  assert.deepEqual(self.PrimaryRoutes, ["10.98.8.0/24"]);
  // ts-b advertises nothing: its node stays as it was, no PrimaryRoutes key.
  assert.equal("PrimaryRoutes" in wire(fullMapResponse(t, 2, 133).Node), false);

  const after = fixture("headscale-list-routes-after-approval.json") as unknown as Json[];
  const r = t.routesOf(1)!;
  assert.deepEqual(r.available_routes, after[0].available_routes);
  assert.deepEqual(r.approved_routes, after[0].approved_routes);
  assert.deepEqual([...r.subnet_routes].sort(), [...(after[0].subnet_routes as string[])].sort());
  assert.deepEqual(r.primary_routes, ["10.98.8.0/24"]);
});

Deno.test("approved routes: only what is also announced is served; [] withdraws", async () => {
  const { t } = await captureTailnet();
  t.approveRoutes(1, ["10.98.8.0/24"]); // approved before it is announced: nothing yet
  assert.deepEqual(wire(fullMapResponse(t, 2, 133).Peers![0]).AllowedIPs, [
    "100.64.0.1/32",
    "fd7a:115c:a1e0::1/128",
  ]);
  advertise(t);
  const peer = () => wire(fullMapResponse(t, 2, 133).Peers![0]);
  assert.deepEqual(peer().PrimaryRoutes, ["10.98.8.0/24"]);
  assert.equal((peer().AllowedIPs as string[]).includes("0.0.0.0/0"), false);
  t.approveRoutes(1, []);
  assert.equal("PrimaryRoutes" in peer(), false);
  assert.deepEqual(t.routesOf(1)!.approved_routes, []);
});

Deno.test("primary routes: one router per prefix, the lowest online ID; offline loses it", async () => {
  const { t } = await captureTailnet();
  const hi = { ...((SELF_A_ADVERTISED.Node as Json).Hostinfo as Json) };
  t.applyMapRequest(t.node(1)!, { Hostinfo: hi });
  t.applyMapRequest(t.node(2)!, { Hostinfo: { ...hi, Hostname: "ts-b" } });
  t.approveRoutes(1, ["10.98.8.0/24"]);
  t.approveRoutes(2, ["10.98.8.0/24"]);
  assert.deepEqual(t.routesOf(1)!.primary_routes, ["10.98.8.0/24"]);
  assert.deepEqual(t.routesOf(2)!.primary_routes, []);
  t.node(1)!.online = false;
  assert.deepEqual(t.routesOf(1)!.primary_routes, []);
  assert.deepEqual(t.routesOf(2)!.primary_routes, ["10.98.8.0/24"]);
});

Deno.test("checkApprovedRoutes refuses what is not a canonical prefix", () => {
  assert.deepEqual(checkApprovedRoutes(["::/0", "0.0.0.0/0", "::/0"]), ["0.0.0.0/0", "::/0"]);
  assert.throws(() => checkApprovedRoutes(["10.0.0.1/24"]), /"10.0.0.1\/24" is not a canonical/);
  assert.throws(() => checkApprovedRoutes(["10.0.0.1"]), /not a canonical/);
  assert.throws(() => checkApprovedRoutes("10.0.0.0/24"), /must be an array/);
});
