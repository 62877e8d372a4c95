import assert from "node:assert/strict";
import { endpointToString } from "../../ffi/udp.ts";
import { HostCache } from "../net/host_cache.ts";
import { parseIp } from "../net/ip.ts";
import type { DERPMap } from "../netmap/tailcfg.ts";
import { encodeBindingResponse } from "../stun/codec.ts";
import { discoverEndpoints, stunServers } from "./endpoints.ts";
import { StunProber } from "./stun_prober.ts";

const MAP: DERPMap = {
  Regions: {
    "1": {
      RegionID: 1,
      RegionCode: "a",
      RegionName: "A",
      Nodes: [
        { Name: "1a", RegionID: 1, HostName: "stun-a.test.invalid", STUNPort: 3479 },
        { Name: "1b", RegionID: 1, HostName: "b.invalid", IPv4: "192.0.2.2", IPv6: "2001:db8::2" },
        { Name: "1c", RegionID: 1, HostName: "c.invalid", IPv4: "192.0.2.3", STUNPort: -1 },
      ],
    },
  },
};

const hosts = () =>
  new HostCache({
    resolveDns: (h, t) =>
      Promise.resolve(
        h === "stun-a.test.invalid" ? (t === "A" ? ["198.51.100.1"] : ["2001:db8::1"]) : [],
      ),
  });

Deno.test("stunServers() resolves nodes given only by HostName and includes IPv6", async () => {
  const servers = (await stunServers(MAP, hosts())).map(endpointToString);
  assert.deepEqual(servers, [
    "198.51.100.1:3479",
    "[2001:db8::1]:3479",
    "192.0.2.2:3478",
    "[2001:db8::2]:3478",
  ]);
});

Deno.test("discoverEndpoints() survives probes that cannot be sent and judges NAT variation on IPv4", async () => {
  const prober: StunProber = new StunProber((packet, to) => {
    const ip = to.subarray(8, 24);
    if (ip[0] === 0x20) throw new Error("Network is unreachable"); // no IPv6 route
    // Every IPv4 server sees the same public mapping.
    const reply = encodeBindingResponse(packet.subarray(4, 20), parseIp("203.0.113.9"), 41641);
    queueMicrotask(() => prober.handle(reply));
  });
  const d = await discoverEndpoints(prober, MAP, 41641, { hosts: hosts(), probeTimeoutMs: 200 });
  assert.equal(d.udp, true);
  assert.equal(d.mappingVariesByDestIp, false);
  assert.deepEqual(d.endpoints[0], { addr: "203.0.113.9:41641", type: 2 });
  prober.close();
});
