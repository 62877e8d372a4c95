import assert from "node:assert/strict";
import { dialDerp } from "../src/derp/dial.ts";
import { DerpClient } from "../src/derp/client.ts";
import { recvType, sleep, startTestServer, waitFor } from "../src/derp/testing.ts";
import { PeerGoneReason } from "../src/derp/constants.ts";
import { DISCO_MAGIC } from "../src/disco/constants.ts";
import { encodeFrame } from "../src/derp/frame.ts";
import { WebSocketConn } from "../src/derp/http_websocket.ts";
import { readHttpHead } from "../src/derp/http_head.ts";
import { toHex } from "../src/bytes/hex.ts";
import { generateNodePrivate } from "../src/key/node_key.ts";

const te = new TextEncoder();

function disco(): Uint8Array {
  const p = new Uint8Array(6 + 32 + 24 + 16);
  p.set(DISCO_MAGIC);
  return p;
}

Deno.test("two clients on loopback exchange packets both ways", async () => {
  const ts = startTestServer();
  const a = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  const b = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  try {
    assert.deepEqual((await recvType(a, "serverInfo")).info, { version: 2 });
    assert.deepEqual((await recvType(b, "serverInfo")).info, { version: 2 });
    assert.deepEqual(a.serverPublic, ts.server.publicKey);
    await a.send(b.publicKey, te.encode("a to b"));
    const m = await recvType(b, "packet");
    assert.deepEqual(m.src, a.publicKey);
    assert.equal(new TextDecoder().decode(m.data), "a to b");
    await b.send(a.publicKey, te.encode("b to a"));
    const n = await recvType(a, "packet");
    assert.deepEqual(n.src, b.publicKey);
    assert.equal(new TextDecoder().decode(n.data), "b to a");
    // A maximum-size packet makes it through unchanged.
    const big = crypto.getRandomValues(new Uint8Array(65536));
    await a.send(b.publicKey, big);
    assert.deepEqual((await recvType(b, "packet")).data, big);
    assert.equal(ts.server.metrics.packetsSent, 3);
    assert.equal(ts.server.metrics.packetsRecv, 3);
  } finally {
    a.close();
    b.close();
    await ts.close();
  }
});

Deno.test("many packets in a burst arrive in order", async () => {
  const ts = startTestServer({ queueDepth: 4096 });
  const a = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  const b = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  try {
    await recvType(b, "serverInfo");
    const sends: Promise<void>[] = [];
    for (let i = 0; i < 1000; i++) {
      const p = new Uint8Array(1200);
      new DataView(p.buffer).setUint32(0, i);
      sends.push(a.send(b.publicKey, p));
    }
    await Promise.all(sends);
    for (let i = 0; i < 1000; i++) {
      const m = await recvType(b, "packet");
      assert.equal(new DataView(m.data.buffer, m.data.byteOffset).getUint32(0), i);
    }
  } finally {
    a.close();
    b.close();
    await ts.close();
  }
});

Deno.test("a receiver gets PeerGone(disconnected) when a peer that sent to it leaves", async () => {
  const ts = startTestServer();
  const a = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  const b = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  try {
    await recvType(b, "serverInfo"); // b is registered once its ServerInfo arrived
    await a.send(b.publicKey, te.encode("hi"));
    await recvType(b, "packet");
    a.close();
    const g = await recvType(b, "peerGone");
    assert.deepEqual(g.key, a.publicKey);
    assert.equal(g.reason, PeerGoneReason.Disconnected);
    assert.equal(ts.server.metrics.peerGoneDisconnected, 1);
  } finally {
    a.close();
    b.close();
    await ts.close();
  }
});

Deno.test("disco to an absent key gets PeerGone(NotHere), rate-limited; other packets do not", async () => {
  const ts = startTestServer();
  const a = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  try {
    const absent = new Uint8Array(32).fill(9);
    await a.send(absent, te.encode("wireguard-ish")); // not disco: silently dropped
    for (let i = 0; i < 10; i++) await a.send(absent, disco());
    const g = await recvType(a, "peerGone");
    assert.deepEqual(g.key, absent);
    assert.equal(g.reason, PeerGoneReason.NotHere);
    await waitFor(() => ts.server.metrics.drops.get("unknown_dest") === 11, "11 drops");
    await sleep(100);
    assert.equal(ts.server.metrics.peerGoneNotHere, 3); // burst of 3, then 1/s
  } finally {
    a.close();
    await ts.close();
  }
});

Deno.test("Ping is answered with Pong; server pings are answered by the client", async () => {
  const ts = startTestServer();
  const a = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  try {
    const data = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]);
    await a.ping(data);
    assert.deepEqual((await recvType(a, "pong")).data, data);
    // A ping with extra bytes (up to 1000) is echoed with its first 8.
    await a.writeRaw(encodeFrame(0x12, new Uint8Array([...data, 9, 9, 9])));
    assert.deepEqual((await recvType(a, "pong")).data, data);
    assert.equal(ts.server.metrics.pings, 2);
  } finally {
    a.close();
    await ts.close();
  }
});

Deno.test("NotePreferred marks the client as a home client", async () => {
  const ts = startTestServer();
  const a = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  try {
    await a.notePreferred(true);
    await waitFor(() => ts.server.gauges().home_clients === 1, "home client");
    await a.notePreferred(false);
    await waitFor(() => ts.server.gauges().home_clients === 0, "not home");
  } finally {
    a.close();
    await ts.close();
  }
});

Deno.test("the server sends KeepAlive frames on its period", async () => {
  const ts = startTestServer({ keepAliveMs: 100, keepAliveJitterMs: 10, sweepIntervalMs: 20 });
  const a = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  try {
    await recvType(a, "keepAlive", 3000);
    await recvType(a, "keepAlive", 3000);
    assert.ok(ts.server.metrics.keepAlives >= 2);
  } finally {
    a.close();
    await ts.close();
  }
});

Deno.test("graceful shutdown sends Restarting and then closes", async () => {
  const ts = startTestServer();
  const a = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  try {
    await recvType(a, "serverInfo");
    const closing = ts.close({ reconnectInMs: 1000, tryForMs: 10000 });
    const r = await recvType(a, "restarting");
    assert.deepEqual([r.reconnectInMs, r.tryForMs], [1000, 10000]);
    assert.equal(await a.recv(), null);
    await closing;
  } finally {
    a.close();
  }
});

Deno.test("duplicate connections for one key: the most recent writer gets the packets", async () => {
  const ts = startTestServer();
  const key = generateNodePrivate();
  const a1 = await dialDerp(ts.url, { privateKey: key });
  const a2 = await dialDerp(ts.url, { privateKey: key });
  const s = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  try {
    await recvType(a1, "serverInfo");
    await recvType(a2, "serverInfo");
    await waitFor(() => ts.server.clientConns === 3, "3 connections");
    assert.equal(ts.server.gauges().dup_client_keys, 1);
    // The newest connection is active on arrival.
    await s.send(a1.publicKey, te.encode("one"));
    assert.equal(new TextDecoder().decode((await recvType(a2, "packet")).data), "one");
    // a1 speaks: it becomes the active one.
    await a1.notePreferred(true);
    await waitFor(() => ts.server.gauges().home_clients === 1, "a1 activity");
    await s.send(a1.publicKey, te.encode("two"));
    assert.equal(new TextDecoder().decode((await recvType(a1, "packet")).data), "two");
    // When a1 leaves, a2 takes over and nobody is told the key is gone.
    a1.close();
    await waitFor(() => ts.server.clientConns === 2, "a1 gone");
    await s.send(a2.publicKey, te.encode("three"));
    assert.equal(new TextDecoder().decode((await recvType(a2, "packet")).data), "three");
    assert.equal(ts.server.metrics.peerGoneDisconnected, 0);
  } finally {
    a1.close();
    a2.close();
    s.close();
    await ts.close();
  }
});

Deno.test("fast start: no 101 reply, DERP framing right after the request", async () => {
  const ts = startTestServer();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: ts.port });
  try {
    await conn.write(te.encode(
      "GET /derp HTTP/1.1\r\nHost: x\r\nUpgrade: DERP\r\nConnection: Upgrade\r\nDerp-Fast-Start: 1\r\n\r\n",
    ));
    const c = await DerpClient.handshake(conn, {
      privateKey: generateNodePrivate(),
      serverPublic: ts.server.publicKey,
    });
    // The first bytes are the ServerKey frame (no HTTP head); the client skips it.
    assert.deepEqual((await recvType(c, "serverInfo")).info, { version: 2 });
  } finally {
    conn.close();
    await ts.close();
  }
});

Deno.test("the 101 reply carries Derp-Version and the bare-hex Derp-Public-Key", async () => {
  const ts = startTestServer();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: ts.port });
  try {
    await conn.write(
      te.encode("GET /derp HTTP/1.1\r\nHost: x\r\nUpgrade: derp\r\nConnection: Upgrade\r\n\r\n"),
    );
    const head = await readHttpHead(conn, 8192);
    assert.deepEqual(head!.startLine.slice(0, 2), ["HTTP/1.1", "101"]);
    assert.equal(head!.headers.get("upgrade"), "DERP");
    assert.equal(head!.headers.get("derp-version"), "2");
    assert.equal(head!.headers.get("derp-public-key"), toHex(ts.server.publicKey));
  } finally {
    conn.close();
    await ts.close();
  }
});

Deno.test("a WebSocket client with the derp subprotocol relays packets", async () => {
  const ts = startTestServer();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: ts.port });
  const b = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  try {
    await conn.write(te.encode(
      "GET /derp HTTP/1.1\r\nHost: x\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n" +
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n" +
        "Sec-WebSocket-Protocol: derp\r\n\r\n",
    ));
    const head = await readHttpHead(conn, 8192);
    assert.equal(head!.startLine[1], "101");
    // RFC 6455 §1.3 example key/accept pair.
    assert.equal(
      head!.headers.get("sec-websocket-accept"),
      "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=",
    );
    assert.equal(head!.headers.get("sec-websocket-protocol"), "derp");
    const ws = new WebSocketConn(conn, true, head!.rest);
    const c = await DerpClient.handshake(ws, { privateKey: generateNodePrivate() });
    await recvType(c, "serverInfo");
    await c.send(b.publicKey, te.encode("over ws"));
    assert.equal(new TextDecoder().decode((await recvType(b, "packet")).data), "over ws");
    await b.send(c.publicKey, te.encode("back"));
    assert.equal(new TextDecoder().decode((await recvType(c, "packet")).data), "back");
  } finally {
    conn.close();
    b.close();
    await ts.close();
  }
});

Deno.test("HTTP endpoints: probe, latency-check, generate_204, status, metrics, 426, 404", async () => {
  const ts = startTestServer();
  const base = `http://127.0.0.1:${ts.port}`;
  try {
    for (const p of ["/derp/probe", "/derp/latency-check"]) {
      const r = await fetch(base + p);
      await r.body?.cancel();
      assert.equal(r.status, 200);
      assert.equal(r.headers.get("access-control-allow-origin"), "*");
      const h = await fetch(base + p, { method: "HEAD" });
      assert.equal(h.status, 200);
      const post = await fetch(base + p, { method: "POST", body: "" });
      await post.body?.cancel();
      assert.equal(post.status, 405);
    }
    const g = await fetch(base + "/generate_204", {
      headers: { "X-Tailscale-Challenge": "ts_derp.example" },
    });
    assert.equal(g.status, 204);
    assert.equal(g.headers.get("x-tailscale-response"), "response ts_derp.example");
    assert.equal(
      g.headers.get("cache-control"),
      "no-cache, no-store, must-revalidate, no-transform, max-age=0",
    );
    const bad = await fetch(base + "/generate_204", {
      headers: { "X-Tailscale-Challenge": "bad value!" },
    });
    assert.equal(bad.headers.get("x-tailscale-response"), null);
    const root = await fetch(base + "/");
    assert.match(await root.text(), /DERP/);
    const m = await fetch(base + "/metrics");
    const text = await m.text();
    assert.match(text, /^derp_packets_dropped_total\{reason="queue_head"\} 0$/m);
    assert.match(text, /^derp_clients 0$/m);
    assert.match(text, /^derp_mesh_watchers 0$/m);
    const u = await fetch(base + "/derp");
    assert.equal(u.status, 426);
    assert.match(await u.text(), /DERP requires connection upgrade/);
    const nf = await fetch(base + "/nope");
    await nf.body?.cancel();
    assert.equal(nf.status, 404);
  } finally {
    await ts.close();
  }
});
