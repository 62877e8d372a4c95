import assert from "node:assert/strict";
import type { NodeStatus } from "../daemon/status.ts";
import { DEFAULT_CONTROL_URL, nodeOptions, summarizeStatus } from "./options.ts";

Deno.test("nodeOptions: userspace, no LocalAPI in the runtime dir, no DNS, any UDP port, mem: state", () => {
  const o = nodeOptions({ authKey: "k", hostname: "app" });
  assert.equal(o.userspace, true);
  assert.equal(o.localApi, false);
  assert.equal(o.acceptDns, false);
  assert.equal(o.port, 0);
  assert.equal(o.stateDir, "mem:");
  assert.equal(o.controlUrl, DEFAULT_CONTROL_URL);
  assert.equal(o.authKey, "k");
  assert.equal(o.hostname, "app");
  const p = nodeOptions({
    port: 41641,
    stateDir: "/var/lib/app",
    derpHttp: true,
    localApiSocket: "/tmp/s",
  });
  assert.deepEqual([p.port, p.stateDir, p.plainDerp, p.socket], [
    41641,
    "/var/lib/app",
    true,
    "/tmp/s",
  ]);
});

Deno.test("summarizeStatus: own name and bare addresses, peers by name", () => {
  const full = {
    state: "Running",
    interface: "userspace-networking",
    publicKey: "",
    listenPort: 1,
    addresses: ["100.64.0.3/32", "fd7a:115c:a1e0::3/128"],
    mtu: 1280,
    routes: [],
    drops: {},
    pid: 1,
    peers: [{
      publicKey: "nodekey:1",
      name: "peer.tailnet.test",
      addresses: ["100.64.0.4/32"],
      online: true,
      path: "derp-1",
      endpoint: null,
      allowedIps: [],
      latestHandshake: 0,
      rxBytes: 0,
      txBytes: 0,
      persistentKeepalive: 0,
      presharedKey: false,
    }],
    tailnet: {
      controlUrl: "",
      self: { name: "app.tailnet.test", addresses: ["100.64.0.3/32"], nodeKey: "" },
      homeDerp: 1,
      homeDerpLatencyMs: null,
      derp: [],
      skippedPeers: [],
      filter: null,
      magicDnsSuffix: "tailnet.test",
    },
  } satisfies NodeStatus;
  assert.deepEqual(summarizeStatus(full), {
    state: "Running",
    name: "app.tailnet.test",
    addresses: ["100.64.0.3"],
    magicDnsSuffix: "tailnet.test",
    peers: [{ name: "peer.tailnet.test", addresses: ["100.64.0.4"], online: true, path: "derp-1" }],
  });
});
