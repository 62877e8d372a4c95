import assert from "node:assert/strict";
import { StunServer } from "../stun/server.ts";
import { chooseHome, measureRegions, type RegionLatency } from "./derp_home.ts";
import { HostCache } from "../net/host_cache.ts";
import type { DERPMap, DERPNode, DERPRegion } from "../netmap/tailcfg.ts";

const m = (regionId: number, latencyMs: number | null): RegionLatency => ({
  regionId,
  latencyMs,
  method: latencyMs === null ? "none" : "stun",
});

Deno.test("chooseHome() picks the lowest latency and skips unreachable regions", () => {
  assert.equal(chooseHome([m(1, 40), m(2, 12), m(3, null)], 0, null), 2);
  assert.equal(chooseHome([m(1, null)], 0, null), 0);
});

Deno.test("chooseHome() keeps the current home unless the new one is clearly better", () => {
  assert.equal(chooseHome([m(1, 30), m(2, 25)], 1, null), 1, "5 ms better: stay");
  assert.equal(chooseHome([m(1, 60), m(2, 20)], 1, null), 2, "40 ms and 3x better: move");
  assert.equal(chooseHome([m(1, 20), m(2, 60)], 2, null), 1, "current got worse: move");
});

Deno.test("chooseHome() scales latency by HomeParams.RegionScore", () => {
  assert.equal(chooseHome([m(1, 10), m(2, 30)], 0, { "1": 10 }), 2);
});

Deno.test("measureRegions() measures over STUN and reports dead regions as null", async () => {
  const stun = await StunServer.listen({ port: 0, hostname: "127.0.0.1" });
  try {
    const res = await measureRegions({
      Regions: {
        "900": stunOnlyRegion("127.0.0.1", stun.port),
        "901": {
          RegionID: 901,
          RegionCode: "b",
          RegionName: "B",
          Nodes: [{ Name: "b", RegionID: 901, HostName: "127.0.0.1", STUNPort: -1, DERPPort: 1 }],
        },
        "902": {
          RegionID: 902,
          RegionCode: "c",
          RegionName: "C",
          NoMeasureNoHome: true,
          Nodes: [],
        },
      },
    }, true);
    assert.deepEqual(res.map((r) => [r.regionId, r.method, r.latencyMs === null]), [
      [900, "stun", false],
      [901, "none", true],
    ]);
  } finally {
    await stun.close();
  }
});

Deno.test("measureRegions() resolves a node given only by HostName through the host cache", async () => {
  const stun = await StunServer.listen({ port: 0, hostname: "127.0.0.1" });
  const asked: string[] = [];
  const hosts = new HostCache({
    resolve: (h) => {
      asked.push(h);
      return Promise.resolve(h === "stun.test.invalid" ? "127.0.0.1" : null);
    },
    resolveDns: () => Promise.resolve([]),
  });
  try {
    const map: DERPMap = {
      Regions: {
        "900": {
          RegionID: 900,
          RegionCode: "a",
          RegionName: "A",
          Nodes: [{
            Name: "a",
            RegionID: 900,
            HostName: "stun.test.invalid",
            STUNPort: stun.port,
            STUNOnly: true,
          }],
        },
      },
    };
    const first = await measureRegions(map, true, { hosts, probeTimeoutMs: 1000 });
    assert.deepEqual(first.map((r) => [r.regionId, r.method]), [[900, "stun"]]);
    await measureRegions(map, true, { hosts, probeTimeoutMs: 1000 });
    assert.deepEqual(asked, ["stun.test.invalid"], "the second round used the cached answer");
  } finally {
    await stun.close();
  }
});

Deno.test("measureRegions() moves on to IPv6 and to the next node when the first address is dead", async () => {
  const stun = await StunServer.listen({ port: 0, hostname: "::1" });
  // A port number just freed by the kernel: nothing answers STUN there.
  const free = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const deadPort = (free.addr as Deno.NetAddr).port;
  free.close();
  const node = (name: string, extra: Partial<DERPNode>): DERPNode => ({
    Name: name,
    RegionID: 900,
    HostName: "unused.invalid",
    STUNOnly: true,
    ...extra,
  });
  try {
    const region = (nodes: DERPNode[]): DERPMap => ({
      Regions: { "900": { RegionID: 900, RegionCode: "a", RegionName: "A", Nodes: nodes } },
    });
    const opts = { probeTimeoutMs: 300 };
    // One node: its IPv4 is dead, its IPv6 answers.
    const dual = await measureRegions(
      region([node("a", { IPv4: "127.0.0.1", IPv6: "::1", STUNPort: stun.port })]),
      true,
      opts,
    );
    assert.equal(dual[0].method, "stun");
    // The first node is dead on every address; the second answers.
    const second = await measureRegions(
      region([
        node("a", { IPv4: "127.0.0.1", IPv6: "none", STUNPort: deadPort }),
        node("b", { IPv4: "none", IPv6: "::1", STUNPort: stun.port }),
      ]),
      true,
      opts,
    );
    assert.equal(second[0].method, "stun");
  } finally {
    await stun.close();
  }
});

Deno.test("measureRegions() sends STUN through the caller's prober when given one", async () => {
  const asked: string[] = [];
  const res = await measureRegions(
    {
      Regions: { "900": stunOnlyRegion("10.0.0.9", 3478) },
    },
    true,
    {
      stun: (ip, port) => {
        asked.push(`${ip}:${port}`);
        return Promise.resolve(4.5);
      },
    },
  );
  assert.deepEqual(asked, ["10.0.0.9:3478"]);
  assert.deepEqual(res, [{ regionId: 900, latencyMs: 4.5, method: "stun" }]);
});

/** Region 900 with one STUN-only node at host:port. */
function stunOnlyRegion(host: string, port: number): DERPRegion {
  const node = { Name: "a", RegionID: 900, HostName: host, STUNPort: port, STUNOnly: true };
  return { RegionID: 900, RegionCode: "a", RegionName: "A", Nodes: [node] };
}
