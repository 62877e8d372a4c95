/**
 * Seeded mutation fuzzing of what warren reads from a control server: the
 * HTTP upgrade head, the TS2021 handshake and controlbase record framing,
 * the early payload, the map stream and its messages, and c2n requests.
 * Seeds are the real tailscaled 1.96.5 ↔ Headscale 0.28 captures.
 */
import { concatBytes } from "../src/bytes/concat.ts";
import assert from "node:assert/strict";
import { zstdCompressSync } from "node:zlib";
import { mulberry32 } from "../src/testing/prng.ts";
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
import { loadTs2021Fixture } from "../src/control/controlbase/_fixture_test_util.ts";
import { encodeFrame, FrameDecoder } from "../src/control/controlbase/frame.ts";
import { acceptHandshake, clientHandshake } from "../src/control/controlbase/handshake.ts";
import { type ByteStream, NoiseConn } from "../src/control/controlbase/conn.ts";
import { RecordSealer } from "../src/control/controlbase/record.ts";
import { findHeadEnd, parseResponseHead } from "../src/control/http_head.ts";
import { encodeEarlyPayload, readEarlyPayload } from "../src/control/early_noise.ts";
import { decodeMapMessage, MapMessageDecoder } from "../src/control/map_stream.ts";
import { parseC2nRequest } from "../src/control/c2n.ts";
import { parseServerKeyResponse } from "../src/control/server_key.ts";
import { ControlError } from "../src/control/errors.ts";
import { decodeBase64 } from "../src/control/_base64.ts";
import { generatePrivateKey, publicKeyFrom } from "../src/crypto/x25519.ts";

const { seed: SEED, scale } = fuzzSettings(0x5eed_0005);
const n = (count: number) => Math.round(count * scale);
const fx = loadTs2021Fixture();
const te = new TextEncoder();

/** Splits `b` into chunks whose sizes come from the case's own PRNG. */
function chunks(b: Uint8Array, c: FuzzCase): Uint8Array[] {
  const rand = mulberry32(SEED ^ c.index);
  const out: Uint8Array[] = [];
  for (let at = 0; at < b.length;) {
    const k = 1 + Math.floor(rand() * rand() * 600);
    out.push(b.slice(at, at + k));
    at += k;
  }
  return out;
}

function stream(parts: Uint8Array[]): ByteStream {
  let i = 0;
  return {
    read(p: Uint8Array): Promise<number | null> {
      if (i >= parts.length) return Promise.resolve(null);
      const c = parts[i], k = Math.min(p.length, c.length);
      p.set(c.subarray(0, k));
      if (k < c.length) parts[i] = c.subarray(k);
      else i++;
      return Promise.resolve(k);
    },
    write: (p) => Promise.resolve(p.length),
    close() {},
  };
}

const frameLen = [{ offset: 1, size: 2 as const }];

Deno.test("fuzz: controlbase FrameDecoder cuts the same frames as a reference walk", () => {
  const seeds = [fx.serverStream, fx.clientStream, fx.response, encodeFrame(3, te.encode("no"))];
  runFuzz(
    "controlbase frames",
    SEED,
    fuzzCases(seeds, { seed: SEED, count: n(4000), lengthFields: seeds.map(() => frameLen) }),
    (b, c) => {
      const d = new FrameDecoder();
      const got: { type: number; payload: Uint8Array }[] = [];
      let big = false;
      try {
        for (const chunk of chunks(b, c)) {
          d.push(chunk);
          for (let f = d.next(); f !== null; f = d.next()) got.push(f);
        }
      } catch (e) {
        big = documentedError(e, [RangeError]);
      }
      const want: typeof got = [];
      let off = 0;
      for (; off + 3 <= b.length; off += 3 + ((b[off + 1] << 8) | b[off + 2])) {
        const len = (b[off + 1] << 8) | b[off + 2];
        if (3 + len > 4096) {
          invariant(big, "an oversized frame is refused");
          break;
        }
        if (off + 3 + len > b.length) break;
        want.push({ type: b[off], payload: b.slice(off + 3, off + 3 + len) });
      }
      assert.deepEqual(got, want);
      if (!big) invariant(d.buffered === b.length - Math.min(off, b.length), "buffered rest");
      return big;
    },
  );
});

Deno.test("fuzz: TS2021 handshake frames throw documented errors or yield well-formed keys", () => {
  const server = fx.serverPrivate;
  const accepted = acceptHandshake(server, fx.initiation);
  assert.equal(accepted.version, 133);
  runFuzz(
    "ts2021 initiation",
    SEED,
    fuzzCases([fx.initiation], {
      seed: SEED,
      count: n(1200),
      lengthFields: [[{ offset: 0, size: 2 }, { offset: 3, size: 2 }]],
    }),
    (b) => {
      const r = attempt(() => acceptHandshake(server, b), [RangeError, SyntaxError, Error]);
      if (r === null) return true;
      const a = r.value;
      invariant(a.machinePublicKey.length === 32 && a.response.length === 51, "accepted");
      invariant(a.version === ((b[0] << 8) | b[1]), "version");
    },
  );
  const machine = generatePrivateKey();
  const fresh = () => clientHandshake(machine, publicKeyFrom(server), 133, machine);
  const response = acceptHandshake(server, fresh().initiation, machine).response;
  const refusal = encodeFrame(3, te.encode("controlbase: no"));
  runFuzz(
    "ts2021 response",
    SEED,
    fuzzCases([response, refusal, fx.response], {
      seed: SEED,
      count: n(1200),
      prefixesUpTo: 64,
      lengthFields: [frameLen, frameLen, frameLen],
    }),
    (b) => {
      const hs = fresh();
      const r = attempt(() => hs.finish(b), [Error]);
      if (r === null) return true;
      invariant(r.value.send.length === 32 && r.value.recv.length === 32, "keys");
    },
  );
});

Deno.test("fuzz: NoiseConn.read() on mutated records returns plaintext, null or a controlbase Error", async () => {
  const key = new Uint8Array(32).fill(9);
  const text = te.encode("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".repeat(40));
  const seeds = [
    new RecordSealer(key).seal(text),
    concatBytes([
      new RecordSealer(key).seal(text.subarray(0, 10)),
      encodeFrame(3, te.encode("bye")),
    ]),
    concatBytes([
      new RecordSealer(key).seal(encodeEarlyPayload({ nodeKeyChallenge: "chalpub:00" })),
    ]),
  ];
  const keys = { send: key, recv: key, handshakeHash: key };
  await runFuzzAsync(
    "noise conn",
    SEED,
    fuzzCases(seeds, { seed: SEED, count: n(2000), lengthFields: seeds.map(() => frameLen) }),
    async (b, c) => {
      const conn = new NoiseConn(stream(chunks(b, c)), keys);
      let total = 0;
      try {
        for (let p = await conn.read(); p !== null; p = await conn.read()) total += p.length;
      } catch (e) {
        documentedError(e, [Error]);
        invariant((e as Error).message.startsWith("controlbase:"), "names its layer");
        return true;
      }
      invariant(total <= b.length, "no more plaintext than bytes");
    },
  );
  // The early payload is read the same way: it is a JSON object, or an error.
  const early = (json: string) => {
    const b = encodeEarlyPayload({ nodeKeyChallenge: "" });
    const out = concatBytes([b.subarray(0, 9), te.encode(json)]);
    new DataView(out.buffer).setUint32(5, out.length - 9);
    return out;
  };
  const earlySeeds = [early('{"nodeKeyChallenge":"chalpub:00"}'), early("[1]"), early("7")];
  await runFuzzAsync(
    "early payload",
    SEED,
    fuzzCases(earlySeeds, {
      seed: SEED,
      count: n(1500),
      lengthFields: earlySeeds.map(() => [{ offset: 5, size: 4 as const }]),
    }),
    async (b) => {
      const conn = new NoiseConn(stream([new RecordSealer(key).seal(b)]), keys);
      const r = await attemptAsync(() => readEarlyPayload(conn), [RangeError, SyntaxError, Error]);
      if (r === null) return true;
      const early = r.value;
      invariant(early === null || (typeof early === "object" && !Array.isArray(early)), "object");
    },
  );
});

Deno.test("fuzz: parseResponseHead() throws SyntaxError or returns an HTTP/1.x status", () => {
  const heads = [
    te.encode((fx.raw.upgrade_response_headers as string[]).join("\r\n") + "\r\n\r\n\x04\x00"),
    te.encode("HTTP/1.1 426 Upgrade Required\r\nContent-Length: 5\r\n\r\nnope\n"),
  ];
  runFuzz("control http head", SEED, fuzzCases(heads, { seed: SEED, count: n(3000) }), (b) => {
    const end = findHeadEnd(b);
    const r = attempt(() => parseResponseHead(b), [SyntaxError]);
    if (r === null) return true;
    const h = r.value;
    invariant(end >= 4 && Number.isInteger(h.status) && h.status >= 0 && h.status <= 999, "status");
    assert.deepEqual(h.rest, b.slice(end));
    for (const name of h.headers.keys()) invariant(name === name.toLowerCase(), "lower case");
  });
});

const mapDir = new URL(
  "../src/netmap/testdata/headscale-0.28-mapresponses/node2/",
  import.meta.url,
);
const mapJson = [...Deno.readDirSync(mapDir)].map((e) => e.name).sort().slice(0, 4).map((f) =>
  te.encode(JSON.stringify(JSON.parse(Deno.readTextFileSync(new URL(f, mapDir)))))
);

Deno.test("fuzz: the map stream cuts messages as a reference walk; messages decode or throw SyntaxError", () => {
  const frame = (p: Uint8Array) =>
    concatBytes([Uint8Array.of(p.length, p.length >> 8, p.length >> 16, 0), p]);
  const zstd = mapJson.map((j) => new Uint8Array(zstdCompressSync(j)));
  const streams = [concatBytes(mapJson.map(frame)), concatBytes(zstd.map(frame))];
  runFuzz(
    "map stream",
    SEED,
    fuzzCases(streams, {
      seed: SEED,
      count: n(1500),
      lengthFields: streams.map(() => [{ offset: 0, size: 4, littleEndian: true }]),
    }),
    (b, c) => {
      const d = new MapMessageDecoder(1 << 16);
      const got: Uint8Array[] = [];
      try {
        for (const chunk of chunks(b, c)) {
          d.push(chunk);
          for (let m = d.next(); m !== null; m = d.next()) got.push(m);
        }
      } catch (e) {
        documentedError(e, [RangeError]);
      }
      let off = 0;
      for (const m of got) {
        const len = (b[off] | (b[off + 1] << 8) | (b[off + 2] << 16) | (b[off + 3] << 24)) >>> 0;
        assert.deepEqual(m, b.slice(off + 4, off + 4 + len));
        off += 4 + len;
      }
    },
  );
  runFuzz(
    "map message",
    SEED,
    fuzzCases([...mapJson, ...zstd], { seed: SEED, count: n(2500) }),
    (b, c) => {
      // RangeError: a mutated header may ask for more window or output than allowed.
      const r = attempt(
        () => decodeMapMessage(b, c.seedIndex >= mapJson.length),
        [SyntaxError, RangeError],
      );
      if (r === null) return true;
      const m: unknown = r.value;
      invariant(m !== null && typeof m === "object" && !Array.isArray(m), "an object");
    },
  );
});

Deno.test("fuzz: parseC2nRequest() throws SyntaxError or returns a request with a path", () => {
  const reqs = [
    "POST /echo HTTP/1.1\r\nHost: c2n\r\nContent-Length: 5\r\n\r\nhello",
    "GET //c2n/echo?x=1 HTTP/1.0\r\nUser-Agent: Go-http-client/1.1\r\n\r\n",
    "POST http://c2n/debug/metrics HTTP/1.1\r\n\r\n",
  ].map((s) => te.encode(s));
  runFuzz("c2n request", SEED, fuzzCases(reqs, { seed: SEED, count: n(4000) }), (b) => {
    const r = attempt(() => parseC2nRequest(b), [SyntaxError]);
    if (r === null) return true;
    const req = r.value;
    // An absolute target of another scheme ("x:y") has an empty path, as in Go.
    invariant(/^[A-Z]+$/.test(req.method) && typeof req.path === "string", "method and path");
    invariant(req.body.length <= b.length, "body");
  });
});

Deno.test("fuzz: the /key body and c2n base64 parsers throw their documented errors only", () => {
  const bodies = [
    JSON.stringify(fx.raw.get_key_response),
    (fx.raw.server_static_public as string).slice(5),
    '{"publicKey":"mkey:0000000000000000000000000000000000000000000000000000000000000000"}',
    btoa("GET /echo HTTP/1.1\r\n\r\n"),
  ].map((t) => te.encode(t));
  const td = new TextDecoder();
  runFuzz("control text", SEED, fuzzCases(bodies, { seed: SEED, count: n(3000) }), (b) => {
    const text = td.decode(b);
    const key = attempt(() => parseServerKeyResponse(text), [ControlError]);
    if (key !== null) invariant(key.value.length === 32 && key.value.some((x) => x), "a key");
    const bytes = attempt(() => decodeBase64(text), [SyntaxError]);
    if (bytes !== null) invariant(bytes.value.length <= text.length, "decoded length");
    return key === null && bytes === null;
  });
});
