import { concatBytes } from "../../bytes/concat.ts";
import assert from "node:assert/strict";
import http2 from "node:http2";
import { H2Connection } from "./connection.ts";
import {
  encodeFrame,
  encodeGoaway,
  encodeSettings,
  ErrorCode,
  Flag,
  FrameType,
  H2Error,
  H2StreamError,
  readU32,
  Setting,
  u32Payload,
} from "./frame.ts";
import { HpackEncoder } from "./hpack.ts";
import { nodeServer, scriptedTransport } from "./_test_util.ts";

const text = (s: string) => new TextEncoder().encode(s);
const str = (b: Uint8Array) => new TextDecoder().decode(b);

/** Reads a server stream's whole request body. */
function serverBody(stream: http2.ServerHttp2Stream): Promise<Uint8Array> {
  return new Promise((resolve) => {
    const parts: Uint8Array[] = [];
    stream.on("data", (c: Uint8Array) => parts.push(c));
    stream.on("end", () => {
      const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let off = 0;
      for (const p of parts) {
        out.set(p, off);
        off += p.length;
      }
      resolve(out);
    });
  });
}

/** A deterministic pattern of `n` bytes. */
const pattern = (n: number) => new Uint8Array(n).map((_, i) => (i * 7 + (i >> 9)) & 0xff);

Deno.test("h2: POST with headers and a body against node:http2, several on one connection", async () => {
  const srv = await nodeServer(async (stream, headers) => {
    const body = await serverBody(stream);
    stream.respond({
      ":status": 200,
      "content-type": "application/json",
      "x-lb": String(headers["ts-lb"]),
    });
    stream.end(
      JSON.stringify({
        path: headers[":path"],
        method: headers[":method"],
        n: body.length,
        authority: headers[":authority"],
        scheme: headers[":scheme"],
      }),
    );
  });
  const h2 = new H2Connection(srv.transport, { authority: "control.test" });
  try {
    for (let i = 0; i < 3; i++) {
      const res = await h2.request({
        method: "POST",
        path: `/machine/map?i=${i}`,
        headers: { "Content-Type": "application/json", "Ts-Lb": ["nodekey:aa", "nodekey:bb"] },
        body: text(`{"i":${i}}`),
      });
      assert.equal(res.status, 200);
      assert.equal(res.headers.find(([n]) => n === "x-lb")?.[1], "nodekey:aa, nodekey:bb");
      const got = JSON.parse(str(await res.readAll(1 << 16)));
      assert.deepEqual(got, {
        path: `/machine/map?i=${i}`,
        method: "POST",
        n: 7,
        authority: "control.test",
        scheme: "https",
      });
    }
    const get = await h2.request({ method: "GET", path: "/key" });
    assert.equal(get.status, 200);
    await get.readAll(100);
    assert.equal(h2.alive, true);
    assert.equal(h2.openStreams, 0);
  } finally {
    h2.close();
    await srv.close();
  }
});

Deno.test("h2: a 40 KB header value goes out as HEADERS and CONTINUATIONs", async () => {
  const big = "v".repeat(40_000);
  const srv = await nodeServer((stream, headers) => {
    stream.respond({ ":status": 200 });
    stream.end(String(headers["x-big"] === big));
  }, { maxHeaderListSize: 1 << 20 });
  const h2 = new H2Connection(srv.transport, { authority: "x" });
  try {
    const res = await h2.request({ method: "GET", path: "/", headers: { "x-big": big } });
    assert.equal(str(await res.readAll(10)), "true");
  } finally {
    h2.close();
    await srv.close();
  }
});

Deno.test("h2: a 1 MB streamed response through 16 KiB stream / 64 KiB connection windows, and a 200 KB upload", async () => {
  const big = pattern(1_000_000);
  const upload = pattern(200_000);
  const srv = await nodeServer(async (stream) => {
    const body = await serverBody(stream);
    stream.respond({
      ":status": 200,
      "x-got": String(body.length),
      "x-ok": String(body.every((b, i) => b === upload[i])),
    });
    // Written in pieces over time, as a long map poll would.
    for (let off = 0; off < big.length; off += 50_000) {
      stream.write(big.subarray(off, off + 50_000));
      await new Promise((r) => setTimeout(r, 1));
    }
    stream.end();
  });
  const h2 = new H2Connection(srv.transport, {
    authority: "x",
    streamWindow: 16384,
    connectionWindow: 65535,
  });
  try {
    const res = await h2.request({ method: "POST", path: "/machine/map", body: upload });
    assert.equal(res.headers.find(([n]) => n === "x-got")?.[1], "200000");
    assert.equal(res.headers.find(([n]) => n === "x-ok")?.[1], "true");
    let n = 0;
    let ok = true;
    for await (const c of res) {
      for (let i = 0; i < c.length; i++) if (c[i] !== big[n + i]) ok = false;
      n += c.length;
    }
    assert.equal(n, big.length);
    assert.ok(ok, "body bytes differ");
  } finally {
    h2.close();
    await srv.close();
  }
});

Deno.test("h2: a server with a 1000-byte initial window and 16 KiB frames still gets a 50 KB body", async () => {
  const body = pattern(50_000);
  const srv = await nodeServer(async (stream) => {
    const got = await serverBody(stream);
    stream.respond({ ":status": 200 });
    stream.end(String(got.length === body.length && got.every((b, i) => b === body[i])));
  }, { initialWindowSize: 1000, maxConcurrentStreams: 2 });
  const h2 = new H2Connection(srv.transport, { authority: "x" });
  try {
    // Three at once against a limit of two: the third waits for a slot.
    const all = await Promise.all([0, 1, 2].map(async () => {
      const res = await h2.request({ method: "POST", path: "/up", body });
      return str(await res.readAll(10));
    }));
    assert.deepEqual(all, ["true", "true", "true"]);
  } finally {
    h2.close();
    await srv.close();
  }
});

Deno.test("h2: PING from the server is acknowledged", async () => {
  const srv = await nodeServer((stream) => {
    stream.respond({ ":status": 204 });
    stream.end();
  });
  const h2 = new H2Connection(srv.transport, { authority: "x" });
  try {
    await (await h2.request({ method: "GET", path: "/" })).readAll(0);
    const rtt = await new Promise<number>((resolve, reject) =>
      srv.sessions[0].ping((err, ms) => err ? reject(err) : resolve(ms))
    );
    assert.ok(rtt >= 0);
    const after = await h2.request({ method: "GET", path: "/" });
    assert.equal(after.status, 204);
    assert.equal(h2.alive, true);
  } finally {
    h2.close();
    await srv.close();
  }
});

Deno.test("h2: GOAWAY lets the open stream finish, refuses new requests, then the connection closes", async () => {
  let release!: () => void;
  const released = new Promise<void>((r) => release = r);
  const srv = await nodeServer(async (stream) => {
    stream.respond({ ":status": 200 });
    stream.write("first ");
    stream.session!.goaway(http2.constants.NGHTTP2_NO_ERROR, 1);
    await released;
    stream.end("last");
  });
  const h2 = new H2Connection(srv.transport, { authority: "x" });
  try {
    const res = await h2.request({ method: "GET", path: "/long" });
    const first = await res.read();
    assert.equal(str(first!), "first ");
    while (h2.alive) await new Promise((r) => setTimeout(r, 5));
    await assert.rejects(
      h2.request({ method: "GET", path: "/new" }),
      (e) => e instanceof H2Error && /GOAWAY/.test(e.message),
    );
    release();
    assert.equal(str(await res.readAll(100)), "last");
    await h2.closed;
    assert.equal(h2.error, null);
  } finally {
    h2.close();
    await srv.close();
  }
});

Deno.test("h2: aborting before the response rejects and resets the stream", async () => {
  const srv = await nodeServer(() => {/* never answers */});
  const h2 = new H2Connection(srv.transport, { authority: "x" });
  try {
    const ac = new AbortController();
    const p = h2.request({ method: "GET", path: "/", signal: ac.signal });
    setTimeout(() => ac.abort(new Error("gave up")), 20);
    await assert.rejects(p, /gave up/);
    assert.equal(h2.openStreams, 0);
  } finally {
    h2.close();
    await srv.close();
  }
});

// --- raw server bytes ---------------------------------------------------------------

const settingsFrame = encodeFrame(FrameType.SETTINGS, 0, 0, new Uint8Array(0));
const okHead = encodeFrame(
  FrameType.HEADERS,
  Flag.END_HEADERS,
  1,
  new HpackEncoder().encode([[":status", "200"]]),
);

const dataFrame = (id: number, n: number, flags = 0) =>
  encodeFrame(FrameType.DATA, flags, id, new Uint8Array(n));

/** Runs the client against `script`, one request pending; returns the error and what was written. */
async function against(script: Uint8Array[], windows = {}, hang = true) {
  const t = scriptedTransport(script, hang);
  const h2 = new H2Connection(t, { authority: "x", ...windows });
  const req = h2.request({ method: "GET", path: "/" }).then((s) => s.readAll(1 << 20));
  const err = await req.then(() => null, (e) => e as Error);
  return { err, t, h2 };
}

Deno.test("h2: malformed server frames close the connection with GOAWAY and the matching code", async () => {
  const cases: Array<[string, Uint8Array[], number]> = [
    [
      "SETTINGS of 5 bytes",
      [encodeFrame(FrameType.SETTINGS, 0, 0, new Uint8Array(5))],
      ErrorCode.FRAME_SIZE_ERROR,
    ],
    [
      "PING of 3 bytes",
      [encodeFrame(FrameType.PING, 0, 0, new Uint8Array(3))],
      ErrorCode.FRAME_SIZE_ERROR,
    ],
    ["DATA on stream 0", [encodeFrame(FrameType.DATA, 0, 0, text("x"))], ErrorCode.PROTOCOL_ERROR],
    [
      "DATA on an unopened stream",
      [encodeFrame(FrameType.DATA, 0, 7, text("x"))],
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "a frame over 16 KiB",
      [encodeFrame(FrameType.DATA, 0, 1, new Uint8Array(20000))],
      ErrorCode.FRAME_SIZE_ERROR,
    ],
    ["HEADERS with garbage HPACK", [
      encodeFrame(FrameType.HEADERS, Flag.END_HEADERS, 1, new Uint8Array([0xff])),
    ], ErrorCode.COMPRESSION_ERROR],
    ["CONTINUATION without HEADERS", [
      encodeFrame(FrameType.CONTINUATION, Flag.END_HEADERS, 1, new Uint8Array(0)),
    ], ErrorCode.PROTOCOL_ERROR],
    ["HEADERS interrupted by PING", [
      encodeFrame(FrameType.HEADERS, 0, 1, new Uint8Array([0x88])),
      encodeFrame(FrameType.PING, 0, 0, new Uint8Array(8)),
    ], ErrorCode.PROTOCOL_ERROR],
    [
      "PUSH_PROMISE",
      [encodeFrame(FrameType.PUSH_PROMISE, Flag.END_HEADERS, 1, new Uint8Array(4))],
      ErrorCode.PROTOCOL_ERROR,
    ],
    [
      "WINDOW_UPDATE of 0",
      [encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, u32Payload(0))],
      ErrorCode.PROTOCOL_ERROR,
    ],
    ["connection window overflow", [
      encodeFrame(FrameType.WINDOW_UPDATE, 0, 0, u32Payload(0x7fffffff)),
    ], ErrorCode.FLOW_CONTROL_ERROR],
    ["initial window over 2^31-1", [
      encodeFrame(
        FrameType.SETTINGS,
        0,
        0,
        encodeSettings([[Setting.INITIAL_WINDOW_SIZE, 0x80000000]]),
      ),
    ], ErrorCode.FLOW_CONTROL_ERROR],
    ["max frame size below 16384", [
      encodeFrame(FrameType.SETTINGS, 0, 0, encodeSettings([[Setting.MAX_FRAME_SIZE, 100]])),
    ], ErrorCode.PROTOCOL_ERROR],
    ["padding longer than DATA", [
      okHead,
      encodeFrame(FrameType.DATA, Flag.PADDED, 1, new Uint8Array([9, 1, 2])),
    ], ErrorCode.PROTOCOL_ERROR],
    // One chunk, so the reader cannot hand credit back in between.
    ["DATA beyond the connection window", [
      concatBytes([okHead, ...Array.from({ length: 5 }, () => dataFrame(1, 16384))]),
    ], ErrorCode.FLOW_CONTROL_ERROR],
  ];
  for (const [name, script, code] of cases) {
    const { err, t, h2 } = await against([settingsFrame, ...script], { connectionWindow: 65535 });
    await h2.closed;
    assert.ok(err instanceof H2Error, `${name}: ${err}`);
    assert.equal(err.code, code, `${name}: ${err.message}`);
    assert.equal(h2.error, err, name);
    const goaway = t.frames().find((f) => f.type === FrameType.GOAWAY);
    assert.ok(goaway, `${name}: no GOAWAY`);
    assert.equal(readU32(goaway.payload, 4), code, name);
    assert.ok(t.closedCalls > 0, `${name}: transport left open`);
  }
});

Deno.test("h2: EOF, GOAWAY with an error, and fuzzed bytes fail the request, never throw from the loop", async () => {
  const eof = await against([settingsFrame], {}, false);
  assert.match(String(eof.err), /closed the connection/);
  const ga = await against([
    encodeFrame(FrameType.GOAWAY, 0, 0, encodeGoaway(0, ErrorCode.ENHANCE_YOUR_CALM, "slow down")),
  ]);
  assert.ok(ga.err instanceof H2Error && ga.err.code === ErrorCode.ENHANCE_YOUR_CALM);
  assert.match(ga.err.message, /slow down/);
  // Beyond one stream's window: that stream is reset, the connection lives.
  const sw = await against([
    settingsFrame,
    concatBytes([okHead, dataFrame(1, 16384), dataFrame(1, 10)]),
  ], {
    streamWindow: 16384,
  });
  assert.ok(sw.err instanceof H2StreamError && sw.err.code === ErrorCode.FLOW_CONTROL_ERROR);
  const rst = sw.t.frames().find((f) => f.type === FrameType.RST_STREAM);
  assert.equal(rst?.streamId, 1);
  assert.equal(sw.h2.alive, true);
  sw.h2.close();
  // RST_STREAM mid-body (raw: Deno's node:http2 ends a closed stream with END_STREAM instead).
  const rs = await against([
    settingsFrame,
    concatBytes([okHead, encodeFrame(FrameType.DATA, 0, 1, text("partial"))]),
    encodeFrame(FrameType.RST_STREAM, 0, 1, u32Payload(ErrorCode.CANCEL)),
  ]);
  assert.ok(rs.err instanceof H2StreamError && rs.err.code === ErrorCode.CANCEL, String(rs.err));
  assert.equal(rs.h2.alive, true);
  assert.equal(rs.h2.openStreams, 0);
  rs.h2.close();
  // Random frames after a valid head: every outcome is a clean result or an H2 error.
  let seed = 1;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  for (let i = 0; i < 300; i++) {
    const frames = [settingsFrame, okHead];
    for (let k = 0; k < 1 + (i % 4); k++) {
      const payload = new Uint8Array(Math.floor(rand() * 40)).map(() => Math.floor(rand() * 256));
      frames.push(
        encodeFrame(
          Math.floor(rand() * 11),
          Math.floor(rand() * 256),
          Math.floor(rand() * 4),
          payload,
        ),
      );
    }
    const raw = frames.map((f, j) =>
      j > 1 && rand() < 0.2 ? f.subarray(0, Math.floor(rand() * f.length)) : f
    );
    const { err } = await against(raw, {}, false);
    if (err !== null) {
      assert.ok(err instanceof H2Error || err instanceof H2StreamError, `case ${i}: ${err}`);
    }
  }
});

Deno.test("h2: the client's opening bytes are the preface, SETTINGS without push, and a window update", async () => {
  const t = scriptedTransport([], true);
  const h2 = new H2Connection(t, {
    authority: "x",
    streamWindow: 1 << 20,
    connectionWindow: 2 << 20,
  });
  assert.equal(str(t.written[0].subarray(0, 24)), "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
  const [settings, wu] = t.frames();
  assert.equal(settings.type, FrameType.SETTINGS);
  assert.deepEqual([...settings.payload], [0, 2, 0, 0, 0, 0, 0, 4, 0, 0x10, 0, 0]);
  assert.equal(wu.type, FrameType.WINDOW_UPDATE);
  assert.equal(readU32(wu.payload, 0), (2 << 20) - 65535);
  h2.close();
  await h2.closed;
});
