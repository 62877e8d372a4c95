import assert from "node:assert/strict";
import { dialDerp } from "../src/derp/dial.ts";
import { MeshPeer, meshUrl } from "../src/derp/mesh.ts";
import { recvType, startTestServer, waitFor } from "../src/derp/testing.ts";
import { PeerGoneReason, PeerPresentFlags } from "../src/derp/constants.ts";
import { generateNodePrivate } from "../src/key/node_key.ts";
import { parseIp, to16 } from "../src/net/ip.ts";

const te = new TextEncoder();
const td = new TextDecoder();

Deno.test("meshUrl() expands host[:port] entries and keeps URLs", () => {
  assert.equal(meshUrl("derp2.example", "https", 443), "https://derp2.example:443/derp");
  assert.equal(meshUrl("10.0.0.2:3340", "http", 1), "http://10.0.0.2:3340/derp");
  assert.equal(meshUrl("::1", "http", 3340), "http://[::1]:3340/derp");
  assert.equal(meshUrl("[::1]:99", "http", 3340), "http://[::1]:99/derp");
  assert.equal(meshUrl("https://a.example:8443", "http", 1), "https://a.example:8443/derp");
  assert.equal(meshUrl("http://a/x/derp", "https", 1), "http://a/x/derp");
});

Deno.test("two meshed servers relay between their clients and propagate PeerGone", async () => {
  const meshKey = crypto.getRandomValues(new Uint8Array(32));
  const k1 = generateNodePrivate(), k2 = generateNodePrivate();
  const s1 = startTestServer({ privateKey: k1, meshKey });
  const s2 = startTestServer({ privateKey: k2, meshKey });
  const m1 = new MeshPeer({ server: s1.server, privateKey: k1, meshKey, url: s2.url });
  const m2 = new MeshPeer({ server: s2.server, privateKey: k2, meshKey, url: s1.url });
  const a = await dialDerp(s1.url, { privateKey: generateNodePrivate() });
  const b = await dialDerp(s2.url, { privateKey: generateNodePrivate() });
  try {
    await recvType(a, "serverInfo");
    await recvType(b, "serverInfo");
    // Each server learns the other's client through WatchConns.
    await waitFor(() => m1.connected && m2.connected, "mesh links up");
    await waitFor(() => m1.remoteKeys >= 2 && m2.remoteKeys >= 2, "mesh peers known");
    await a.send(b.publicKey, te.encode("a@1 to b@2"));
    const got = await recvType(b, "packet");
    assert.deepEqual(got.src, a.publicKey);
    assert.equal(td.decode(got.data), "a@1 to b@2");
    await b.send(a.publicKey, te.encode("b@2 to a@1"));
    assert.equal(td.decode((await recvType(a, "packet")).data), "b@2 to a@1");
    assert.equal(s1.server.metrics.packetsForwardedOut, 1);
    assert.equal(s2.server.metrics.packetsForwardedIn, 1);
    assert.ok(s1.server.gauges().mesh_watchers >= 1);
    // b leaves server 2: a, which received from b via the mesh, is told b is gone.
    b.close();
    const g = await recvType(a, "peerGone");
    assert.deepEqual(g.key, b.publicKey);
    assert.equal(g.reason, PeerGoneReason.Disconnected);
  } finally {
    a.close();
    b.close();
    await m1.close();
    await m2.close();
    await s1.close();
    await s2.close();
  }
});

Deno.test("a mesh watcher gets PeerPresent with address and flags, then PeerGone", async () => {
  const meshKey = crypto.getRandomValues(new Uint8Array(32));
  const s = startTestServer({ meshKey });
  const watcher = await dialDerp(s.url, { privateKey: generateNodePrivate(), meshKey });
  try {
    await recvType(watcher, "serverInfo");
    await watcher.watchConns();
    const own = await recvType(watcher, "peerPresent"); // itself, a mesh peer
    assert.equal(own.flags, PeerPresentFlags.IsMeshPeer);
    const c = await dialDerp(s.url, { privateKey: generateNodePrivate() });
    const p = await recvType(watcher, "peerPresent");
    assert.deepEqual(p.key, c.publicKey);
    assert.equal(p.flags, PeerPresentFlags.IsRegular);
    assert.deepEqual(p.ip, to16(parseIp("127.0.0.1")));
    assert.ok(p.port! > 0);
    // ClosePeer (mesh-only) closes that client's connection.
    await watcher.closePeer(c.publicKey);
    assert.equal(await c.recv().then((m) => m?.type === "serverInfo" ? c.recv() : m), null);
    assert.deepEqual((await recvType(watcher, "peerGone")).key, c.publicKey);
    c.close();
  } finally {
    watcher.close();
    await s.close();
  }
});
