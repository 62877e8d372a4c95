import assert from "node:assert/strict";
import { StunServer } from "../stun/server.ts";
import { chooseHome, measureRegions, type RegionLatency } from "./derp_home.ts";

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
        "900": {
          RegionID: 900,
          RegionCode: "a",
          RegionName: "A",
          Nodes: [{
            Name: "a",
            RegionID: 900,
            HostName: "127.0.0.1",
            STUNPort: stun.port,
            STUNOnly: true,
          }],
        },
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
    stun.close();
  }
});
