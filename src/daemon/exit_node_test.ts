import assert from "node:assert/strict";
import { emptyNetworkMap, type NetworkMap } from "../netmap/network_map.ts";
import type { Node } from "../netmap/tailcfg.ts";
import {
  ADVERTISE_AND_USE_ERROR,
  checkExitNodePrefs,
  ExitNodeControl,
  LAN_ACCESS_ALONE_ERROR,
  resolveExitNode,
} from "./exit_node.ts";
import { node } from "./_plan_test_util.ts";

const EXIT = (id: number, extra: Partial<Node> = {}) =>
  node(id, {
    AllowedIPs: [`100.64.0.${id}/32`, `fd7a:115c:a1e0::${id}/128`, "0.0.0.0/0", "::/0"],
    ...extra,
  });

function netmap(peers: Node[]): NetworkMap {
  return { ...emptyNetworkMap(), self: node(1), peers: new Map(peers.map((p) => [p.ID, p])) };
}

const nm = netmap([
  EXIT(2, { Hostinfo: { Hostname: "Gateway-Box" } }),
  node(3),
  EXIT(4, { Expired: true }),
]);

Deno.test("resolveExitNode() finds a peer by IP, base name, FQDN with or without dot, host name", () => {
  for (
    const t of [
      "100.64.0.2",
      "fd7a:115c:a1e0::2",
      "host2",
      "HOST2.tailnet.test",
      "host2.tailnet.test.",
      "gateway-box",
    ]
  ) {
    const r = resolveExitNode(t, nm);
    assert.equal(r.kind, "selected", t);
    assert.equal(r.kind === "selected" && r.node.ID, 2, t);
  }
  assert.deepEqual(resolveExitNode("", nm), { kind: "none" });
});

Deno.test("resolveExitNode() says why with tailscale's messages", () => {
  const reason = (t: string) => {
    const r = resolveExitNode(t, nm);
    return r.kind === "unavailable" ? r.reason : r.kind;
  };
  assert.equal(reason("100.64.0.9"), "no node found in netmap with IP 100.64.0.9");
  assert.equal(reason("100.64.0.3"), "node 100.64.0.3 is not advertising an exit node");
  assert.equal(reason("host3"), 'node "host3" is not advertising an exit node');
  assert.equal(
    reason("100.64.0.1"),
    "cannot use 100.64.0.1 as an exit node as it is a local IP address to this machine",
  );
  assert.equal(
    reason("nosuch"),
    'invalid value "nosuch" for --exit-node; must be IP or peer hostname',
  );
  assert.equal(
    reason("host4"),
    'invalid value "host4" for --exit-node; must be IP or peer hostname',
    "expired",
  );
});

Deno.test("checkExitNodePrefs() refuses offering and using at once, and LAN access alone", () => {
  assert.throws(
    () => checkExitNodePrefs({ exitNode: "host2", allowLanAccess: false }, true),
    { message: ADVERTISE_AND_USE_ERROR },
  );
  assert.throws(
    () => checkExitNodePrefs({ exitNode: "", allowLanAccess: true }, false),
    { message: LAN_ACCESS_ALONE_ERROR },
  );
  checkExitNodePrefs({ exitNode: "host2", allowLanAccess: true }, false);
});

Deno.test("ExitNodeControl re-resolves after set() and logs each change once", () => {
  const log: string[] = [];
  const c = new ExitNodeControl({
    prefs: { exitNode: "nosuch", allowLanAccess: false },
    tun: "warren0",
    advertisesExit: () => false,
    log: (l) => log.push(l),
  });
  assert.equal(c.resolve(nm), null);
  assert.equal(c.resolve(nm), null);
  assert.equal(log.length, 1);
  assert.match(log[0], /^exit node nosuch: invalid value .*; internet traffic is dropped/);
  assert.match(c.status().problem ?? "", /invalid value/);
  c.set({ exitNode: "host2" });
  assert.equal(c.resolve(nm), 2);
  assert.equal(log[1], "exit node: using host2.tailnet.test (100.64.0.2, fd7a:115c:a1e0::2)");
  assert.deepEqual(c.status().node?.stableId, "n2");
  assert.equal(c.status().problem, null);
  assert.throws(() => c.set({ exitNode: "", allowLanAccess: true }), {
    message: LAN_ACCESS_ALONE_ERROR,
  });
  assert.equal(c.prefs.exitNode, "host2", "a refused change changes nothing");
  c.set({ exitNode: "" });
  assert.equal(c.resolve(nm), null);
  assert.equal(log[2], "exit node: none");
  assert.equal(log.length, 3);
  let offers = true;
  const offering = new ExitNodeControl({
    prefs: { exitNode: "", allowLanAccess: false },
    tun: "warren0",
    advertisesExit: () => offers,
    log: () => {},
  });
  assert.throws(() => offering.set({ exitNode: "host2" }), { message: ADVERTISE_AND_USE_ERROR });
  offers = false; // `tun set --advertise-exit-node=false`, live: then using one is fine
  offering.set({ exitNode: "host2" });
  assert.equal(offering.prefs.exitNode, "host2");
});
