import assert from "node:assert/strict";
import type { PeerStatus } from "../daemon/status.ts";
import { peersFromNodeStatus } from "./node_status.ts";

const peer = (over: Partial<PeerStatus>): PeerStatus => ({
  publicKey: "nodekey:" + "ab".repeat(32),
  path: "10.98.1.2:41641",
  endpoint: null,
  allowedIps: ["100.64.0.1/32"],
  latestHandshake: 1_000,
  rxBytes: 348,
  txBytes: 428,
  persistentKeepalive: 0,
  presharedKey: false,
  ...over,
});

const status = (peers: PeerStatus[]) => ({
  state: "Running" as const,
  interface: "ts0",
  publicKey: "",
  listenPort: 0,
  addresses: [],
  mtu: 1280,
  routes: [],
  peers,
  drops: {},
  pid: 1,
});

Deno.test("peersFromNodeStatus() turns a direct path into CurAddr and a recent handshake into Active", () => {
  const m = peersFromNodeStatus(status([peer({})]), 1_060_000);
  assert.deepEqual(m.get("nodekey:" + "ab".repeat(32)), {
    rxBytes: 348,
    txBytes: 428,
    lastHandshakeMs: 1_000_000,
    lastWriteMs: 0,
    curAddr: "10.98.1.2:41641",
    active: true,
    inMagicSock: true,
    inEngine: true,
  });
});

Deno.test("peersFromNodeStatus(): DERP has no CurAddr; no path or an old handshake is not active", () => {
  const derp = peersFromNodeStatus(status([peer({ path: "derp-999" })]), 1_000_000);
  assert.equal([...derp.values()][0].curAddr, "");
  assert.equal([...derp.values()][0].active, true);
  const none = peersFromNodeStatus(status([peer({ path: "none" })]), 1_000_000);
  assert.equal([...none.values()][0].active, false);
  const old = peersFromNodeStatus(status([peer({})]), 1_000_000 + 181_000);
  assert.equal([...old.values()][0].active, false);
  const never = peersFromNodeStatus(status([peer({ latestHandshake: 0 })]), 5);
  assert.equal([...never.values()][0].active, false);
});

Deno.test("peersFromNodeStatus() skips wg-config peers (base64 keys)", () => {
  assert.equal(peersFromNodeStatus(status([peer({ publicKey: "abc=" })]), 0).size, 0);
});
