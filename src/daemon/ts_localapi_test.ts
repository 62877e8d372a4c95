import assert from "node:assert/strict";
import { KeyState } from "../key/state.ts";
import { localApiHandler } from "../localapi/handler.ts";
import { fixtureJson } from "../localapi/testdata.ts";
import { LivePrefs, NO_EXIT_NODE_SUPPORT } from "./live_prefs.ts";
import { PrefsStore } from "./prefs.ts";
import type { NodeStatus } from "./status.ts";
import { tsLocalApiNode } from "./ts_localapi.ts";
import { fakePorts } from "./_live_prefs_test_util.ts";
import { emptyNetworkMap } from "../netmap/network_map.ts";
import { buildIpnStatus } from "../localapi/mod.ts";
import { node } from "./_plan_test_util.ts";
import type { ExitNodeStatus } from "./exit_node.ts";

/** tailscaled's LocalAPI over a node whose prefs are live (the running node's netmap left out). */
async function api() {
  const store = await PrefsStore.open(await KeyState.open("mem:"), { Hostname: "web" });
  const ports = fakePorts();
  const live = new LivePrefs(store, ports);
  const handler = localApiHandler(tsLocalApiNode({
    netmap: () => null,
    status: () =>
      ({ state: live.running ? "Running" : "Stopped", peers: [] }) as unknown as NodeStatus,
    endpoints: () => [],
    ping: () => Promise.resolve(null),
    options: { controlUrl: "http://control.test" },
    live,
    tun: true,
  }));
  const call = async (method: string, path: string, body?: unknown) => {
    const res = await handler(
      new Request(`http://local-tailscaled.sock/localapi/v0/${path}`, {
        method,
        body: body === undefined ? undefined : JSON.stringify(body),
      }),
    );
    const text = await res.text();
    return { status: res.status, text, json: () => JSON.parse(text) };
  };
  return { call, calls: ports.calls, live, handler };
}

Deno.test("GET prefs shows the node's live prefs in ipn.Prefs' shape", async () => {
  const { call } = await api();
  const res = await call("GET", "prefs");
  assert.equal(res.status, 200);
  const prefs = res.json();
  assert.deepEqual(Object.keys(prefs), Object.keys(fixtureJson("prefs.json") as object));
  assert.equal(prefs.Hostname, "web");
  assert.equal(prefs.ControlURL, "http://control.test");
  assert.equal(prefs.WantRunning, true);
  assert.equal(prefs.AdvertiseRoutes, null);
});

Deno.test("PATCH prefs applies the MaskedPrefs live and answers the new Prefs", async () => {
  const { call, calls } = await api();
  const res = await call("PATCH", "prefs", {
    RouteAll: true,
    RouteAllSet: true,
    AdvertiseRoutes: ["10.9.0.0/24"],
    AdvertiseRoutesSet: true,
    CorpDNS: true, // not Set: not changed
  });
  assert.equal(res.status, 200, res.text);
  assert.equal(res.json().RouteAll, true);
  assert.deepEqual(res.json().AdvertiseRoutes, ["10.9.0.0/24"]);
  assert.equal(res.json().CorpDNS, false);
  assert.deepEqual(calls.map(([n]) => n), [
    "updateHostinfo",
    "setAdvertisedRoutes",
    "setAcceptRoutes",
  ]);
  assert.equal((await call("GET", "prefs")).json().RouteAll, true);
});

Deno.test("PATCH prefs: an exit node is a one-line 400 until warren can use one; a bad route is tailscale's error", async () => {
  const { call, calls } = await api();
  const exit = await call("PATCH", "prefs", { ExitNodeID: "nX", ExitNodeIDSet: true });
  assert.equal(exit.status, 400);
  assert.deepEqual(exit.json(), { Error: NO_EXIT_NODE_SUPPORT });
  const route = await call("PATCH", "prefs", {
    AdvertiseRoutes: ["10.9.0.1/24"],
    AdvertiseRoutesSet: true,
  });
  assert.equal(route.status, 400);
  assert.deepEqual(route.json(), {
    Error: "10.9.0.1/24 has non-address bits set; expected 10.9.0.0/24",
  });
  assert.deepEqual(calls, []);
});

Deno.test("down, start and logout over the LocalAPI: Stopped, Running, NeedsLogin with LoggedOut prefs", async () => {
  const { call, calls } = await api();
  await call("PATCH", "prefs", { WantRunning: false, WantRunningSet: true });
  assert.equal((await call("GET", "status")).json().BackendState, "Stopped");
  assert.equal((await call("POST", "start", {})).status, 204);
  const running = (await call("GET", "status")).json();
  assert.equal(running.BackendState, "Running");
  assert.equal(running.HaveNodeKey, true);
  assert.deepEqual(calls.splice(0), [["setRunning", false], ["setRunning", true]]);
  assert.equal((await call("POST", "logout")).status, 204);
  const prefs = (await call("GET", "prefs")).json();
  assert.equal(prefs.LoggedOut, true);
  assert.equal(prefs.WantRunning, false);
  // Go's omitempty: no HaveNodeKey once the key is given up
  const st = (await call("GET", "status")).json();
  assert.equal("HaveNodeKey" in st, false);
  assert.deepEqual(calls.map(([n]) => n), ["setRunning", "logout"]);
  const again = await call("POST", "start", {});
  assert.equal(again.status, 500);
  assert.match(again.text, /logged out; log in again by restarting `warren tun up`/);
});

Deno.test("watch-ipn-bus follows the node's state: Running, then Stopped after tailscale down", async () => {
  const { handler, live } = await api();
  const ac = new AbortController();
  const res = await handler(
    new Request("http://local-tailscaled.sock/localapi/v0/watch-ipn-bus?mask=2", {
      signal: ac.signal,
    }),
  );
  assert.equal(res.status, 200);
  const lines = res.body!.pipeThrough(new TextDecoderStream()).getReader();
  assert.equal((await lines.read()).value, '{"Version":"warren","State":6}\n');
  await live.edit({ WantRunning: false });
  assert.equal((await lines.read()).value, '{"Version":"warren","State":4}\n');
  ac.abort();
  assert.equal((await lines.read()).done, true);
});

Deno.test("tsLocalApiNode() reports the exit node in use as tailscaled's ExitNodeID and ExitNodeStatus", async () => {
  const exit = node(2, {
    AllowedIPs: ["100.64.0.2/32", "fd7a:115c:a1e0::2/128", "0.0.0.0/0", "::/0"],
    Online: true,
  });
  const nm = { ...emptyNetworkMap(), self: node(1), peers: new Map([[2, exit]]) };
  const exitNode: ExitNodeStatus = {
    requested: "host2",
    allowLanAccess: true,
    node: { id: 2, stableId: "n2", name: "host2.tailnet.test", ips: ["100.64.0.2"], online: true },
    problem: null,
    routing: true,
    rules: [],
    lanDirect: [],
  };
  const store = await PrefsStore.open(await KeyState.open("mem:"), {});
  const api = tsLocalApiNode({
    netmap: () => nm,
    status: () => ({ state: "Running", peers: [] }) as unknown as NodeStatus,
    endpoints: () => [],
    ping: () => Promise.resolve(null),
    options: { controlUrl: "http://c" },
    live: new LivePrefs(store, fakePorts()),
    tun: true,
    exitNode: () => exitNode,
  });
  const prefs = api.prefs();
  assert.equal(prefs.ExitNodeID, "n2");
  assert.equal(prefs.ExitNodeAllowLANAccess, true);
  const st = buildIpnStatus(api.statusView(), { peers: true });
  assert.deepEqual(st.ExitNodeStatus, {
    ID: "n2",
    Online: true,
    TailscaleIPs: ["100.64.0.2/32", "fd7a:115c:a1e0::2/128"],
  });
});
