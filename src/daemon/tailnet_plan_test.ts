import assert from "node:assert/strict";
import { formatPrefix, parsePrefix, prefixContains } from "../net/ip.ts";
import type { Node } from "../netmap/tailcfg.ts";
import { TailnetPlanner } from "./tailnet_plan.ts";
import { AllowedIps } from "../wireguard/allowed_ips.ts";
import { KEY, LOW_ORDER, node } from "./_plan_test_util.ts";

function planTailnet(
  self: Node,
  peers: Node[],
  opts: { acceptRoutes: boolean },
  exitNodeId: number | null = null,
) {
  return new TailnetPlanner(opts).plan({ self, peers, exitNodeId });
}

Deno.test("TailnetPlanner routes each peer's own addresses and reads HomeDERP", () => {
  const plan = planTailnet(node(1), [
    node(2, { HomeDERP: 900 }),
    node(3, { DERP: "127.3.3.40:901" }),
  ], {
    acceptRoutes: false,
  });
  assert.deepEqual(plan.addresses.map(formatPrefix), ["100.64.0.1/32", "fd7a:115c:a1e0::1/128"]);
  assert.deepEqual(plan.peers.map((p) => [p.name, p.homeDerp]), [
    ["host2.tailnet.test", 900],
    ["host3.tailnet.test", 901],
  ]);
  assert.deepEqual(plan.routes, [
    "100.64.0.2/32",
    "100.64.0.3/32",
    "fd7a:115c:a1e0::2/128",
    "fd7a:115c:a1e0::3/128",
  ]);
});

Deno.test("TailnetPlanner adds advertised subnets only with acceptRoutes", () => {
  const peer = node(2, {
    AllowedIPs: ["100.64.0.2/32", "fd7a:115c:a1e0::2/128", "192.168.50.0/24"],
  });
  const without = planTailnet(node(1), [peer], { acceptRoutes: false });
  assert.ok(!without.routes.includes("192.168.50.0/24"));
  const withRoutes = planTailnet(node(1), [peer], { acceptRoutes: true });
  assert.ok(withRoutes.routes.includes("192.168.50.0/24"));
  assert.ok(withRoutes.peers[0].allowedIps.map(formatPrefix).includes("192.168.50.0/24"));
});

Deno.test("TailnetPlanner skips expired peers and peers with bad keys", () => {
  const plan = planTailnet(node(1), [node(2, { Expired: true }), node(3, { Key: "nodekey:zz" })], {
    acceptRoutes: false,
  });
  assert.equal(plan.peers.length, 0);
});

Deno.test("TailnetPlanner skips each kind of bad peer with a reason and keeps every good one", () => {
  const plan = planTailnet(node(1), [
    node(2),
    node(3, { Key: LOW_ORDER }),
    node(4, { Key: "nodekey:zz" }),
    node(5, { AllowedIPs: ["100.64.0.5/32", "10.0.0.0/33"] }),
    node(6, { Addresses: ["100.64.0.2/32"] }), // node 2's address
    node(7, { Addresses: ["100.64.0.1/32"] }), // ours
    node(8, { Key: KEY(2) }), // node 2's key
    node(9, { Addresses: ["100.64.0.0/24"] }),
    node(10, { Key: KEY(1) }), // our own key
    node(11),
  ], { acceptRoutes: true });
  assert.deepEqual(plan.peers.map((p) => p.id), [2, 11]);
  assert.deepEqual(plan.skipped.map((s) => [s.id, s.reason]), [
    [3, "node key is low-order (no shared secret is possible)"],
    [4, "node key does not parse"],
    [5, 'prefix "10.0.0.0/33" does not parse'],
    [6, "address 100.64.0.2/32 is already held by host2.tailnet.test"],
    [7, "address 100.64.0.1/32 is already held by this node"],
    [8, "node key is this node's or another peer's"],
    [9, "address 100.64.0.0/24 is not a single address"],
    [10, "node key is this node's or another peer's"],
  ]);
  assert.deepEqual(plan.routes, [
    "100.64.0.11/32",
    "100.64.0.2/32",
    "fd7a:115c:a1e0::11/128",
    "fd7a:115c:a1e0::2/128",
  ]);
});

Deno.test("TailnetPlanner plans the same peers whatever order control lists them in", () => {
  const peers = [node(4), node(2, { Addresses: ["100.64.0.9/32"] }), node(9)];
  const a = planTailnet(node(1), peers, { acceptRoutes: false });
  const b = planTailnet(node(1), [...peers].reverse(), { acceptRoutes: false });
  assert.deepEqual(a, b);
  // The lower node ID keeps a contested address, as a deterministic rule.
  assert.deepEqual(a.skipped.map((s) => s.id), [9]);
});

Deno.test("TailnetPlanner routes no peer's /0 while no exit node is selected", () => {
  const exit = node(2, {
    AllowedIPs: ["100.64.0.2/32", "fd7a:115c:a1e0::2/128", "0.0.0.0/0", "::/0", "10.1.0.0/16"],
  });
  const plan = planTailnet(node(1), [exit], { acceptRoutes: true });
  const allowed = plan.peers[0].allowedIps.map(formatPrefix);
  assert.ok(!allowed.includes("0.0.0.0/0") && !allowed.includes("::/0"), `${allowed}`);
  assert.ok(allowed.includes("10.1.0.0/16"));
  assert.equal(plan.dropped.length, 2);
});

const EXIT_ROUTES = ["0.0.0.0/0", "::/0"];
const offering = (id: number, extra: string[] = []) =>
  node(id, {
    AllowedIPs: [`100.64.0.${id}/32`, `fd7a:115c:a1e0::${id}/128`, ...EXIT_ROUTES, ...extra],
    Endpoints: [`10.77.0.${id}:41641`],
  });

Deno.test("TailnetPlanner gives the /0s to the selected exit node only, with or without acceptRoutes", () => {
  for (const acceptRoutes of [false, true]) {
    const plan = planTailnet(node(1), [offering(2), offering(3, ["10.3.0.0/16"])], {
      acceptRoutes,
    }, 3);
    const [two, three] = plan.peers.map((p) => p.allowedIps.map(formatPrefix));
    assert.deepEqual(
      two,
      ["100.64.0.2/32", "fd7a:115c:a1e0::2/128"],
      `acceptRoutes ${acceptRoutes}`,
    );
    assert.ok(EXIT_ROUTES.every((r) => three.includes(r)), `${three}`);
    assert.equal(three.includes("10.3.0.0/16"), acceptRoutes);
    assert.deepEqual(plan.exitNode, { id: 3, name: "host3.tailnet.test" });
    // The exit routes go in table 52 (exit_routing.ts), not in main with the peer routes.
    assert.ok(!plan.routes.some((r) => r.endsWith("/0")), `${plan.routes}`);
    // The exit node's endpoints stay: warren's own UDP is marked past the exit routes.
    assert.deepEqual(plan.peers[1].endpoints, ["10.77.0.3:41641"]);
  }
  const none = planTailnet(node(1), [offering(2)], { acceptRoutes: true }, 9);
  assert.equal(none.exitNode, null);
});

Deno.test("TailnetPlanner: a peer offering exit that is not selected cannot claim other sources", () => {
  // What WireGuard accepts from a peer is a source inside its allowed IPs (the device's
  // cryptokey routing); an internet source is accepted only from the selected exit node.
  const plan = planTailnet(node(1), [offering(2), offering(3)], { acceptRoutes: true }, 2);
  const table = new AllowedIps<number>();
  for (const p of plan.peers) for (const a of p.allowedIps) table.insert(a, p.id);
  const internet = parsePrefix("198.51.100.7/32").ip;
  assert.equal(table.lookupIp(internet), 2, "the selected exit node may carry internet sources");
  assert.equal(table.lookupIp(parsePrefix("100.64.0.3/32").ip), 3);
  const spoofer = plan.peers.find((p) => p.id === 3)!;
  assert.ok(!spoofer.allowedIps.some((a) => prefixContains(a, internet)));
});

Deno.test("TailnetPlanner gives a subnet advertised twice to the lower node ID only", () => {
  const a = node(2, { AllowedIPs: ["100.64.0.2/32", "10.9.0.0/24"] });
  const b = node(3, { AllowedIPs: ["100.64.0.3/32", "10.9.0.0/24"] });
  const plan = planTailnet(node(1), [b, a], { acceptRoutes: true });
  assert.deepEqual(plan.peers.map((p) => p.allowedIps.map(formatPrefix)), [
    ["100.64.0.2/32", "10.9.0.0/24"],
    ["100.64.0.3/32"],
  ]);
  assert.deepEqual(plan.dropped, [
    "host3.tailnet.test: 10.9.0.0/24: already routed to host2.tailnet.test",
  ]);
});

Deno.test("TailnetPlanner puts the self node's approved routes in selfRoutes, sorted", () => {
  // ts-a as Headscale 0.28 builds it after approve-routes (fixtures/headscale-0.28-routes).
  const self = node(1, {
    AllowedIPs: ["0.0.0.0/0", "10.98.8.0/24", "100.64.0.1/32", "::/0", "fd7a:115c:a1e0::1/128"],
    PrimaryRoutes: ["10.98.8.0/24"],
  });
  const plan = planTailnet(self, [], { acceptRoutes: false });
  assert.deepEqual(plan.selfRoutes.map(formatPrefix), ["0.0.0.0/0", "10.98.8.0/24", "::/0"]);
  assert.deepEqual(plan.addresses.map(formatPrefix), ["100.64.0.1/32", "fd7a:115c:a1e0::1/128"]);
  const plain = planTailnet(node(1, { AllowedIPs: ["100.64.0.1/32", "bogus"] }), [], {
    acceptRoutes: false,
  });
  assert.deepEqual(plain.selfRoutes, []);
});

Deno.test("TailnetPlanner leaves out endpoints inside a subnet routed into the tunnel", () => {
  // A router's LAN address is one of its endpoints (ts-a's 10.98.8.1 in the capture).
  const router = node(2, {
    AllowedIPs: ["100.64.0.2/32", "10.98.8.0/24"],
    Endpoints: ["10.98.1.2:41641", "10.98.8.1:41641"],
  });
  const other = node(3, { Endpoints: ["10.98.8.7:41641", "[fd00::1]:41641", "junk"] });
  const accepted = planTailnet(node(1), [router, other], { acceptRoutes: true });
  assert.deepEqual(accepted.peers.map((p) => p.endpoints), [
    ["10.98.1.2:41641"],
    ["[fd00::1]:41641", "junk"],
  ]);
  const plain = planTailnet(node(1), [router, other], { acceptRoutes: false });
  assert.deepEqual(plain.peers[0].endpoints, ["10.98.1.2:41641", "10.98.8.1:41641"]);
});
