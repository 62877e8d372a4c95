import assert from "node:assert/strict";
import type { DERPMap } from "../netmap/tailcfg.ts";
import { derpTarget, derpTargets } from "./derp_region.ts";

const MAP: DERPMap = {
  Regions: {
    "900": {
      RegionID: 900,
      RegionCode: "home",
      RegionName: "Home",
      Nodes: [
        { Name: "900s", RegionID: 900, HostName: "stun.example", STUNOnly: true },
        {
          Name: "900a",
          RegionID: 900,
          HostName: "derp.example",
          IPv4: "192.0.2.7",
          DERPPort: 8443,
          CertName: "sha256-raw:abcd",
        },
      ],
    },
    "901": { RegionID: 901, RegionCode: "x", RegionName: "X", Nodes: [] },
    "902": null,
  },
};

Deno.test("derpTarget() picks the first non-STUN-only node and forces its IPv4", () => {
  const t = derpTarget(MAP.Regions!["900"]!, false)!;
  assert.deepEqual(t, {
    regionId: 900,
    url: "https://derp.example:8443/derp",
    dialHost: "192.0.2.7",
    certName: "sha256-raw:abcd",
    insecureForTests: false,
    alternates: [],
  });
});

Deno.test("derpTarget() lists the region's other addresses: IPv6 after IPv4, then the next nodes", () => {
  const t = derpTarget({
    RegionID: 5,
    RegionCode: "e",
    RegionName: "E",
    Nodes: [
      { Name: "5a", RegionID: 5, HostName: "a.example", IPv4: "192.0.2.1", IPv6: "2001:db8::1" },
      { Name: "5s", RegionID: 5, HostName: "s.example", STUNOnly: true },
      { Name: "5b", RegionID: 5, HostName: "b.example", IPv6: "2001:db8::2", IPv4: "none" },
      { Name: "5c", RegionID: 5, HostName: "c.example" },
      { Name: "5d", RegionID: 5, HostName: "d.example", IPv4: "none", IPv6: "none" },
    ],
  }, false)!;
  assert.equal(t.url, "https://a.example:443/derp");
  assert.equal(t.dialHost, "192.0.2.1");
  assert.deepEqual(t.alternates.map((c) => [c.url, c.dialHost, c.idealNode]), [
    ["https://a.example:443/derp", "2001:db8::1", undefined],
    ["https://b.example:443/derp", "2001:db8::2", "5a"],
    ["https://c.example:443/derp", undefined, "5a"],
  ]);
});

Deno.test("derpTarget() uses plain HTTP when asked and default ports when unset", () => {
  const t = derpTarget({
    RegionID: 1,
    RegionCode: "a",
    RegionName: "A",
    Nodes: [{ Name: "1a", RegionID: 1, HostName: "d.example", IPv4: "none" }],
  }, true)!;
  assert.equal(t.url, "http://d.example:80/derp");
  assert.equal(t.dialHost, undefined);
});

Deno.test("derpTargets() skips regions without DERP servers and nil entries", () => {
  assert.deepEqual([...derpTargets(MAP, true).keys()], [900]);
  assert.equal(derpTargets(null, true).size, 0);
});
