import assert from "node:assert/strict";
import { endpointFromString, UdpSocket } from "../../ffi/udp.ts";
import { StunServer } from "../stun/server.ts";
import type { PacketReceiver } from "../wireguard/device.ts";
import { DISCO_HEADER_LEN, DISCO_MAGIC } from "../disco/constants.ts";
import { discoverEndpoints, ENDPOINT_STUN } from "./endpoints.ts";
import { StunProber } from "./stun_prober.ts";
import { addrKey, MAX_ADDRS_PER_PEER } from "./addr_key.ts";
import { MAX_PEER_ADDRS, UdpConn } from "./udp_conn.ts";

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

Deno.test("UdpConn keeps a rebinding peer's newest addresses only, and a global cap over all peers", () => {
  const conn = new UdpConn(UdpSocket.bind(0, { rcvbuf: 0, sndbuf: 0 }), {
    disco() {},
    stun() {},
  }, 1280);
  const ep = (i: number) => endpointFromString(`198.51.${i >> 16}.${(i >> 8) & 0xff}:${i & 0xff}`);
  try {
    // One peer behind a NAT that hands out a new source port for every flow.
    const roamer = new Uint8Array(32).fill(1);
    const steady = new Uint8Array(32).fill(2);
    conn.setPeerAddr(endpointFromString("192.0.2.2:41641"), steady);
    for (let i = 0; i < 5000; i++) {
      conn.setPeerAddr(endpointFromString(`192.0.2.1:${1024 + i}`), roamer);
    }
    assert.equal(conn.peerAddrCount(roamer), MAX_ADDRS_PER_PEER);
    assert.equal(conn.peerAddrCount(), MAX_ADDRS_PER_PEER + 1);
    assert.equal(conn.peerAt(endpointFromString(`192.0.2.1:${1024 + 4999}`)), roamer);
    assert.equal(conn.peerAt(endpointFromString("192.0.2.1:1024")), undefined);
    assert.equal(conn.peerAt(endpointFromString("192.0.2.2:41641")), steady, "other peer kept");

    // An address that moves to another peer leaves the first one's list.
    const moved = endpointFromString(`192.0.2.1:${1024 + 4999}`);
    conn.setPeerAddr(moved, steady);
    assert.equal(conn.peerAt(moved), steady);
    assert.equal(conn.peerAddrCount(roamer), MAX_ADDRS_PER_PEER - 1);
    assert.equal(conn.peerAddrCount(steady), 2);

    // Thousands of peers, two sources each: the oldest addresses go first, but one that
    // was confirmed again since stays.
    const keys = Array.from({ length: 3000 }, (_, i) => {
      const k = new Uint8Array(32);
      new DataView(k.buffer).setUint32(0, i + 10);
      return k;
    });
    for (let i = 0; i < keys.length; i++) {
      conn.setPeerAddr(ep(2 * i), keys[i]);
      conn.setPeerAddr(ep(2 * i + 1), keys[i]);
      if (i % 100 === 0) conn.setPeerAddr(endpointFromString("192.0.2.2:41641"), steady);
    }
    assert.equal(conn.peerAddrCount(), MAX_PEER_ADDRS);
    assert.equal(conn.peerAt(ep(0)), undefined);
    assert.equal(conn.peerAddrCount(keys[0]), 0);
    assert.equal(conn.peerAt(ep(2 * 2999 + 1)), keys[2999]);
    assert.equal(conn.peerAt(endpointFromString("192.0.2.2:41641")), steady);

    conn.forgetPeer(keys[2999]);
    assert.equal(conn.peerAt(ep(2 * 2999 + 1)), undefined);
    assert.equal(conn.peerAddrCount(), MAX_PEER_ADDRS - 2);
  } finally {
    conn.close();
  }
});

Deno.test("UdpConn follows a source address that moves to another peer, or is forgotten", async () => {
  const a = UdpSocket.bind(0, { rcvbuf: 0, sndbuf: 0 });
  const b = UdpSocket.bind(0, { rcvbuf: 0, sndbuf: 0 });
  const conn = new UdpConn(b, { disco: () => {}, stun: () => {} }, 1280);
  const got: Uint8Array[] = [];
  conn.attach({
    receivePackets(_bufs, _sizes, eps, count) {
      for (let i = 0; i < count; i++) got.push(eps[i]);
    },
  });
  const one = new Uint8Array(32).fill(1), two = new Uint8Array(32).fill(2);
  const from = endpointFromString(`127.0.0.1:${a.port}`);
  const to = endpointFromString(`127.0.0.1:${b.port}`);
  const wg = new Uint8Array(32);
  wg[0] = 4;
  /** Sends `n` WireGuard-looking datagrams from a to the conn and drains them all. */
  const exchange = async (n: number) => {
    a.sendBatch(Array(n).fill(wg), Array(n).fill(wg.length), Array(n).fill(to), n);
    let m = 0;
    await waitUntil(() => (m += conn.drain()) >= n);
  };
  try {
    conn.setPeerAddr(from, one);
    await exchange(3);
    assert.deepEqual(got.splice(0), [one, one, one]);
    // The same address now confirmed for another peer: its datagrams are that peer's.
    conn.setPeerAddr(from, two);
    await exchange(2);
    assert.deepEqual(got.splice(0), [two, two]);
    conn.forgetPeer(two);
    await exchange(2);
    assert.equal(got.length, 0);
    assert.equal(conn.unknownSource, 2);
  } finally {
    a.close();
    conn.close();
  }
});
