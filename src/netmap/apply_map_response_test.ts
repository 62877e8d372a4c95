import assert from "node:assert/strict";
import { applyMapResponse, mergeDerpMap } from "./apply_map_response.ts";
import { homeDerpOf, normalizeNode } from "./node.ts";
import { type NetworkMap, sortedPeers } from "./network_map.ts";
import type { FilterRule, MapResponse, Node } from "./tailcfg.ts";

const DIR = new URL("./testdata/headscale-0.28-mapresponses/", import.meta.url);
const ALLOW_ALL: FilterRule[] = [{
  SrcIPs: ["*"],
  DstPorts: [{ IP: "*", Ports: { First: 0, Last: 65535 } }],
}];

function load(node: string): { name: string; resp: MapResponse }[] {
  const dir = new URL(`${node}/`, DIR);
  return [...Deno.readDirSync(dir)].map((e) => e.name).filter((n) => n.endsWith(".json")).sort()
    .map((name) => ({ name, resp: JSON.parse(Deno.readTextFileSync(new URL(name, dir))) }));
}

/** Replays every message, returning the netmap after each one keyed by file name. */
function replay(node: string): Map<string, NetworkMap> {
  const out = new Map<string, NetworkMap>();
  let nm: NetworkMap | null = null;
  let t = 1_000;
  for (const { name, resp } of load(node)) {
    nm = applyMapResponse(nm, resp, t++);
    out.set(name, nm);
  }
  return out;
}

const at = (maps: Map<string, NetworkMap>, prefix: string) => {
  const hit = [...maps.entries()].find(([n]) => n.startsWith(prefix));
  assert.ok(hit, `no fixture ${prefix}`);
  return hit[1];
};
const peerIds = (nm: NetworkMap) => sortedPeers(nm).map((p) => p.ID);

Deno.test("node1 replay: alone, node-b joins, node-c joins and comes online, node-c deleted", () => {
  const maps = replay("node1");
  assert.equal(maps.size, 17);

  const first = at(maps, "2026-11-22T00-07-02");
  assert.equal(first.self?.ID, 1);
  assert.equal(first.self?.Name, "node-a.tslab.test.");
  assert.equal(first.self?.HomeDERP, undefined, '"127.3.3.40:0" means no home yet');
  assert.deepEqual(first.self?.AllowedIPs, ["100.64.0.1/32", "fd7a:115c:a1e0::1/128"]);
  assert.deepEqual(peerIds(first), [], "first response to node 1 has no Peers at all");
  assert.deepEqual(Object.keys(first.derpMap!.Regions!), ["999"]);
  assert.equal(first.derpMap!.Regions!["999"]!.Nodes![0]!.DERPPort, 8080);
  assert.equal(first.dns?.Proxied, true);
  assert.deepEqual(first.dns?.Domains, ["tslab.test"]);
  assert.deepEqual(first.packetFilter, ALLOW_ALL);
  assert.equal(first.userProfiles.get(1)?.LoginName, "lab");

  // A patch about ourselves is not a peer: ignored.
  assert.deepEqual(peerIds(at(maps, "2026-11-22T00-07-03.142473248")), []);
  // Self learns its home DERP from a self-only message; everything else is kept.
  const homed = at(maps, "2026-11-22T00-07-03.941648016");
  assert.equal(homed.self?.HomeDERP, 999);
  assert.equal(homed.derpMap, first.derpMap);
  assert.equal(homed.dns, first.dns);
  assert.equal(homed.domain, first.domain);

  const bJoined = at(maps, "2026-11-22T00-07-03.941914712");
  assert.deepEqual(peerIds(bJoined), [2]);
  assert.equal(bJoined.peers.get(2)?.Online, undefined);
  assert.equal(bJoined.peers.get(2)?.HomeDERP, undefined);

  const bOnline = at(maps, "2026-11-22T00-07-05.542503887");
  assert.equal(bOnline.peers.get(2)?.Online, true);
  assert.equal(bOnline.peers.get(2)?.HomeDERP, 999);
  assert.deepEqual(bOnline.peers.get(2)?.AllowedIPs, ["100.64.0.2/32", "fd7a:115c:a1e0::2/128"]);

  const cJoined = at(maps, "2026-11-22T00-07-11.142651627");
  assert.deepEqual(peerIds(cJoined), [2, 3]);
  assert.equal(cJoined.peers.get(3)?.Name, "node-c.tslab.test.");
  assert.equal(cJoined.peers.get(3)?.Online, undefined);
  assert.deepEqual(cJoined.packetFilter, ALLOW_ALL);

  const cOnline = at(maps, "2026-11-22T00-07-11.942815571");
  assert.equal(cOnline.peers.get(3)?.Online, true);
  const cEndpoints = at(maps, "2026-11-22T00-07-12.741750141");
  assert.deepEqual(cEndpoints.peers.get(3)?.Endpoints, ["10.98.3.2:41641"]);
  assert.equal(cEndpoints.peers.get(3)?.HomeDERP, undefined);
  const cHomed = at(maps, "2026-11-22T00-07-13.542435619");
  assert.equal(cHomed.peers.get(3)?.HomeDERP, 999);

  const last = at(maps, "2026-11-22T00-07-21.541768717");
  assert.deepEqual(peerIds(last), [2], "node-c removed");
  assert.equal(last.peers.get(2)?.Online, true);
  assert.deepEqual(last.packetFilter, ALLOW_ALL);
  assert.equal(last.self?.HomeDERP, 999);
  assert.ok(cEndpoints.peers.has(3), "older netmaps are not mutated");
});

Deno.test("node2 replay: full first map with Peers, then the same story from node-b's side", () => {
  const maps = replay("node2");
  assert.equal(maps.size, 11);
  const first = at(maps, "2026-11-22T00-07-04");
  assert.equal(first.self?.ID, 2);
  assert.deepEqual(peerIds(first), [1]);
  const a = first.peers.get(1)!;
  assert.equal(a.HomeDERP, 999);
  assert.equal(a.Online, true);
  assert.deepEqual(a.Endpoints, ["10.98.1.2:41641"]);
  assert.equal(a.Key, "nodekey:10fe35468a6597553894868a7b819574735480e1df2ea081490a9e99f45d9754");
  assert.equal(first.domain, "10.98.0.1");
  assert.deepEqual(first.packetFilter, ALLOW_ALL);

  const withC = at(maps, "2026-11-22T00-07-11.943515841");
  assert.deepEqual(peerIds(withC), [1, 3]);
  assert.equal(withC.peers.get(3)?.Online, true);
  const last = at(maps, "2026-11-22T00-07-21");
  assert.deepEqual(peerIds(last), [1]);
  assert.equal(last.self?.HomeDERP, 999);
});

const peer = (id: number, extra: Partial<Node> = {}): Node => ({
  ID: id,
  StableID: String(id),
  Name: `n${id}.`,
  User: 1,
  Key: `nodekey:${String(id).padStart(64, "0")}`,
  Addresses: [`100.64.0.${id}/32`],
  ...extra,
});

Deno.test("applyMapResponse: Peers replaces all; removed before changed; Online/Seen/Patch deltas", () => {
  let nm = applyMapResponse(null, { Node: peer(9), Peers: [peer(1), peer(2), peer(3)] }, 0);
  assert.deepEqual(peerIds(nm), [1, 2, 3]);
  nm = applyMapResponse(nm, { Peers: [peer(2), peer(4)], PeersRemoved: [2] }, 1);
  assert.deepEqual(peerIds(nm), [2, 4], "PeersRemoved is ignored when Peers is non-empty");
  nm = applyMapResponse(nm, { PeersRemoved: [2], PeersChanged: [peer(2, { Online: true })] }, 2);
  assert.equal(nm.peers.get(2)?.Online, true, "removal happens before PeersChanged");
  nm = applyMapResponse(nm, { OnlineChange: { "2": false, "77": true } }, 3);
  assert.equal(nm.peers.get(2)?.Online, false);
  assert.ok(!nm.peers.has(77));
  nm = applyMapResponse(nm, { PeerSeenChange: { "4": true } }, Date.UTC(2026, 0, 2));
  assert.equal(nm.peers.get(4)?.LastSeen, "2026-01-02T00:00:00.000Z");
  nm = applyMapResponse(nm, { PeerSeenChange: { "4": false } }, 5);
  assert.equal(nm.peers.get(4)?.LastSeen, undefined);
  nm = applyMapResponse(nm, {
    PeersChangedPatch: [{
      NodeID: 4,
      DERPRegion: 7,
      Endpoints: ["1.2.3.4:5"],
      DiscoKey: "discokey:" + "ab".repeat(32),
      Key: "nodekey:" + "cd".repeat(32),
      Online: true,
      KeyExpiry: "2030-01-01T00:00:00Z",
      Cap: 130,
    }, { NodeID: 555, Online: true }],
  }, 6);
  const p4 = nm.peers.get(4)!;
  assert.equal(p4.HomeDERP, 7);
  assert.deepEqual(p4.Endpoints, ["1.2.3.4:5"]);
  assert.equal(p4.DiscoKey, "discokey:" + "ab".repeat(32));
  assert.equal(p4.Key, "nodekey:" + "cd".repeat(32));
  assert.equal(p4.Online, true);
  assert.equal(p4.KeyExpiry, "2030-01-01T00:00:00Z");
  assert.equal(p4.Cap, 130);
  assert.ok(!nm.peers.has(555));
  const keep = applyMapResponse(nm, { KeepAlive: true }, 7);
  assert.equal(keep, nm);
});

Deno.test("applyMapResponse: filters — legacy PacketFilter, named sets, null delete, '*' clear, empty = deny", () => {
  const r = (ip: string): FilterRule[] => [{ SrcIPs: [ip], DstPorts: [] }];
  let nm = applyMapResponse(null, { Node: peer(9) }, 0);
  assert.equal(nm.packetFilter, null, "never sent: no rules");
  nm = applyMapResponse(nm, { PacketFilter: r("1.1.1.1") }, 1);
  assert.deepEqual(nm.packetFilter, r("1.1.1.1"));
  nm = applyMapResponse(nm, { PacketFilters: { zz: r("3.3.3.3"), aa: r("2.2.2.2") } }, 2);
  assert.deepEqual(nm.packetFilter, [...r("2.2.2.2"), ...r("1.1.1.1"), ...r("3.3.3.3")]);
  nm = applyMapResponse(nm, { PacketFilters: { aa: null } }, 3);
  assert.deepEqual(nm.packetFilter, [...r("1.1.1.1"), ...r("3.3.3.3")]);
  nm = applyMapResponse(nm, { DNSConfig: { Proxied: true } }, 4);
  assert.deepEqual(nm.packetFilter, [...r("1.1.1.1"), ...r("3.3.3.3")], "absent = unchanged");
  nm = applyMapResponse(nm, { PacketFilters: { "*": null, new: r("4.4.4.4") } }, 5);
  assert.deepEqual(nm.packetFilter, r("4.4.4.4"));
  assert.deepEqual([...nm.packetFilters.keys()], ["new"]);
  nm = applyMapResponse(nm, { PacketFilter: [] }, 6);
  assert.deepEqual(nm.packetFilter, r("4.4.4.4"), "empty PacketFilter replaces base only");
  nm = applyMapResponse(nm, { PacketFilters: { "*": null } }, 7);
  assert.deepEqual(nm.packetFilter, [], "cleared: deny all");
});

Deno.test("DERPMap: nil regions dropped, nil Regions/HomeParams keep the previous ones", () => {
  const region = (id: number) => ({
    RegionID: id,
    RegionCode: `r${id}`,
    RegionName: `R${id}`,
    Nodes: [{ Name: `${id}a`, RegionID: id, HostName: "h" }, null],
  });
  let dm = mergeDerpMap(null, {
    Regions: { "1": region(1), "2": null },
    HomeParams: { RegionScore: { "1": 0.5 } },
  });
  assert.deepEqual(Object.keys(dm.Regions!), ["1"]);
  assert.equal(dm.Regions!["1"]!.Nodes!.length, 1);
  dm = mergeDerpMap(dm, { Regions: null, HomeParams: { RegionScore: null } });
  assert.deepEqual(Object.keys(dm.Regions!), ["1"]);
  assert.deepEqual(dm.HomeParams?.RegionScore, { "1": 0.5 });
  dm = mergeDerpMap(dm, { Regions: { "5": region(5) } });
  assert.deepEqual(Object.keys(dm.Regions!), ["5"]);
  assert.deepEqual(dm.HomeParams?.RegionScore, { "1": 0.5 });
});

Deno.test("normalizeNode: HomeDERP beats legacy DERP, legacy parsed, AllowedIPs null → Addresses", () => {
  assert.equal(homeDerpOf({ HomeDERP: 5, DERP: "127.3.3.40:7" }), 5);
  assert.equal(homeDerpOf({ DERP: "127.3.3.40:7" }), 7);
  assert.equal(homeDerpOf({ DERP: "127.3.3.40:0" }), 0);
  assert.equal(homeDerpOf({ DERP: "10.0.0.1:7" }), 0);
  const n = normalizeNode(peer(3, { AllowedIPs: null }));
  assert.deepEqual(n.AllowedIPs, ["100.64.0.3/32"]);
  const routes = normalizeNode(peer(3, { AllowedIPs: ["100.64.0.3/32", "10.0.0.0/8"] }));
  assert.deepEqual(routes.AllowedIPs, ["100.64.0.3/32", "10.0.0.0/8"]);
  assert.deepEqual(normalizeNode(peer(3, { AllowedIPs: [] })).AllowedIPs, [], "empty is not nil");
});

Deno.test("a second stream starts from null: node1's first map after node2's stream has none of node2's peers, filters, DNS or profiles", () => {
  // Stream 1: node2's whole story (peers, named filter "base", DNS, profiles).
  let nm: NetworkMap | null = null;
  for (const { resp } of load("node2")) nm = applyMapResponse(nm, resp, 1);
  assert.ok(nm !== null && nm.peers.size > 0);
  // Stream 2 opens with a full map that leaves Peers out (node 1 alone in the fixtures).
  const first = load("node1")[0].resp;
  assert.equal("Peers" in first, false);
  const onOld = applyMapResponse(nm, first, 2);
  assert.ok(onOld.peers.size > 0, "applied to the old netmap, an absent Peers means unchanged");
  const fresh = applyMapResponse(null, first, 2);
  assert.deepEqual(peerIds(fresh), []);
  assert.deepEqual(fresh.packetFilter, ALLOW_ALL);
  assert.deepEqual([...fresh.userProfiles.keys()], [1]);
});

Deno.test("DisplayMessages (capver 117): set by ID, null deletes one, '*': null clears, absent keeps", () => {
  const msg = (title: string) => ({ Title: title, Text: `${title} text`, Severity: "medium" });
  let nm = applyMapResponse(null, { Node: { ID: 1 } as Node, DisplayMessages: { a: msg("A") } }, 0);
  assert.deepEqual([...nm.displayMessages.keys()], ["a"]);
  nm = applyMapResponse(nm, { DisplayMessages: { b: msg("B") } }, 1);
  assert.deepEqual([...nm.displayMessages.keys()].sort(), ["a", "b"]);
  nm = applyMapResponse(nm, { OnlineChange: {} }, 2);
  assert.deepEqual([...nm.displayMessages.keys()].sort(), ["a", "b"], "absent = unchanged");
  nm = applyMapResponse(nm, { DisplayMessages: { a: null } }, 3);
  assert.deepEqual([...nm.displayMessages.keys()], ["b"]);
  nm = applyMapResponse(nm, { DisplayMessages: { "*": null, c: msg("C") } }, 4);
  assert.deepEqual([...nm.displayMessages.keys()], ["c"]);
  assert.equal(nm.displayMessages.get("c")?.Title, "C");
});
