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
  name:
    "DerpLinks sheds a burst beyond 32 queued packets per region, counts it and logs it rate-limited",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    // The server's own per-client queue must not be what drops "after" below.
    const home = startTestServer({ queueDepth: 4096 });
    let now = 0;
    const logs: string[] = [];
    const links = new DerpLinks({
      privateKey: generateNodePrivate(),
      plainHttp: true,
      log: (l) => logs.push(l),
      onPacket: () => {},
      now: () => now,
    });
    const peer = await dialDerp(home.url, { privateKey: generateNodePrivate() });
    try {
      links.setMap(mapFor([[900, home.port]]));
      links.setHome(900);
      await waitFor(() => links.status()[0].connected, "home link up");
      const pkt = new Uint8Array(1200);
      // One synchronous burst: nothing reaches the socket before it ends, so all but the
      // newest 32 are shed.
      for (let i = 0; i < 1000; i++) links.send(900, peer.publicKey, pkt);
      assert.equal(links.status()[0].dropped, 1000 - 32);
      const full = () => logs.filter((l) => l.includes("write queue full"));
      assert.equal(full().length, 1, logs.join("\n"));
      assert.match(full()[0], /^derp-900: write queue full; dropped 1 packets/);
      // Later drops inside the interval stay quiet; the next line after it sums them up.
      for (let i = 0; i < 100; i++) links.send(900, peer.publicKey, pkt);
      assert.equal(full().length, 1);
      now += 10_000;
      for (let i = 0; i < 100; i++) links.send(900, peer.publicKey, pkt);
      assert.equal(full().length, 2);
      assert.match(full()[1], /dropped \d+ packets \(\d+ in all\)/);
      // The link still works after shedding.
      await waitFor(() => links.status()[0].connected, "home link still up");
      links.send(900, peer.publicKey, new TextEncoder().encode("after"));
      for (;;) {
        const m = await recvType(peer, "packet");
        if (new TextDecoder().decode(m.data) === "after") break;
      }
    } finally {
      peer.close();
      await links.close();
      await home.close();
    }
  },
});

Deno.test({
  name: "DerpLinks keeps packets sent while a link is still connecting and writes them once up",
  sanitizeResources: false,
  sanitizeOps: false,
  async fn() {
    const home = startTestServer(), other = startTestServer();
    const links = new DerpLinks({
      privateKey: generateNodePrivate(),
      plainHttp: true,
      log: () => {},
      onPacket: () => {},
    });
    const peer = await dialDerp(home.url, { privateKey: generateNodePrivate() });
    const atOther = await dialDerp(other.url, { privateKey: generateNodePrivate() });
    const enc = new TextEncoder(), dec = new TextDecoder();
    try {
      links.setMap(mapFor([[900, home.port], [901, other.port]]));
      links.setHome(900);
      // A fresh node's first WireGuard handshake goes out before the dial is done: it must
      // not be lost (else WireGuard only retries after its 5 s REKEY_TIMEOUT).
      assert.equal(links.status()[0].connected, false);
      assert.equal(links.send(900, peer.publicKey, enc.encode("handshake")), true);
      assert.equal(dec.decode((await recvType(peer, "packet")).data), "handshake");
      // The wait is bounded like the write queue: the oldest beyond 32 are shed and counted.
      for (let i = 0; i < 40; i++) links.send(901, atOther.publicKey, enc.encode(`p${i}`));
      assert.equal(links.status().find((s) => s.region === 901)?.dropped, 8);
      assert.equal(dec.decode((await recvType(atOther, "packet")).data), "p8");
    } finally {
      peer.close();
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
