import assert from "node:assert/strict";
import { recvType, startTestServer, waitFor } from "../derp/testing.ts";
import { dialDerp } from "../derp/dial.ts";
import { generateNodePrivate, publicFromPrivate } from "../key/node_key.ts";
import type { DERPMap } from "../netmap/tailcfg.ts";
import { DerpLinks } from "./derp_links.ts";

/** A DERP map with one region per (region ID, local port). */
function mapFor(ports: [number, number][]): DERPMap {
  const region = ([id, port]: [number, number]) => ({
    RegionID: id,
    RegionCode: `r${id}`,
    RegionName: `R${id}`,
    Nodes: [{ Name: `${id}a`, RegionID: id, HostName: "127.0.0.1", DERPPort: port, STUNPort: -1 }],
  });
  return { Regions: Object.fromEntries(ports.map((p) => [String(p[0]), region(p)])) };
}

Deno.test({
  name: "DerpLinks dials the home region, opens others on demand and closes them when idle",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const home = startTestServer(), other = startTestServer();
    let now = 0;
    const got: { region: number; data: string }[] = [];
    const ours = generateNodePrivate();
    const links = new DerpLinks({
      privateKey: ours,
      plainHttp: true,
      log: () => {},
      onPacket: (region, _src, data) => got.push({ region, data: new TextDecoder().decode(data) }),
      now: () => now,
      idleMs: 60_000,
    });
    const atHome = await dialDerp(home.url, { privateKey: generateNodePrivate() });
    const atOther = await dialDerp(other.url, { privateKey: generateNodePrivate() });
    try {
      links.setMap(mapFor([[900, home.port], [901, other.port]]));
      links.setHome(900);
      assert.deepEqual(links.status().map((s) => [s.region, s.home]), [[900, true]]);
      await waitFor(() => links.status()[0].connected, "home link up");
      // Sending through region 901 opens a second link on demand.
      const hello = new TextEncoder().encode("via 901");
      links.send(901, atOther.publicKey, hello);
      await waitFor(() => links.status().some((s) => s.region === 901 && s.connected), "901 up");
      links.send(901, atOther.publicKey, hello);
      const pkt = await recvType(atOther, "packet");
      assert.equal(new TextDecoder().decode(pkt.data), "via 901");
      // A minute without traffic closes the non-home link; home stays.
      now += 60_001;
      links.sweep();
      assert.deepEqual(links.status().map((s) => s.region), [900]);
      // Packets to us arrive through the home link.
      await atHome.send(publicFromPrivate(ours), new TextEncoder().encode("to home"));
      await waitFor(() => got.length === 1, "packet via home");
      assert.deepEqual(got[0], { region: 900, data: "to home" });
      assert.equal(links.lastHeard(900), 60_001, "the packet's arrival is the last frame heard");
      assert.equal(links.lastHeard(901), null, "no link, nothing heard");
    } finally {
      atHome.close();
      atOther.close();
      await links.close();
      await home.close();
      await other.close();
    }
  },
});

Deno.test({
  name: "DerpLinks reaches a region through its second node when the first node is dead",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const dead = Deno.listen({ hostname: "127.0.0.1", port: 0 });
    const deadPort = (dead.addr as Deno.NetAddr).port;
    dead.close(); // connection refused from now on
    const live = startTestServer();
    const links = new DerpLinks({
      privateKey: generateNodePrivate(),
      plainHttp: true,
      log: () => {},
      onPacket: () => {},
    });
    try {
      links.setMap({
        Regions: {
          "900": {
            RegionID: 900,
            RegionCode: "r900",
            RegionName: "R900",
            Nodes: [
              { Name: "900a", RegionID: 900, HostName: "127.0.0.1", DERPPort: deadPort },
              { Name: "900b", RegionID: 900, HostName: "127.0.0.1", DERPPort: live.port },
            ],
          },
        },
      });
      links.setHome(900);
      await waitFor(() => links.status()[0]?.connected === true, "home link up via node 900b");
    } finally {
      await links.close();
      await live.close();
    }
  },
});
