import assert from "node:assert/strict";
import { FfiTcpListener, listenPlainDerp } from "./ffi_listener.ts";
import type { FfiConn } from "./ffi_conn.ts";
import { writeAll } from "./conn.ts";
import { dialDerp } from "./dial.ts";
import { recvType, startTestServer, waitFor } from "./testing.ts";
import { generateNodePrivate } from "../key/node_key.ts";
import {
  getIntOption,
  IPPROTO_TCP,
  type ServerSocketOptions,
  TCP_KEEPIDLE,
  TCP_USER_TIMEOUT,
} from "../../ffi/tcp.ts";

const te = new TextEncoder();
const td = new TextDecoder();

/** A listener plus a queue of accepted connections. */
function listen(socket?: ServerSocketOptions) {
  const l = FfiTcpListener.listen({ hostname: "127.0.0.1", port: 0, socket });
  const accepted: { conn: FfiConn; host: string; port: number }[] = [];
  const serving = l.serveConns((conn, host, port) => accepted.push({ conn, host, port }));
  const next = async () => {
    await waitFor(() => accepted.length > 0, "an accepted connection");
    return accepted.shift()!;
  };
  return { l, serving, next };
}

Deno.test("FfiConn reads and writes in pull mode, and reports end of stream", async () => {
  const { l, serving, next } = listen();
  const client = await Deno.connect({ hostname: "127.0.0.1", port: l.addr.port });
  try {
    const { conn, host, port } = await next();
    assert.equal(host, "127.0.0.1");
    assert.equal(port, (client.localAddr as Deno.NetAddr).port);
    const buf = new Uint8Array(16);
    const pending = conn.read(buf); // nothing there yet: waits for readiness
    await assert.rejects(() => conn.read(buf), /already pending/);
    await client.write(te.encode("hello"));
    const n = await pending;
    assert.equal(td.decode(buf.subarray(0, n!)), "hello");
    assert.equal(await conn.write(te.encode("world")), 5);
    const got = new Uint8Array(16);
    assert.equal(td.decode(got.subarray(0, (await client.read(got))!)), "world");
    client.close();
    assert.equal(await conn.read(buf), null);
    conn.close();
    await assert.rejects(() => conn.read(buf), /closed/);
    await assert.rejects(() => conn.write(buf), /closed/);
  } finally {
    l.close();
    await serving;
  }
});

Deno.test("FfiConn queues a write larger than the socket takes and finishes it as the peer reads", async () => {
  const { l, serving, next } = listen();
  const client = await Deno.connect({ hostname: "127.0.0.1", port: l.addr.port });
  try {
    const { conn } = await next();
    const big = new Uint8Array(16 * 1024 * 1024).map((_, i) => i & 0xff);
    const first = conn.write(big);
    const second = conn.write(te.encode("tail")); // ordered behind the first
    assert.ok(conn.unsent > 0);
    assert.equal(conn.writeSync(te.encode("x")), 0); // nothing jumps the queue
    let total = 0;
    const buf = new Uint8Array(1 << 20);
    const want = big.length + 4;
    let last = new Uint8Array(0);
    while (total < want) {
      const n = await client.read(buf);
      assert.ok(n !== null);
      for (let i = 0; i < n && total + i < big.length; i += 4099) {
        assert.equal(buf[i], (total + i) & 0xff);
      }
      last = buf.slice(Math.max(0, n - 4), n);
      total += n;
    }
    assert.equal(await first, big.length);
    assert.equal(await second, 4);
    assert.equal(td.decode(last), "tail");
    assert.equal(conn.unsent, 0);
    conn.close();
    client.close();
  } finally {
    l.close();
    await serving;
  }
});

Deno.test("FfiConn in push mode hands chunks to a callback and ends once", async () => {
  const { l, serving, next } = listen();
  const client = await Deno.connect({ hostname: "127.0.0.1", port: l.addr.port });
  try {
    const { conn } = await next();
    let text = "";
    const ends: (Error | undefined)[] = [];
    let closes = 0;
    conn.onClose = () => closes++;
    conn.push({
      pushed: (chunk) => (text += td.decode(chunk)),
      ended: (err) => ends.push(err),
    });
    assert.ok(conn.pushing);
    await assert.rejects(() => conn.read(new Uint8Array(4)), /push mode/);
    assert.throws(() => conn.push({ pushed: () => {}, ended: () => {} }), /already/);
    await client.write(te.encode("abc"));
    await client.write(te.encode("def"));
    await waitFor(() => text === "abcdef", "pushed bytes");
    assert.equal(l.openConns, 1);
    client.close();
    await waitFor(() => ends.length === 1, "end of stream");
    assert.equal(ends[0], undefined);
    conn.close();
    conn.close();
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(ends.length, 1);
    assert.equal(closes, 1);
    assert.equal(l.openConns, 0);
  } finally {
    l.close();
    await serving;
  }
});

Deno.test("closing an FfiConn in push mode ends it on a later microtask", async () => {
  const { l, serving, next } = listen();
  const client = await Deno.connect({ hostname: "127.0.0.1", port: l.addr.port });
  try {
    const { conn } = await next();
    let ended = false;
    conn.push({ pushed: () => {}, ended: () => (ended = true) });
    conn.close();
    assert.equal(ended, false);
    await Promise.resolve();
    assert.equal(ended, true);
    assert.throws(() => conn.writeSync(new Uint8Array(1)), /closed/);
    client.close();
  } finally {
    l.close();
    await serving;
  }
});

Deno.test("FfiTcpListener.serveConns() resolves only once the listener and its connections are closed", async () => {
  const { l, serving, next } = listen();
  const client = await Deno.connect({ hostname: "127.0.0.1", port: l.addr.port });
  const { conn } = await next();
  let done = false;
  serving.then(() => (done = true));
  l.close();
  await new Promise((r) => setTimeout(r, 20));
  assert.equal(done, false);
  await assert.rejects(() => Deno.connect({ hostname: "127.0.0.1", port: l.addr.port }));
  conn.close();
  await serving;
  assert.equal(done, true);
  client.close();
});

Deno.test("listenPlainDerp() uses FFI sockets for IP literals and Deno.listen for names", () => {
  const a = listenPlainDerp("127.0.0.1", 0);
  const b = listenPlainDerp("localhost", 0);
  try {
    assert.ok(a instanceof FfiTcpListener);
    assert.ok(!(b instanceof FfiTcpListener));
    assert.ok((a.addr as Deno.NetAddr).port > 0);
  } finally {
    a.close();
    b.close();
  }
});

Deno.test("DERP clients over the FFI listener relay packets; each leaves one open connection", async () => {
  const ts = startTestServer();
  const a = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  const b = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
  try {
    await recvType(a, "serverInfo");
    await recvType(b, "serverInfo");
    assert.equal(ts.server.metrics.connections, 2);
    for (let i = 0; i < 50; i++) await a.send(b.publicKey, te.encode(`p${i}`));
    for (let i = 0; i < 50; i++) {
      assert.equal(td.decode((await recvType(b, "packet")).data), `p${i}`);
    }
    // A raw HTTP request on the same listener still works.
    const c = await Deno.connect({ hostname: "127.0.0.1", port: ts.port });
    await writeAll(c, te.encode("GET /derp/probe HTTP/1.1\r\nConnection: close\r\n\r\n"));
    const buf = new Uint8Array(1024);
    assert.match(td.decode(buf.subarray(0, (await c.read(buf))!)), /^HTTP\/1\.1 200 OK/);
    c.close();
    a.close();
    await waitFor(() => ts.server.metrics.connections === 1, "a's connection closed");
  } finally {
    a.close();
    b.close();
    await ts.close();
  }
});

Deno.test("warren tun derp on plain HTTP (FFI sockets) says Restarting on SIGTERM and exits 0", async () => {
  const cli = new URL("../cli/derp.ts", import.meta.url).href;
  const args = ["--port", "0", "--address", "127.0.0.1", "--no-stun"];
  const p = new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      `import { derpCommand } from ${JSON.stringify(cli)};
Deno.exit(await derpCommand(${JSON.stringify(args)}));`,
    ],
    stdout: "piped",
    stderr: "null",
    stdin: "null",
  }).spawn();
  const reader = p.stdout.getReader();
  try {
    let out = "";
    while (!/serving http:\/\/[^\n]*\n/.test(out)) {
      const r = await reader.read();
      assert.ok(!r.done, `server exited early: ${out}`);
      out += td.decode(r.value);
    }
    const port = Number(out.match(/serving http:\/\/127\.0\.0\.1:(\d+)\/derp/)![1]);
    const c = await dialDerp(`http://127.0.0.1:${port}/derp`, {
      privateKey: generateNodePrivate(),
    });
    await recvType(c, "serverInfo");
    p.kill("SIGTERM");
    const r = await recvType(c, "restarting");
    assert.equal(r.reconnectInMs, 1000);
    assert.equal(await c.recv(), null);
    c.close();
    assert.equal((await p.status).code, 0);
  } finally {
    reader.releaseLock();
    await p.stdout.cancel().catch(() => {});
    try {
      p.kill("SIGKILL");
    } catch {
      // Already exited.
    }
  }
});

Deno.test("FfiTcpListener tunes accepted sockets: keep-alive time and TCP user timeout", async () => {
  const { l, serving, next } = listen({
    keepAlive: { idle: 600, interval: 600, count: 9 },
    userTimeoutMs: 15_000,
  });
  const client = await Deno.connect({ hostname: "127.0.0.1", port: l.addr.port });
  try {
    const { conn } = await next();
    assert.equal(getIntOption(conn.fd, IPPROTO_TCP, TCP_KEEPIDLE), 600);
    assert.equal(getIntOption(conn.fd, IPPROTO_TCP, TCP_USER_TIMEOUT), 15_000);
    conn.close();
  } finally {
    client.close();
    l.close();
    await serving;
  }
});

Deno.test("an accept rate limit closes connections beyond the burst at once and counts them", async () => {
  const ts = startTestServer({ http: { acceptLimit: { perSecond: 0.001, burst: 2 } } });
  try {
    const a = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
    const b = await dialDerp(ts.url, { privateKey: generateNodePrivate() });
    await assert.rejects(() => dialDerp(ts.url, { privateKey: generateNodePrivate() }));
    assert.equal(ts.server.metrics.refusedRateLimit, 1);
    a.close();
    b.close();
  } finally {
    await ts.close();
  }
});
