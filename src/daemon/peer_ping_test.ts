import assert from "node:assert/strict";
import { discoPingResponse, pingPeer } from "./peer_ping.ts";
import { emptyNetworkMap, type NetworkMap } from "../netmap/network_map.ts";
import type { Node } from "../netmap/tailcfg.ts";
import { formatNodePublic, generateNodePrivate, publicFromPrivate } from "../key/node_key.ts";

const peerKey = publicFromPrivate(generateNodePrivate());

function netmap(): NetworkMap {
  const peer = {
    ID: 2,
    Key: formatNodePublic(peerKey),
    Name: "beta.tailnet.test.",
    Addresses: ["100.64.0.2/32", "fd7a:115c:a1e0::2/128"],
  } as Node;
  return {
    ...emptyNetworkMap(),
    self: { Addresses: ["100.64.0.1/32"] } as Node,
    peers: new Map([[2, peer]]),
    derpMap: {
      Regions: { "900": { RegionID: 900, RegionCode: "hub", RegionName: "Hub", Nodes: [] } },
    },
  };
}

Deno.test("discoPingResponse() describes a pong over DERP or UDP as tailcfg.PingResponse", async () => {
  const asked: string[] = [];
  const viaDerp = await discoPingResponse(netmap(), "fd7a:115c:a1e0::2", (k) => {
    asked.push(formatNodePublic(k));
    return Promise.resolve({ via: "derp-900", latencyMs: 12.5 });
  });
  assert.deepEqual(asked, [formatNodePublic(peerKey)]);
  assert.deepEqual(viaDerp, {
    Type: "disco",
    IP: "fd7a:115c:a1e0::2",
    NodeIP: "100.64.0.2",
    NodeName: "beta",
    LatencySeconds: 0.0125,
    DERPRegionID: 900,
    DERPRegionCode: "hub",
  });
  const direct = await discoPingResponse(
    netmap(),
    "100.64.0.2",
    () => Promise.resolve({ via: "192.0.2.7:41641", latencyMs: 1 }),
  );
  assert.equal(direct.Endpoint, "192.0.2.7:41641");
  assert.equal(direct.DERPRegionID, undefined);
});

Deno.test("discoPingResponse() reports own and unknown IPs as Err, and throws on no pong", async () => {
  const never = () => Promise.reject(new Error("must not ping"));
  const own = await discoPingResponse(netmap(), "100.64.0.1", never);
  assert.equal(own.IsLocalIP, true);
  assert.match(own.Err ?? "", /is local Tailscale IP/);
  assert.equal((await discoPingResponse(netmap(), "100.64.0.99", never)).Err, "no matching peer");
  await assert.rejects(
    () => discoPingResponse(netmap(), "100.64.0.2", () => Promise.resolve(null)),
    /timed out/,
  );
});

Deno.test("pingPeer() finds the peer by name or address and reports the pong", async () => {
  const pong = { via: "derp-900", latencyMs: 3 };
  for (const target of ["beta", "beta.tailnet.test", "100.64.0.2"]) {
    assert.deepEqual(await pingPeer(netmap(), target, () => Promise.resolve(pong)), {
      peer: "beta.tailnet.test",
      address: "100.64.0.2",
      result: pong,
    });
  }
  await assert.rejects(() => pingPeer(netmap(), "gamma", () => Promise.resolve(pong)), /no peer/);
});
