import assert from "node:assert/strict";
import { buildIpnStatus, WARN_ACCEPT_ROUTES_OFF } from "./ipnstate.ts";
import { assertSameShape, fixtureJson, NOT_DERIVABLE, TS_A_KEY, tsbView } from "./testdata.ts";

Deno.test("buildIpnStatus() matches tailscaled's status.json key for key and value for value", () => {
  const got = JSON.parse(JSON.stringify(buildIpnStatus(tsbView(), { peers: true })));
  assertSameShape(got, fixtureJson("status.json"), NOT_DERIVABLE);
});

Deno.test("buildIpnStatus() puts the keys in Go's struct order", () => {
  const got = buildIpnStatus(tsbView(), { peers: true });
  const want = fixtureJson("status.json") as Record<string, Record<string, unknown>>;
  assert.deepEqual(Object.keys(got), Object.keys(want));
  assert.deepEqual(Object.keys(got.Self), Object.keys(want.Self));
  const peer = (want.Peer as Record<string, object>)[TS_A_KEY];
  assert.deepEqual(Object.keys(got.Peer![TS_A_KEY]), Object.keys(peer));
});

Deno.test("buildIpnStatus() with peers: false matches status-peers-false.json", () => {
  const got = JSON.parse(JSON.stringify(buildIpnStatus(tsbView(), { peers: false })));
  assertSameShape(got, fixtureJson("status-peers-false.json"), NOT_DERIVABLE);
  assert.equal(got.Peer, null);
  assert.equal(got.User, null);
});

Deno.test("buildIpnStatus() with an exit node in use matches `tailscale status --json` then", () => {
  const live = {
    rxBytes: 348,
    txBytes: 428,
    lastHandshakeMs: Date.parse("2026-12-01T22:15:36.94895131Z"),
    lastWriteMs: Date.parse("2026-12-01T22:15:37.947915971Z"),
    curAddr: "10.98.1.2:41641",
    active: true,
    inMagicSock: true,
    inEngine: true,
  };
  const view = tsbView({ exitNodeId: "1", peers: new Map([[TS_A_KEY, live]]) });
  const got = JSON.parse(JSON.stringify(buildIpnStatus(view, { peers: true })));
  const want = JSON.parse(
    Deno.readTextFileSync(
      new URL(
        "../../../shared/fixtures/tailscaled-1.96.5-localapi/cli-status-json.txt",
        import.meta.url,
      ),
    ),
  );
  assertSameShape(got, want, NOT_DERIVABLE);
  assert.equal(got.Peer[TS_A_KEY].ExitNode, true);
  assert.deepEqual(got.ExitNodeStatus, {
    ID: "1",
    Online: true,
    TailscaleIPs: ["100.64.0.1/32", "fd7a:115c:a1e0::1/128"],
  });
});

Deno.test("buildIpnStatus() before any netmap has no tailnet, no peers and Go's empty values", () => {
  const st = buildIpnStatus(
    tsbView({
      netmap: null,
      backendState: "NeedsLogin",
      haveNodeKey: false,
      peers: new Map(),
      hostName: "box",
    }),
    { peers: true },
  );
  assert.equal(st.CurrentTailnet, null);
  assert.equal(st.Peer, null);
  assert.equal(st.User, null);
  assert.equal(st.TailscaleIPs, null);
  assert.equal(st.MagicDNSSuffix, "");
  assert.equal("HaveNodeKey" in st, false);
  assert.equal(st.Self.InNetworkMap, false);
  assert.equal(st.Self.HostName, "box");
  assert.equal(st.Self.Relay, "");
});

Deno.test("buildIpnStatus() warns as tailscaled does when peers offer routes and RouteAll is off", () => {
  assert.deepEqual(buildIpnStatus(tsbView({ routeAll: false }), { peers: false }).Health, [
    WARN_ACCEPT_ROUTES_OFF,
  ]);
  assert.deepEqual(buildIpnStatus(tsbView({ health: ["x"] }), { peers: false }).Health, ["x"]);
});

Deno.test("buildIpnStatus() leaves a netmap-only peer at zero counters, not in the engine", () => {
  const st = buildIpnStatus(tsbView({ peers: new Map() }), { peers: true });
  const a = st.Peer![TS_A_KEY];
  assert.equal(a.RxBytes, 0);
  assert.equal(a.LastHandshake, "0001-01-01T00:00:00Z");
  assert.equal(a.InEngine, false);
  assert.equal(a.InNetworkMap, true);
  assert.equal(a.Relay, "headscale");
});

Deno.test("buildIpnStatus() writes Peer keys sorted, as Go's encoding/json writes a map", () => {
  const nm = tsbView().netmap!;
  const a = [...nm.peers.values()][0];
  const peers = new Map(nm.peers);
  peers.set(99, { ...a, ID: 99, StableID: "99", Key: "nodekey:" + "00".repeat(32) });
  peers.set(98, { ...a, ID: 98, StableID: "98", Key: "nodekey:" + "ff".repeat(32) });
  const st = buildIpnStatus(tsbView({ netmap: { ...nm, peers } }), { peers: true });
  const keys = Object.keys(st.Peer!);
  assert.deepEqual(keys, [...keys].sort());
  assert.equal(keys.length, 3);
});
