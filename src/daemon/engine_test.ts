import assert from "node:assert/strict";
import { formatNodePublic } from "../key/node_key.ts";
import { formatPrefix, type IpPrefix, parseIp, parsePrefix } from "../net/ip.ts";
import { buildIcmpPacket } from "../net/packet_build.ts";
import { emptyNetworkMap, type NetworkMap } from "../netmap/network_map.ts";
import type { Node } from "../netmap/tailcfg.ts";
import { type EnginePorts, TailnetEngine } from "./engine.ts";
import { TailnetPlanner } from "./tailnet_plan.ts";
import { KEY, LOW_ORDER, node } from "./_plan_test_util.ts";

function netmap(self: Node, peers: Node[]): NetworkMap {
  return {
    ...emptyNetworkMap(),
    self,
    peers: new Map(peers.map((p) => [p.ID, p])),
    packetFilter: [{ SrcIPs: ["*"], DstPorts: [{ IP: "*", Ports: { First: 0, Last: 65535 } }] }],
  };
}

/** Fake ports that record what the engine did; `refuse` makes the kernel say no. */
function fakes() {
  const events: string[] = [];
  const peers = new Map<string, string[]>();
  const refuse = new Set<string>();
  let dnsPeers: string[] = [];
  const log: string[] = [];
  const kernel = (what: string, p: IpPrefix) => {
    const t = `${what} ${formatPrefix(p)}`;
    if (refuse.has(t)) throw new Error("File exists");
    events.push(t);
  };
  const ports: EnginePorts = {
    tun: {
      name: "warren0",
      addAddress: (p) => kernel("addr+", p),
      removeAddress: (p) => kernel("addr-", p),
    },
    routes: { add: (p) => kernel("route+", p), remove: (p) => kernel("route-", p) },
    device: {
      addPeer: (c) =>
        peers.set(formatNodePublic(c.publicKey), (c.allowedIps ?? []).map(formatPrefix)),
      removePeer: (k) => peers.delete(formatNodePublic(k)),
    },
    magic: { setDerpMap: () => {}, setPeers: () => {} },
    dns: { setNetmap: (nm) => dnsPeers = [...nm.peers.values()].map((p) => p.Name) },
    log: (l) => log.push(l),
  };
  return { ports, events, peers, refuse, log, dns: () => dnsPeers };
}

function commit(engine: TailnetEngine, nm: NetworkMap, acceptRoutes = false) {
  engine.apply(new TailnetPlanner({ acceptRoutes }).planNetmap(nm)!, nm);
}

Deno.test("TailnetEngine applies every good peer of a netmap that also holds bad ones", () => {
  const f = fakes();
  const engine = new TailnetEngine(f.ports);
  const nm = netmap(node(1), [
    node(2),
    node(3, { Key: LOW_ORDER }),
    node(4, { AllowedIPs: ["not-a-prefix"] }),
    node(5, { Addresses: ["100.64.0.2/32"] }),
    node(6),
  ]);
  commit(engine, nm);
  assert.deepEqual([...f.peers.keys()], [KEY(2), KEY(6)]);
  assert.deepEqual(engine.routes, [
    "100.64.0.2/32",
    "100.64.0.6/32",
    "fd7a:115c:a1e0::2/128",
    "fd7a:115c:a1e0::6/128",
  ]);
  assert.deepEqual(f.dns(), ["host2.tailnet.test.", "host6.tailnet.test."]);
  assert.ok(engine.filter, "the filter is built");
  assert.equal(f.log.filter((l) => l.includes("skipped")).length, 3, f.log.join("\n"));

  // The same netmap again, and a later one with a new peer: the bad ones are not logged again,
  // and the later map applies in full.
  commit(engine, netmap(node(1), [...nm.peers.values(), node(7)]));
  assert.deepEqual([...f.peers.keys()], [KEY(2), KEY(6), KEY(7)]);
  assert.ok(engine.routes.includes("100.64.0.7/32"));
  assert.equal(f.log.filter((l) => l.includes("skipped")).length, 3, f.log.join("\n"));
});

Deno.test("TailnetEngine logs a route the kernel refuses once, applies the rest, retries it later", () => {
  const f = fakes();
  const engine = new TailnetEngine(f.ports);
  f.refuse.add("route+ 100.64.0.2/32");
  const nm = netmap(node(1), [node(2), node(3)]);
  commit(engine, nm);
  assert.ok(!engine.routes.includes("100.64.0.2/32"));
  assert.ok(engine.routes.includes("100.64.0.3/32"));
  assert.equal(f.peers.size, 2, "WireGuard got both peers");
  commit(engine, nm);
  assert.equal(f.log.filter((l) => l.startsWith("route 100.64.0.2/32")).length, 1);
  f.refuse.clear();
  commit(engine, nm);
  assert.ok(engine.routes.includes("100.64.0.2/32"), "retried on the next commit");
});

Deno.test("TailnetEngine moves TUN addresses to a renumbered self node, new before old", () => {
  const f = fakes();
  const engine = new TailnetEngine(f.ports);
  commit(engine, netmap(node(1), [node(2)]));
  f.events.length = 0;
  commit(
    engine,
    netmap(node(1, { Addresses: ["100.64.0.99/32", "fd7a:115c:a1e0::99/128"] }), [node(2)]),
  );
  assert.deepEqual(f.events, [
    "addr+ 100.64.0.99/32",
    "addr+ fd7a:115c:a1e0::99/128",
    "addr- 100.64.0.1/32",
    "addr- fd7a:115c:a1e0::1/128",
  ]);
  assert.deepEqual(engine.plan.addresses.map(formatPrefix), [
    "100.64.0.99/32",
    "fd7a:115c:a1e0::99/128",
  ]);
});

Deno.test("TailnetEngine removes a deleted peer's WireGuard peer, routes and name", () => {
  const f = fakes();
  const engine = new TailnetEngine(f.ports);
  commit(engine, netmap(node(1), [node(2), node(3)]));
  commit(engine, netmap(node(1), [node(3)]));
  assert.deepEqual([...f.peers.keys()], [KEY(3)]);
  assert.ok(f.events.includes("route- 100.64.0.2/32"));
  assert.ok(!engine.routes.some((r) => r.startsWith("100.64.0.2/")));
  assert.deepEqual(f.dns(), ["host3.tailnet.test."]);
  assert.ok(f.log.includes("peer host2.tailnet.test removed"));
});

Deno.test("TailnetEngine's filter delivers to approved subnets, not to an approved /0 whole", () => {
  const f = fakes();
  const self = node(1, {
    AllowedIPs: ["0.0.0.0/0", "10.98.8.0/24", "100.64.0.1/32", "::/0", "fd7a:115c:a1e0::1/128"],
    PrimaryRoutes: ["10.98.8.0/24"],
  });
  const ping = (dst: string) =>
    buildIcmpPacket({ src: parseIp("100.64.0.2"), dst: parseIp(dst), type: 8, rest: 1 });
  const engine = new TailnetEngine(f.ports);
  commit(engine, netmap(node(1), [node(2)]));
  assert.equal(engine.filter!.check(ping("10.98.8.2")), "drop");
  commit(engine, netmap(self, [node(2)]));
  assert.equal(engine.filter!.check(ping("10.98.8.2")), "accept");
  assert.equal(engine.filter!.check(ping("100.64.0.1")), "accept");
  assert.equal(engine.filter!.check(ping("8.8.8.8")), "drop");
  // What the subnet router hands in (an exit node's shrunk /0) is local too.
  const exit = new TailnetEngine(fakes().ports, [parsePrefix("8.0.0.0/8")]);
  commit(exit, netmap(self, [node(2)]));
  assert.equal(exit.filter!.check(ping("8.8.8.8")), "accept");
});

Deno.test("TailnetEngine gives WireGuard the /0s of the selected exit node only, and moves them on a switch", () => {
  const f = fakes();
  const engine = new TailnetEngine(f.ports);
  const exit = (id: number) =>
    node(id, {
      AllowedIPs: [`100.64.0.${id}/32`, `fd7a:115c:a1e0::${id}/128`, "0.0.0.0/0", "::/0"],
    });
  const nm = netmap(node(1), [exit(2), exit(3)]);
  const planner = new TailnetPlanner({ acceptRoutes: true });
  const hasExit = (id: number) =>
    f.peers.get(formatNodePublic(parsePeerKey(id)))!.includes("0.0.0.0/0");
  engine.apply(planner.planNetmap(nm, 2)!, nm);
  assert.deepEqual([hasExit(2), hasExit(3)], [true, false]);
  engine.apply(planner.planNetmap(nm, 3)!, nm);
  assert.deepEqual([hasExit(2), hasExit(3)], [false, true], "switched without removing peers");
  assert.ok(!f.events.some((e) => e.endsWith("/0")), "no /0 route in main");
  engine.apply(planner.planNetmap(nm, null)!, nm);
  assert.deepEqual([hasExit(2), hasExit(3)], [false, false]);
});

function parsePeerKey(id: number): Uint8Array {
  return Uint8Array.from(KEY(id).slice(8).match(/../g)!.map((h) => parseInt(h, 16)));
}

Deno.test("TailnetEngine with shields up refuses new inbound flows, passes replies; setFixedLocal widens local", () => {
  const engine = new TailnetEngine(fakes().ports);
  const icmp = (type: number, dst = "100.64.0.1") =>
    buildIcmpPacket({ src: parseIp("100.64.0.2"), dst: parseIp(dst), type, rest: 1 });
  const nm = netmap(node(1), [node(2)]);
  commit(engine, nm);
  assert.equal(engine.filter!.check(icmp(8)), "accept", "the netmap's filter allows all");
  engine.setShieldsUp(true);
  commit(engine, nm);
  assert.equal(engine.filter!.check(icmp(8)), "drop", "echo request refused");
  assert.equal(engine.filter!.check(icmp(0)), "accept", "echo reply to our own ping passes");
  engine.setShieldsUp(false);
  engine.setFixedLocal([parsePrefix("10.98.9.0/24")]);
  commit(engine, nm);
  assert.equal(engine.filter!.check(icmp(8)), "accept");
  assert.equal(engine.filter!.check(icmp(8, "10.98.9.5")), "accept", "a subnet handed in later");
});
