/**
 * Status fixtures for the status page's tests: a tailnet node with a direct
 * and a DERP peer, and a wg-config node.
 *
 * @module
 */
import type { NodeStatus, PeerStatus } from "../daemon/status.ts";

/** A tailnet peer reached directly, online, with traffic; `over` changes any field. */
export function fakePeer(over: Partial<PeerStatus> = {}, nowMs = Date.now()): PeerStatus {
  return {
    publicKey: "nodekey:1111",
    name: "laptop.tail.ts.net",
    addresses: ["100.64.0.2/32", "fd7a:115c:a1e0::2/128"],
    online: true,
    path: "192.0.2.7:41641",
    pathState: "direct",
    latencyMs: 3.25,
    endpoint: "192.0.2.7:41641",
    allowedIps: ["100.64.0.2/32"],
    latestHandshake: Math.floor(nowMs / 1000) - 65,
    rxBytes: 1536,
    txBytes: 5 * 1024 * 1024,
    persistentKeepalive: 0,
    presharedKey: false,
    ...over,
  };
}

/** A running tailnet node with `peers`; `over` changes any field. */
export function fakeNode(peers: PeerStatus[], over: Partial<NodeStatus> = {}): NodeStatus {
  return {
    state: "Running",
    interface: "ts-corp",
    publicKey: "nodekey:0000",
    listenPort: 41641,
    addresses: ["100.64.0.1/32", "fd7a:115c:a1e0::1/128"],
    mtu: 1280,
    routes: ["100.64.0.2/32"],
    peers,
    drops: {},
    pid: 4242,
    tailnet: {
      controlUrl: "https://control.example",
      self: { name: "box.tail.ts.net", addresses: ["100.64.0.1/32"], nodeKey: "nodekey:0000" },
      homeDerp: 1,
      homeDerpLatencyMs: 12.5,
      derp: [
        { region: 1, connected: true, home: true, dropped: 0 },
        { region: 3, connected: true, home: false, dropped: 2 },
      ],
      skippedPeers: [{ name: "clash.tail.ts.net", reason: "address 100.64.0.9 is taken" }],
      filter: { accepted: 120, dropped: 3, byReason: { "no-rule": 3 } },
      magicDnsSuffix: "tail.ts.net",
    },
    ...over,
  };
}

/** A wg-quick style node: base64 keys, no names, no tailnet section. */
export function fakeWgNode(nowMs = Date.now()): NodeStatus {
  return {
    state: "Running",
    interface: "wg-office",
    publicKey: "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
    listenPort: 51820,
    addresses: ["10.8.0.2/24"],
    mtu: 1420,
    routes: ["10.8.0.0/24"],
    peers: [{
      publicKey: "HIgo9xNzJMWLKASShiTqIybxZ0U3wGLiUeJ1PKf8ykw=",
      endpoint: "203.0.113.5:51820",
      allowedIps: ["10.8.0.0/24"],
      latestHandshake: Math.floor(nowMs / 1000) - 20,
      rxBytes: 3 * 1024 * 1024 * 1024,
      txBytes: 999,
      persistentKeepalive: 25,
      presharedKey: true,
    }],
    drops: {},
    pid: 4242,
  };
}
