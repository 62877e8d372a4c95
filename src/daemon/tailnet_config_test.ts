import assert from "node:assert/strict";
import { formatPrefix } from "../net/ip.ts";
import type { Node } from "../netmap/tailcfg.ts";
import { diffRoutes, planTailnet } from "./tailnet_config.ts";

const KEY = (n: number) => "nodekey:" + n.toString(16).padStart(2, "0").repeat(32);

function node(id: number, extra: Partial<Node> = {}): Node {
  return {
    ID: id,
    StableID: `n${id}`,
    Name: `host${id}.tailnet.test.`,
    User: 1,
    Key: KEY(id),
    Addresses: [`100.64.0.${id}/32`, `fd7a:115c:a1e0::${id}/128`],
    ...extra,
  };
}

Deno.test("planTailnet() routes each peer's own addresses and reads HomeDERP", () => {
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

Deno.test("planTailnet() adds advertised subnets only with acceptRoutes", () => {
  const peer = node(2, {
    AllowedIPs: ["100.64.0.2/32", "fd7a:115c:a1e0::2/128", "192.168.50.0/24"],
  });
  const without = planTailnet(node(1), [peer], { acceptRoutes: false });
  assert.ok(!without.routes.includes("192.168.50.0/24"));
  const withRoutes = planTailnet(node(1), [peer], { acceptRoutes: true });
  assert.ok(withRoutes.routes.includes("192.168.50.0/24"));
  assert.ok(withRoutes.peers[0].allowedIps.map(formatPrefix).includes("192.168.50.0/24"));
});

Deno.test("planTailnet() skips expired peers and peers with bad keys", () => {
  const plan = planTailnet(node(1), [node(2, { Expired: true }), node(3, { Key: "nodekey:zz" })], {
    acceptRoutes: false,
  });
  assert.equal(plan.peers.length, 0);
});

Deno.test("diffRoutes() lists additions and removals", () => {
  assert.deepEqual(diffRoutes(["a", "b"], ["b", "c"]), { add: ["c"], remove: ["a"] });
});
