/**
 * Seeded mutation fuzzing of DERP's decoders: frame splitting (checked
 * against a reference walk of the same bytes), every frame payload codec,
 * the HTTP head reader and the WebSocket transport. Seeds are tailscaled
 * 1.96.5's captured frames and warren's encoders.
 */
import { concatBytes } from "../src/bytes/concat.ts";
import assert from "node:assert/strict";
import { mulberry32 } from "../src/testing/prng.ts";
import { fromHex } from "../src/bytes/hex.ts";
import { type FuzzCase, fuzzCases } from "../src/testing/mutate.ts";
import {
  attempt,
  attemptAsync,
  documentedError,
  fuzzSettings,
  invariant,
  runFuzz,
  runFuzzAsync,
} from "../src/testing/fuzz.ts";
import {
  type ByteReader,
  decodeFrames,
  type Frame,
  FrameReader,
  FrameTooLargeError,
} from "../src/derp/frame.ts";
import { FrameAssembler } from "../src/derp/frame_assembler.ts";
import * as msg from "../src/derp/messages.ts";
import { HttpHeadError, parseHead, readHttpHead } from "../src/derp/http_head.ts";
import { WebSocketConn } from "../src/derp/http_websocket.ts";
import type { DuplexConn } from "../src/derp/conn.ts";
import { parseNodePublic, parsePrivate } from "../src/key/node_key.ts";

const { seed: SEED, scale } = fuzzSettings(0x5eed_0002);
const n = (count: number) => Math.round(count * scale);
const fixture = JSON.parse(
  Deno.readTextFileSync(
    new URL(
      "../../shared/fixtures/derp-handshake-tailscaled-1.96.5-headscale-0.28.json",
      import.meta.url,
    ),
  ),
);
const serverPrivate = parsePrivate(fixture.server_private);
const serverPublic = parseNodePublic(fixture.server_public);
const clientPrivate = parsePrivate(fixture.client_node_private);
const key = new Uint8Array(32).fill(5);
const frames = [
  fromHex(fixture.server_key_frame_hex),
  fromHex(fixture.server_info_frame_hex),
  ...fixture.client_frames_hex.map((h: string) => fromHex(h)),
  msg.encodeSendPacket(key, new Uint8Array(20).fill(1)),
  msg.encodeForwardPacket(key, key, new Uint8Array(3)),
  msg.encodePeerPresent(key, new Uint8Array(16).fill(2), 41641, 3),
  msg.encodePeerGone(key, 1),
  msg.encodePing(new Uint8Array(8).fill(8)),
  msg.encodeRestarting(1000, 2000),
  msg.encodeHealth("problem"),
  msg.encodeKeepAlive(),
];
const stream = concatBytes(frames);
const frameLen = [{ offset: 1, size: 4 as const }];

/** A reader that hands out `bytes` in chunks whose sizes come from the case's own PRNG. */
function chunked(
  bytes: Uint8Array,
  c: FuzzCase,
): ByteReader & { chunks: Uint8Array[]; unread(): Uint8Array } {
  const rand = mulberry32(SEED ^ c.index);
  const chunks: Uint8Array[] = [];
  for (let at = 0; at < bytes.length;) {
    const k = 1 + Math.floor(rand() * rand() * 300);
    chunks.push(bytes.slice(at, at + k));
    at += k;
  }
  let i = 0;
  return {
    chunks,
    unread: () => concatBytes(chunks.slice(i)),
    read(p: Uint8Array): Promise<number | null> {
      if (i >= chunks.length) return Promise.resolve(null);
      const c = chunks[i];
      const k = Math.min(p.length, c.length);
      p.set(c.subarray(0, k));
      if (k < c.length) chunks[i] = c.subarray(k);
      else i++;
      return Promise.resolve(k);
    },
  };
}

/** The reference walk: the frames a reader must produce from `b`, then how it must end. */
function expected(b: Uint8Array, maxLen: number): { frames: Frame[]; end: "eof" | "cut" | "big" } {
  const out: Frame[] = [];
  let off = 0;
  for (;;) {
    if (off === b.length) return { frames: out, end: "eof" };
    if (b.length - off < 5) return { frames: out, end: "cut" };
    const len = ((b[off + 1] << 24) >>> 0) + (b[off + 2] << 16) + (b[off + 3] << 8) + b[off + 4];
    if (len > maxLen) return { frames: out, end: "big" };
    if (b.length - off - 5 < len) return { frames: out, end: "cut" };
    out.push({ type: b[off], payload: b.slice(off + 5, off + 5 + len) });
    off += 5 + len;
  }
}

const MAX = 4096;

Deno.test("fuzz: decodeFrames(), FrameReader and FrameAssembler agree with a reference walk", async () => {
  const seeds = [stream, ...frames];
  const cases = () =>
    fuzzCases(seeds, {
      seed: SEED,
      count: n(2500),
      prefixesUpTo: 64,
      lengthFields: seeds.map(() => frameLen),
    });
  runFuzz("derp decodeFrames", SEED, cases(), (b) => {
    const want = expected(b, Infinity);
    const r = attempt(() => decodeFrames(b), [SyntaxError]);
    invariant((r === null) === (want.end === "cut"), "rejects exactly a cut frame");
    if (r === null) return true;
    assert.deepEqual(r.value, want.frames);
  });
  await runFuzzAsync("derp FrameReader", SEED, cases(), async (b, c) => {
    const want = expected(b, MAX);
    const reader = new FrameReader(chunked(b, c), undefined, 64);
    const got: Frame[] = [];
    let end: string;
    try {
      for (let f = await reader.readFrame(MAX); f !== null; f = await reader.readFrame(MAX)) {
        got.push(f);
      }
      end = "eof";
    } catch (e) {
      documentedError(e, [Error]);
      end = e instanceof FrameTooLargeError ? "big" : "cut";
    }
    assert.deepEqual(got, want.frames);
    assert.equal(end, want.end);
    return end !== "eof";
  });
  runFuzz("derp FrameAssembler", SEED, cases(), (b, c) => {
    const want = expected(b, MAX);
    const a = new FrameAssembler();
    const got: Frame[] = [];
    let end = "eof";
    try {
      for (const chunk of chunked(b, c).chunks) a.push(chunk, MAX, (f) => void got.push(f));
      if (a.partial) end = "cut";
    } catch (e) {
      documentedError(e, [FrameTooLargeError]);
      end = "big";
    }
    assert.deepEqual(got.map((f) => ({ type: f.type, payload: f.payload.slice() })), want.frames);
    assert.equal(end, want.end);
    return end !== "eof";
  });
});

Deno.test("fuzz: DERP payload decoders throw SyntaxError or return in-range views", () => {
  const payloads = frames.map((f) => f.subarray(5));
  runFuzz(
    "derp payloads",
    SEED,
    fuzzCases(payloads, { seed: SEED, count: n(4000), prefixesUpTo: 128 }),
    (p) => {
      let rejected = 0;
      /** Runs a decoder; calls check on its result unless it threw its SyntaxError. */
      const run = <T>(decode: () => T, check: (v: T) => boolean, what: string) => {
        const r = attempt(decode, [SyntaxError]);
        if (r === null) rejected++;
        else invariant(check(r.value), what);
      };
      run(() => msg.decodeServerKey(p), (k) => k.length === 32, "server key");
      run(
        () => msg.decodeKeyedPacket(p),
        (k) => k.key.length === 32 && k.packet.length === p.length - 32,
        "keyed packet",
      );
      run(
        () => msg.decodeForwardPacket(p),
        (f) => f.src.length === 32 && f.dst.length === 32,
        "forward keys",
      );
      run(() => msg.decodeNotePreferred(p), (v) => typeof v === "boolean", "preferred");
      run(
        () => msg.decodePeerGone(p),
        (g) => g.key.length === 32 && g.reason >= 0 && g.reason <= 255,
        "peer gone",
      );
      run(
        () => msg.decodePeerPresent(p),
        (pp) =>
          pp.key.length === 32 && (pp.ip === undefined || pp.ip.length === 16) &&
          (pp.port === undefined || (pp.port >= 0 && pp.port <= 65535)),
        "peer present",
      );
      run(() => msg.decodePing(p), (d) => d.length === 8, "ping");
      run(() => msg.decodePong(p), (d) => d.length === 8, "pong");
      run(() => msg.decodeHealth(p), (t) => typeof t === "string", "health");
      run(
        () => msg.decodeRestarting(p),
        (r) => Number.isInteger(r.reconnectInMs) && Number.isInteger(r.tryForMs),
        "restarting",
      );
      return rejected === 9; // all but decodeHealth, which takes any bytes
    },
  );
});

Deno.test("fuzz: ClientInfo/ServerInfo boxes and JSON throw SyntaxError or decode well-typed", () => {
  const clientInfo = frames[2].subarray(5), serverInfo = frames[1].subarray(5);
  assert.equal(msg.decodeClientInfo(clientInfo, serverPrivate).info.CanAckPings, true);
  const checkInfo = (info: msg.ClientInfo) => {
    invariant(info.meshKey === undefined || info.meshKey.length === 32, "mesh key");
    invariant(info.version === undefined || typeof info.version === "number", "version");
    invariant(info.AppName === undefined || typeof info.AppName === "string", "app name");
  };
  runFuzz(
    "derp info boxes",
    SEED,
    fuzzCases([clientInfo, serverInfo], { seed: SEED, count: n(1500) }),
    (p) => {
      const ci = attempt(() => msg.decodeClientInfo(p, serverPrivate), [SyntaxError]);
      if (ci !== null) {
        invariant(ci.value.clientPublic.length === 32 && ci.value.boxKey.length === 32, "keys");
        checkInfo(ci.value.info);
      }
      const si = attempt(() => msg.decodeServerInfo(p, clientPrivate, serverPublic), [
        SyntaxError,
      ]);
      return ci === null && si === null;
    },
  );
  const te = new TextEncoder(), td = new TextDecoder();
  const json = [
    fixture.client_info_json,
    msg.clientInfoJson({ version: 2, meshKey: key, AppName: "x", IsProber: true }),
    fixture.server_info_json,
    msg.serverInfoJson({ version: 2, TokenBucketBytesBurst: 10, TokenBucketBytesPerSecond: 5 }),
  ].map((s) => te.encode(s));
  runFuzz("derp info json", SEED, fuzzCases(json, { seed: SEED, count: n(3000) }), (b) => {
    const text = td.decode(b);
    const ci = attempt(() => msg.parseClientInfoJson(text), [SyntaxError]);
    if (ci !== null) checkInfo(ci.value);
    const si = attempt(() => msg.parseServerInfoJson(text), [SyntaxError]);
    for (const v of Object.values(si?.value ?? {})) invariant(typeof v === "number", "number");
    return ci === null;
  });
});

const te = new TextEncoder();
const heads = [
  te.encode(fixture.upgrade_request_headers.join("\r\n") + "\r\n\r\n" + "rest"),
  te.encode(fixture.upgrade_response_headers.join("\r\n") + "\r\n\r\n"),
  te.encode(
    "GET /derp HTTP/1.1\r\nUpgrade: websocket\r\nSec-WebSocket-Protocol: derp\r\n" +
      "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nConnection: Upgrade\r\n\r\n",
  ),
];

Deno.test("fuzz: readHttpHead()/parseHead() throw HttpHeadError or return a consistent head", async () => {
  await runFuzzAsync(
    "derp http head",
    SEED,
    fuzzCases(heads, { seed: SEED, count: n(2500), prefixesUpTo: 256 }),
    async (b, c) => {
      const src = chunked(b, c);
      const r = await attemptAsync(() => readHttpHead(src, 1024), [HttpHeadError]);
      if (r === null) return true;
      const head = r.value;
      if (head === null) return invariant(b.length === 0, "null only for an empty stream");
      invariant(head.startLine.length >= 2, "start line");
      for (const name of head.headers.keys()) invariant(name === name.toLowerCase(), "lower");
      const end = b.findIndex((_, i) =>
        b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10
      );
      // rest is what the reads brought past the head; the stream holds the remainder.
      assert.deepEqual(concatBytes([head.rest, src.unread()]), b.slice(end + 4));
      attempt(() => parseHead(new TextDecoder("latin1").decode(b)), [HttpHeadError]);
    },
  );
});

/** A conn that records writes and reads from a chunked reader. */
function fakeConn(r: ByteReader): DuplexConn & { written: number; closed: boolean } {
  const conn = {
    written: 0,
    closed: false,
    read: (p: Uint8Array) => r.read(p),
    write(p: Uint8Array): Promise<number> {
      conn.written += p.length;
      return Promise.resolve(p.length);
    },
    close() {
      conn.closed = true;
    },
  };
  return conn;
}

Deno.test("fuzz: WebSocketConn.read() on mutated client frames returns data, null or an Error", async () => {
  const captured: Uint8Array[] = [];
  const client = new WebSocketConn({
    read: () => Promise.resolve(null),
    write: (p) => (captured.push(p.slice()), Promise.resolve(p.length)),
    close: () => {},
  }, true);
  for (const size of [0, 10, 200, 70_000]) await client.write(stream.subarray(0, size));
  const seeds = [...captured];
  seeds.push(Uint8Array.of(0x89, 0x82, 1, 2, 3, 4, 5, 6), Uint8Array.of(0x88, 0x80, 0, 0, 0, 0));
  seeds[2] = seeds[2].slice(0, 300); // keep the 126-length seed short
  const lengths = [{ offset: 1, size: 1 as const }, { offset: 2, size: 2 as const }];
  await runFuzzAsync(
    "derp websocket",
    SEED,
    fuzzCases(seeds.slice(0, 3).concat(seeds.slice(4)), {
      seed: SEED,
      count: n(2000),
      prefixesUpTo: 64,
      lengthFields: seeds.map(() => lengths),
    }),
    async (b, c) => {
      const conn = fakeConn(chunked(b, c));
      const ws = new WebSocketConn(conn, false);
      const p = new Uint8Array(512);
      const counts: number[] = [];
      const r = await attemptAsync(async () => {
        for (let k = await ws.read(p); k !== null; k = await ws.read(p)) counts.push(k);
      }, [Error]);
      for (const k of counts) invariant(k > 0 && k <= p.length, "read count");
      invariant(counts.reduce((a, k) => a + k, 0) <= b.length, "no more data than bytes");
      return r === null;
    },
  );
});
