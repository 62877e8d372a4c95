import assert from "node:assert/strict";
import { formatIp, parseIp } from "../net/ip.ts";
import type { MapResponse } from "../netmap/tailcfg.ts";
import {
  RCODE_NOERROR,
  RCODE_NOTIMP,
  TYPE_A,
  TYPE_AAAA,
  TYPE_ANY,
  TYPE_MX,
  TYPE_NS,
  TYPE_PTR,
} from "./constants.ts";
import { ipFromReverseName, MagicDnsTable, reverseName } from "./magicdns.ts";

const FIXTURE = new URL(
  "../../../shared/fixtures/headscale-0.28-mapresponses/node2/2026-11-22T00-07-04.746076037-change.json",
  import.meta.url,
);
const first = JSON.parse(Deno.readTextFileSync(FIXTURE)) as MapResponse;

function fixtureTable(): MagicDnsTable {
  return MagicDnsTable.fromNetmap(first.Node!, first.Peers ?? [], first.DNSConfig);
}

const addrs = (a: Uint8Array[] | null) => a?.map(formatIp) ?? null;

Deno.test("MagicDnsTable from Headscale's first map response knows both nodes", () => {
  const t = fixtureTable();
  assert.equal(t.suffix, "tslab.test.");
  assert.deepEqual(t.searchDomains, ["tslab.test."]);
  assert.deepEqual(addrs(t.resolveName("node-a.tslab.test.")), ["100.64.0.1", "fd7a:115c:a1e0::1"]);
  assert.deepEqual(addrs(t.resolveName("node-b.tslab.test")), ["100.64.0.2", "fd7a:115c:a1e0::2"]);
  // Short names through the search list, any case.
  assert.deepEqual(addrs(t.resolveName("NODE-A")), ["100.64.0.1", "fd7a:115c:a1e0::1"]);
  // An absolute single label is not expanded.
  assert.equal(t.resolveName("node-a."), null);
  assert.equal(t.resolveName("node-z"), null);
  // Proxied: the suffix and every reverse zone are answered here.
  assert.ok(t.localZones.includes("tslab.test."));
  assert.ok(t.localZones.includes("0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa."));
  assert.ok(t.localZones.includes("64.100.in-addr.arpa."));
  assert.ok(t.localZones.includes("127.100.in-addr.arpa."));
  assert.equal(t.localZones.length, 1 + 1 + 64);
});

Deno.test("MagicDnsTable.lookup() answers A, AAAA, ANY and NODATA like tailscaled", () => {
  const t = fixtureTable();
  const a = t.lookup("Node-A.tslab.test.", TYPE_A);
  assert.equal(a.kind, "records");
  if (a.kind !== "records") return;
  assert.equal(a.rcode, RCODE_NOERROR);
  assert.equal(a.records.length, 1);
  assert.equal(a.records[0].name, "Node-A.tslab.test."); // owner as asked
  assert.equal(a.records[0].ttl, 5);
  assert.equal(formatIp(a.records[0].data as Uint8Array), "100.64.0.1");

  const aaaa = t.lookup("node-a.tslab.test.", TYPE_AAAA);
  assert.ok(
    aaaa.kind === "records" && aaaa.records.length === 1 && aaaa.records[0].type === TYPE_AAAA,
  );
  const any = t.lookup("node-a.tslab.test.", TYPE_ANY);
  assert.ok(any.kind === "records" && any.records.length === 2);

  const mx = t.lookup("node-a.tslab.test.", TYPE_MX);
  assert.deepEqual(mx, { kind: "records", rcode: RCODE_NOERROR, records: [], zone: "tslab.test." });
  const ns = t.lookup("node-a.tslab.test.", TYPE_NS);
  assert.ok(ns.kind === "records" && ns.rcode === RCODE_NOTIMP);

  assert.deepEqual(t.lookup("nope.tslab.test.", TYPE_A), { kind: "nxdomain", zone: "tslab.test." });
  assert.deepEqual(t.lookup("example.com.", TYPE_A), { kind: "not-ours" });
  assert.deepEqual(t.lookup("secret.onion.", TYPE_A), { kind: "nxdomain", zone: null });
});

Deno.test("MagicDnsTable.lookup() answers PTR in the CGNAT and ULA reverse zones", () => {
  const t = fixtureTable();
  const v4 = t.lookup("2.0.64.100.in-addr.arpa.", TYPE_PTR);
  assert.ok(v4.kind === "records");
  if (v4.kind === "records") assert.equal(v4.records[0].data, "node-b.tslab.test.");
  const v6 = t.lookup(reverseName(parseIp("fd7a:115c:a1e0::1")), TYPE_PTR);
  assert.ok(v6.kind === "records" && v6.records[0].data === "node-a.tslab.test.");
  assert.deepEqual(t.lookup("9.0.64.100.in-addr.arpa.", TYPE_PTR), {
    kind: "nxdomain",
    zone: "64.100.in-addr.arpa.",
  });
  // Outside the tailnet's reverse zones: forward.
  assert.deepEqual(t.lookup("1.1.168.192.in-addr.arpa.", TYPE_PTR), { kind: "not-ours" });
  // quad-100 itself, both ways.
  const q = t.lookup("100.100.100.100.in-addr.arpa.", TYPE_PTR);
  assert.ok(q.kind === "records" && q.records[0].data === "magicdns.localhost-tailscale-daemon.");
  const back = t.lookup("magicdns.localhost-tailscale-daemon.", TYPE_AAAA);
  assert.ok(
    back.kind === "records" &&
      formatIp(back.records[0].data as Uint8Array) === "fd7a:115c:a1e0::53",
  );
});

Deno.test("ExtraRecords are served, typed, and made authoritative when no route covers them", () => {
  const t = MagicDnsTable.fromNetmap(
    { Name: "self.tail.example.", Addresses: ["100.64.0.7/32"] },
    [],
    {
      Proxied: true,
      Routes: { "corp.example": [{ Addr: "10.0.0.53" }] },
      ExtraRecords: [
        { Name: "grafana.tail.example.", Type: "", Value: "100.64.0.9" },
        { Name: "db.internal.", Type: "A", Value: "100.64.0.10" },
        { Name: "db.internal.", Type: "AAAA", Value: "fd7a:115c:a1e0::10" },
        { Name: "wrong.internal.", Type: "A", Value: "fd7a:115c:a1e0::11" },
        { Name: "txt.internal.", Type: "TXT", Value: "hello" },
        { Name: "bad.internal.", Type: "A", Value: "not-an-ip" },
        { Name: "svc.corp.example.", Value: "10.1.1.1" },
      ],
    },
  );
  assert.deepEqual(addrs(t.resolveName("grafana.tail.example")), ["100.64.0.9"]);
  assert.deepEqual(addrs(t.resolveName("db.internal.")), ["100.64.0.10", "fd7a:115c:a1e0::10"]);
  assert.equal(t.resolveName("wrong.internal."), null);
  assert.equal(t.resolveName("txt.internal."), null);
  assert.equal(t.resolveName("bad.internal."), null);
  assert.ok(t.localZones.includes("db.internal."));
  assert.ok(!t.localZones.includes("svc.corp.example.")); // covered by the corp route
  assert.deepEqual(t.lookup("x.db.internal.", TYPE_A), { kind: "nxdomain", zone: "db.internal." });
  // ExtraRecords get no PTR.
  assert.deepEqual(t.lookup("9.0.64.100.in-addr.arpa.", TYPE_PTR), {
    kind: "nxdomain",
    zone: "64.100.in-addr.arpa.",
  });
});

Deno.test("upstreamsFor() picks the longest split-DNS route, then Resolvers, then fallbacks", () => {
  const t = MagicDnsTable.fromNetmap(null, [], {
    Resolvers: [{ Addr: "1.1.1.1" }, null],
    FallbackResolvers: [{ Addr: "9.9.9.9" }],
    Routes: {
      "example.com": [{ Addr: "10.0.0.1" }],
      "eu.example.com.": [{ Addr: "10.0.0.2" }],
      "local.example.com": [],
    },
  });
  assert.deepEqual(t.upstreamsFor("www.example.com."), [{ Addr: "10.0.0.1" }]);
  assert.deepEqual(t.upstreamsFor("EU.example.com."), [{ Addr: "10.0.0.2" }]);
  assert.deepEqual(t.upstreamsFor("a.eu.example.com."), [{ Addr: "10.0.0.2" }]);
  assert.deepEqual(t.upstreamsFor("notexample.com."), [{ Addr: "1.1.1.1" }]);
  assert.ok(t.localZones.includes("local.example.com."));
  const fb = MagicDnsTable.fromNetmap(null, [], { FallbackResolvers: [{ Addr: "9.9.9.9" }] });
  assert.deepEqual(fb.upstreamsFor("x."), [{ Addr: "9.9.9.9" }]);
  const none = MagicDnsTable.fromNetmap(null, [], null);
  assert.deepEqual(none.upstreamsFor("x."), []);
  assert.deepEqual(none.upstreamsFor("x.", [{ Addr: "192.168.1.1" }]), [{ Addr: "192.168.1.1" }]);
});

Deno.test("without Proxied nothing is authoritative but names still resolve", () => {
  const t = MagicDnsTable.fromNetmap(
    { Name: "a.ts.test.", Addresses: ["100.64.0.1/32"] },
    [{ Name: "b", Addresses: ["100.64.0.2/32", "garbage"] }, {
      Name: "",
      Addresses: ["100.64.0.3/32"],
    }],
    { Proxied: false },
  );
  assert.deepEqual(t.localZones, []);
  assert.deepEqual(t.lookup("nope.ts.test.", TYPE_A), { kind: "not-ours" });
  assert.deepEqual(addrs(t.resolveName("b")), ["100.64.0.2"]); // Headscale without base_domain
  assert.equal(t.size, 2);
});

Deno.test("ipFromReverseName() and reverseName() are inverses and reject partial names", () => {
  for (const s of ["100.64.0.1", "fd7a:115c:a1e0::1", "2001:db8::567:89ab", "0.0.0.0"]) {
    assert.equal(formatIp(ipFromReverseName(reverseName(parseIp(s)))!), s);
  }
  assert.equal(
    reverseName(parseIp("2001:db8::567:89ab")),
    "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa.",
  );
  for (
    const bad of [
      "64.100.in-addr.arpa.",
      "1.2.3.256.in-addr.arpa.",
      "01.2.3.4.in-addr.arpa.",
      "1.0.ip6.arpa.",
      "example.com.",
    ]
  ) {
    assert.equal(ipFromReverseName(bad), null, bad);
  }
});
