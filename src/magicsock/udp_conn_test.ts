import assert from "node:assert/strict";
import { endpointFromString, UdpSocket } from "../../ffi/udp.ts";
import { StunServer } from "../stun/server.ts";
import type { PacketReceiver } from "../wireguard/device.ts";
import { DISCO_HEADER_LEN, DISCO_MAGIC } from "../disco/constants.ts";
import { discoverEndpoints, ENDPOINT_STUN } from "./endpoints.ts";
import { StunProber } from "./stun_prober.ts";
import { addrKey, UdpConn } from "./udp_conn.ts";

function waitUntil(cond: () => boolean, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  return new Promise((resolve, reject) => {
    const tick = () => {
      if (cond()) resolve();
      else if (Date.now() > deadline) reject(new Error("timed out"));
      else setTimeout(tick, 5);
    };
    tick();
  });
}

Deno.test("UdpConn splits a batch into WireGuard (by known peer), disco and STUN", async () => {
  const a = UdpSocket.bind(0, { rcvbuf: 0, sndbuf: 0 });
  const b = UdpSocket.bind(0, { rcvbuf: 0, sndbuf: 0 });
  const discos: Uint8Array[] = [], stuns: Uint8Array[] = [];
  const conn = new UdpConn(b, { disco: (p) => discos.push(p), stun: (p) => stuns.push(p) }, 1280);
  const got: { ep: Uint8Array; first: number }[] = [];
  const recv: PacketReceiver = {
    receivePackets(bufs, _sizes, eps, count) {
      for (let i = 0; i < count; i++) got.push({ ep: eps[i], first: bufs[i][0] });
    },
  };
  conn.attach(recv);
  const peerKey = new Uint8Array(32).fill(7);
  const from = endpointFromString(`127.0.0.1:${a.port}`);
  const to = endpointFromString(`127.0.0.1:${b.port}`);
  try {
    const wg = new Uint8Array(32);
    wg[0] = 4;
    const disco = new Uint8Array(DISCO_HEADER_LEN + 16);
    disco.set(DISCO_MAGIC);
    const stun = new Uint8Array(20);
    stun.set([0x01, 0x01, 0, 0, 0x21, 0x12, 0xa4, 0x42]);
    // Unknown source first: dropped and counted.
    a.sendBatch([wg], [wg.length], [to], 1);
    await waitUntil(() => conn.drain() > 0);
    assert.equal(conn.unknownSource, 1);
    conn.setPeerAddr(from, peerKey);
    a.sendBatch([wg, disco, stun], [wg.length, disco.length, stun.length], [to, to, to], 3);
    let n = 0;
    await waitUntil(() => (n += conn.drain()) >= 3);
    assert.equal(got.length, 1);
    assert.equal(got[0].ep, peerKey);
    assert.equal(discos.length, 1);
    assert.equal(stuns.length, 1);
  } finally {
    a.close();
    conn.close();
  }
});

Deno.test("addrKey() is numeric for IPv4 and distinguishes ports", () => {
  const k1 = addrKey(endpointFromString("10.0.0.1:1000"));
  const k2 = addrKey(endpointFromString("10.0.0.1:1001"));
  assert.equal(typeof k1, "number");
  assert.notEqual(k1, k2);
  assert.equal(typeof addrKey(endpointFromString("[fd00::1]:1000")), "string");
});

Deno.test("discoverEndpoints() reports the STUN-mapped address of the shared socket", async () => {
  const stun = await StunServer.listen({ port: 0, hostname: "127.0.0.1" });
  const sock = UdpSocket.bind(0, { rcvbuf: 0, sndbuf: 0 });
  const prober = new StunProber((p, to) => conn.sendOne(p, to));
  const conn = new UdpConn(sock, { disco() {}, stun: (p) => prober.handle(p) }, 1280);
  const timer = setInterval(() => conn.drain(), 2);
  try {
    const d = await discoverEndpoints(prober, {
      Regions: {
        "1": {
          RegionID: 1,
          RegionCode: "t",
          RegionName: "T",
          Nodes: [{ Name: "t", RegionID: 1, HostName: "127.0.0.1", STUNPort: stun.port }],
        },
      },
    }, sock.port);
    assert.equal(d.udp, true);
    assert.deepEqual(d.endpoints[0], { addr: `127.0.0.1:${sock.port}`, type: ENDPOINT_STUN });
  } finally {
    clearInterval(timer);
    prober.close();
    conn.close();
    await stun.close();
  }
});
