import assert from "node:assert/strict";
import type { Node } from "../netmap/tailcfg.ts";
import { nodeByKey, parseWhoisAddr, peerForIp, whoisNode } from "./lookup.ts";
import { TS_A_KEY, tsbNetmap } from "./testdata.ts";

const node = (over: Partial<Node>): Node => ({
  ID: 5,
  StableID: "5",
  Name: "box.tslab.test.",
  User: 1,
  Key: "nodekey:" + "cd".repeat(32),
  Addresses: ["100.64.0.5/32"],
  ...over,
});

Deno.test("parseWhoisAddr() takes IPs, IP:port, [v6]:port and node keys, and nothing else", () => {
  assert.deepEqual(parseWhoisAddr("100.64.0.1"), { ip: "100.64.0.1" });
  assert.deepEqual(parseWhoisAddr("100.64.0.1:0"), { ip: "100.64.0.1" });
  assert.deepEqual(parseWhoisAddr("fd7a:115c:a1e0::1"), { ip: "fd7a:115c:a1e0::1" });
  assert.deepEqual(parseWhoisAddr("[fd7a:115c:a1e0::1]:22"), { ip: "fd7a:115c:a1e0::1" });
  assert.deepEqual(parseWhoisAddr(TS_A_KEY), { nodeKey: TS_A_KEY });
  for (const bad of ["100.64.0.1:70000", "host:22", "nodekey:12", "1.2.3.4.5", "", "[::1]"]) {
    assert.equal(parseWhoisAddr(bad), null, bad);
  }
});

Deno.test("whoisNode() computes names as tailcfg's InitDisplayNames does", () => {
  const same = whoisNode(node({ Hostinfo: { Hostname: "box" } }), "tslab.test");
  assert.equal(same.ComputedName, "box");
  assert.equal(same.ComputedNameWithHost, "box");
  const diff = whoisNode(node({ Hostinfo: { Hostname: "My Laptop" } }), "tslab.test");
  assert.equal(diff.ComputedNameWithHost, "box (my-laptop)");
  const foreign = whoisNode(node({ Name: "box.other.net." }), "tslab.test");
  assert.equal(foreign.ComputedName, "box.other.net");
  const nameless = whoisNode(node({ Name: "", Hostinfo: { Hostname: "h" } }), "tslab.test");
  assert.equal(nameless.ComputedName, "h");
  assert.equal(whoisNode(node({ Name: "" }), "x").ComputedName, "nodekey:" + "cd".repeat(32));
});

Deno.test("whoisNode() drops the legacy DERP string and zero times, keeps Go's key order", () => {
  const n = whoisNode(
    node({ DERP: "127.3.3.40:999", KeyExpiry: "0001-01-01T00:00:00Z", Expired: true }),
    "tslab.test",
  );
  assert.equal("DERP" in n, false);
  assert.equal("KeyExpiry" in n, false);
  const keys = Object.keys(n);
  assert.ok(keys.indexOf("ComputedNameWithHost") < keys.indexOf("Expired"));
});

Deno.test("peerForIp() prefers an exact address, then the most specific route in use", () => {
  const nm = tsbNetmap();
  const all = { routeAll: true, exitNodeId: "1" };
  const a = peerForIp(nm, "100.64.0.1", { routeAll: false, exitNodeId: "" });
  assert.ok(a && !a.self && a.node.Key === TS_A_KEY);
  const lan = peerForIp(nm, "10.98.8.2", all);
  assert.ok(lan && !lan.self && lan.node.Key === TS_A_KEY);
  const internet = peerForIp(nm, "1.1.1.1", all); // ts-a is the exit node
  assert.ok(internet && !internet.self && internet.node.Key === TS_A_KEY);
  assert.deepEqual(peerForIp(nm, "100.64.0.2", all), { self: true });
  assert.equal(peerForIp({ ...nm, peers: new Map() }, "1.1.1.1", all), null);
  assert.equal(nodeByKey(nm, nm.self!.Key), nm.self);
});

Deno.test("peerForIp() ignores subnet routes without RouteAll and /0 of a peer not in use", () => {
  const nm = tsbNetmap();
  assert.equal(peerForIp(nm, "10.98.8.2", { routeAll: false, exitNodeId: "1" })?.self, false);
  assert.equal(peerForIp(nm, "1.1.1.1", { routeAll: true, exitNodeId: "" }), null);
  assert.equal(peerForIp(nm, "10.98.8.2", { routeAll: false, exitNodeId: "" }), null);
});
