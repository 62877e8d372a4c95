import assert from "node:assert/strict";
import { dialDerp } from "../src/derp/dial.ts";
import { DerpClient } from "../src/derp/client.ts";
import { recvType, sleep, startTestServer, waitFor } from "../src/derp/testing.ts";
import { encodeFrame } from "../src/derp/frame.ts";
import { FrameType, MAGIC } from "../src/derp/constants.ts";
import { readHttpHead } from "../src/derp/http_head.ts";
import { sealTo } from "../src/crypto/nacl_box.ts";
import { encodeServerKey } from "../src/derp/messages.ts";
import { generateNodePrivate, publicFromPrivate } from "../src/key/node_key.ts";

const te = new TextEncoder();
const UPGRADE = te.encode(
  "GET /derp HTTP/1.1\r\nHost: x\r\nUpgrade: DERP\r\nConnection: Upgrade\r\n\r\n",
);

/** Reads until the peer closes; resolves true if it closed within ms. */
async function closedWithin(conn: Deno.Conn, ms: number): Promise<boolean> {
  const buf = new Uint8Array(65536);
  const end = Date.now() + ms;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<"timeout">((r) => (timer = setTimeout(() => r("timeout"), ms)));
  try {
    while (Date.now() < end) {
      const r = await Promise.race([conn.read(buf).catch(() => null), timeout]);
      if (r === "timeout") return false;
      if (r === null) return true;
    }
    return false;
  } finally {
    clearTimeout(timer);
  }
}

/** Raw upgraded connection with the ServerKey frame read off. */
async function rawUpgraded(port: number): Promise<{ conn: Deno.Conn; serverKey: Uint8Array }> {
  const conn = await Deno.connect({ hostname: "127.0.0.1", port });
  await conn.write(UPGRADE);
  const head = await readHttpHead(conn, 8192);
  let rest = head!.rest;
  while (rest.length < 45) {
    const b = new Uint8Array(64);
    const n = await conn.read(b);
    rest = new Uint8Array([...rest, ...b.subarray(0, n!)]);
  }
  return { conn, serverKey: rest.slice(13, 45) };
}

async function servesNewClients(url: string): Promise<void> {
  const c = await dialDerp(url, { privateKey: generateNodePrivate() });
  try {
    assert.equal((await recvType(c, "serverInfo")).type, "serverInfo");
  } finally {
    c.close();
  }
}

Deno.test("slowloris: a request head that never completes is closed at the deadline", async () => {
  const ts = startTestServer({ http: { handshakeTimeoutMs: 200 } });
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: ts.port });
  try {
    await conn.write(te.encode("GET /derp HTTP/1.1\r\nHost: x\r\n"));
    assert.ok(await closedWithin(conn, 3000));
    assert.equal(ts.server.metrics.handshakeFailures.get("timeout"), 1);
    await servesNewClients(ts.url);
  } finally {
    conn.close();
    await ts.close();
  }
});

Deno.test("slowloris: an upgraded connection that never sends ClientInfo is closed", async () => {
  const ts = startTestServer({ http: { handshakeTimeoutMs: 200 } });
  const { conn } = await rawUpgraded(ts.port);
  try {
    assert.ok(await closedWithin(conn, 3000));
    assert.equal(ts.server.metrics.handshakeFailures.get("timeout"), 1);
    await servesNewClients(ts.url);
  } finally {
    conn.close();
    await ts.close();
  }
});

Deno.test("a ClientInfo over 256 KiB is refused", async () => {
  const ts = startTestServer();
  const { conn } = await rawUpgraded(ts.port);
  try {
    await conn.write(new Uint8Array([FrameType.ClientInfo, 0, 0x04, 0, 1]));
    assert.ok(await closedWithin(conn, 3000));
    assert.equal(ts.server.metrics.handshakeFailures.get("oversize"), 1);
  } finally {
    conn.close();
    await ts.close();
  }
});

Deno.test("a ClientInfo box that does not open is refused", async () => {
  const ts = startTestServer();
  const { conn, serverKey } = await rawUpgraded(ts.port);
  try {
    // Claims key A but seals with key B.
    const a = publicFromPrivate(generateNodePrivate());
    const sealed = sealTo(te.encode(`{"version":2}`), serverKey, generateNodePrivate());
    await conn.write(encodeFrame(FrameType.ClientInfo, new Uint8Array([...a, ...sealed])));
    assert.ok(await closedWithin(conn, 3000));
    assert.equal(ts.server.metrics.handshakeFailures.get("bad_box"), 1);
    await servesNewClients(ts.url);
  } finally {
    conn.close();
    await ts.close();
  }
});

Deno.test("a ClientInfo with wrong JSON is refused", async () => {
  const ts = startTestServer();
  try {
    for (const json of [`not json`, `{"version":"2"}`, `[]`]) {
      const { conn, serverKey } = await rawUpgraded(ts.port);
      try {
        const priv = generateNodePrivate();
        const sealed = sealTo(te.encode(json), serverKey, priv);
        await conn.write(
          encodeFrame(
            FrameType.ClientInfo,
            new Uint8Array([...publicFromPrivate(priv), ...sealed]),
          ),
        );
        assert.ok(await closedWithin(conn, 3000), json);
      } finally {
        conn.close();
      }
    }
    assert.equal(ts.server.metrics.handshakeFailures.get("bad_json"), 3);
  } finally {
    await ts.close();
  }
});

Deno.test("a first frame other than ClientInfo is refused", async () => {
  const ts = startTestServer();
  const { conn } = await rawUpgraded(ts.port);
  try {
    await conn.write(encodeFrame(FrameType.SendPacket, new Uint8Array(40)));
    assert.ok(await closedWithin(conn, 3000));
    assert.equal(ts.server.metrics.handshakeFailures.get("bad_frame"), 1);
  } finally {
    conn.close();
    await ts.close();
  }
});

Deno.test("a client refuses a ServerKey frame with bad magic", async () => {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const served = (async () => {
    const c = await l.accept();
    await readHttpHead(c, 8192);
    const frame = encodeServerKey(publicFromPrivate(generateNodePrivate()));
    frame[5] ^= 0xff; // break the magic
    await c.write(te.encode("HTTP/1.1 101 Switching Protocols\r\nUpgrade: DERP\r\n\r\n"));
    await c.write(frame);
    await sleep(100);
    c.close();
  })();
  try {
    await assert.rejects(
      () =>
        dialDerp(`http://127.0.0.1:${(l.addr as Deno.NetAddr).port}/derp`, {
          privateKey: generateNodePrivate(),
        }),
      /bad magic/,
    );
    assert.equal(MAGIC.length, 8);
  } finally {
    await served;
    l.close();
  }
});

Deno.test("oversize frames close only the offending connection", async () => {
  const ts = startTestServer();
  const a = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  const b = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  const c = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  try {
    await recvType(b, "serverInfo");
    await recvType(c, "serverInfo");
    // A header announcing 2 MiB: closed without reading it.
    await a.writeRaw(new Uint8Array([FrameType.SendPacket, 0, 0x20, 0, 0]));
    assert.equal(await a.recv().then((m) => m?.type === "serverInfo" ? a.recv() : m), null);
    // A SendPacket one byte over the 64 KiB packet limit.
    await b.writeRaw(encodeFrame(FrameType.SendPacket, new Uint8Array(32 + 65537)));
    await waitFor(() => ts.server.metrics.protocolErrors === 2, "two protocol errors");
    await c.send(c.publicKey, te.encode("still alive"));
    assert.equal(new TextDecoder().decode((await recvType(c, "packet")).data), "still alive");
  } finally {
    a.close();
    b.close();
    c.close();
    await ts.close();
  }
});

Deno.test("unknown frame types are skipped", async () => {
  const ts = startTestServer();
  const a = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  try {
    await recvType(a, "serverInfo");
    await a.writeRaw(encodeFrame(0x7f, new Uint8Array(1000)));
    await a.writeRaw(encodeFrame(FrameType.KeepAlive, new Uint8Array(0)));
    await a.send(a.publicKey, te.encode("after"));
    assert.equal(new TextDecoder().decode((await recvType(a, "packet")).data), "after");
    assert.equal(ts.server.metrics.unknownFrames, 2);
  } finally {
    a.close();
    await ts.close();
  }
});

Deno.test("mesh-only frames and a bad NotePreferred from a regular client close it", async () => {
  const ts = startTestServer();
  try {
    const frames = [
      encodeFrame(FrameType.WatchConns, new Uint8Array(0)),
      encodeFrame(FrameType.ClosePeer, new Uint8Array(32)),
      encodeFrame(FrameType.ForwardPacket, new Uint8Array(70)),
      encodeFrame(FrameType.NotePreferred, new Uint8Array(2)),
      encodeFrame(FrameType.Ping, new Uint8Array(4)),
    ];
    for (const f of frames) {
      const c = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
      try {
        await recvType(c, "serverInfo");
        await c.writeRaw(f);
        assert.equal(await c.recv(), null, `frame type ${f[0]}`);
      } finally {
        c.close();
      }
    }
    assert.equal(ts.server.metrics.protocolErrors, frames.length);
  } finally {
    await ts.close();
  }
});

Deno.test("a wrong mesh key is refused at the handshake", async () => {
  const ts = startTestServer({ meshKey: new Uint8Array(32).fill(1) });
  try {
    const c = await dialDerp(ts.url, {
      privateKey: generateNodePrivate(),
      meshKey: new Uint8Array(32).fill(2),
    });
    assert.equal(await c.recv(), null);
    c.close();
    assert.equal(ts.server.metrics.handshakeFailures.get("bad_mesh_key"), 1);
  } finally {
    await ts.close();
  }
});

Deno.test("a client that stops reading: bounded queue, drops counted, closed at the write deadline", async () => {
  const ts = startTestServer({ writeTimeoutMs: 300, sweepIntervalMs: 50 });
  const sender = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  const other = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  // The stuck client handshakes and then never reads again.
  const stuckConn = await Deno.connect({ hostname: "127.0.0.1", port: ts.port });
  try {
    await stuckConn.write(UPGRADE);
    const head = await readHttpHead(stuckConn, 8192);
    const stuck = await DerpClient.handshake(
      stuckConn,
      { privateKey: generateNodePrivate() },
      head!.rest,
    );
    await recvType(other, "serverInfo");
    await waitFor(() => ts.server.clientKeys === 3, "3 clients");
    const pkt = new Uint8Array(60_000);
    for (let i = 0; i < 400 && !stuck.closed; i++) {
      await sender.send(stuck.publicKey, pkt); // 24 MB, more than the socket buffers hold
      if (ts.server.metrics.writeTimeouts > 0) break;
    }
    await waitFor(() => ts.server.metrics.writeTimeouts >= 1, "write timeout", 10000);
    assert.ok(ts.server.metrics.drops.get("queue_head")! > 0, "queue overflow drops counted");
    await waitFor(() => ts.server.clientKeys === 2, "stuck client removed", 5000);
    // Everyone else is still served.
    await sender.send(other.publicKey, te.encode("fine"));
    assert.equal(new TextDecoder().decode((await recvType(other, "packet")).data), "fine");
    stuck.close();
  } finally {
    try {
      stuckConn.close();
    } catch {
      // closed by the client already
    }
    sender.close();
    other.close();
    await ts.close();
  }
});

Deno.test("--max-conns refuses connections over the limit with 503", async () => {
  const ts = startTestServer({ http: { maxConns: 2 } });
  const a = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  const b = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  try {
    await assert.rejects(() => dialDerp(ts.url, { privateKey: generateNodePrivate() }), /503/);
    assert.equal(ts.server.metrics.refusedMaxConns, 1);
    a.close();
    await waitFor(() => ts.server.metrics.connections === 1, "a gone");
    await servesNewClients(ts.url);
  } finally {
    a.close();
    b.close();
    await ts.close();
  }
});

Deno.test("a malformed HTTP request gets 400 and the server keeps serving", async () => {
  const ts = startTestServer();
  const conn = await Deno.connect({ hostname: "127.0.0.1", port: ts.port });
  try {
    await conn.write(te.encode("GARBAGE\r\n\r\n"));
    const head = await readHttpHead(conn, 8192);
    assert.equal(head!.startLine[1], "400");
    await servesNewClients(ts.url);
  } finally {
    conn.close();
    await ts.close();
  }
});

Deno.test("a client that vanishes mid-stream is unregistered and its peers told", async () => {
  const ts = startTestServer();
  const a = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  const b = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  try {
    await recvType(b, "serverInfo");
    await a.send(b.publicKey, te.encode("x"));
    await recvType(b, "packet");
    // Half a frame, then the socket goes away.
    await a.writeRaw(new Uint8Array([FrameType.SendPacket, 0, 0, 1, 0, 1, 2]));
    a.close();
    assert.deepEqual((await recvType(b, "peerGone")).key, a.publicKey);
    assert.equal(ts.server.clientKeys, 1);
  } finally {
    b.close();
    await ts.close();
  }
});
