import assert from "node:assert/strict";
import { emptyNetworkMap } from "../netmap/network_map.ts";
import { buildIpnStatus } from "../localapi/mod.ts";
import { tsLocalApiNode } from "./ts_localapi.ts";
import { node } from "./_plan_test_util.ts";
import type { NodeStatus } from "./status.ts";
import type { ExitNodeStatus } from "./exit_node.ts";

Deno.test("tsLocalApiNode() reports the exit node in use as tailscaled's ExitNodeID and ExitNodeStatus", () => {
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
  const api = tsLocalApiNode({
    netmap: () => nm,
    status: () => ({ state: "Running", peers: [] }) as unknown as NodeStatus,
    endpoints: () => [],
    ping: () => Promise.resolve(null),
    options: { controlUrl: "http://c", acceptRoutes: false, acceptDns: false },
    stop: () => {},
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
