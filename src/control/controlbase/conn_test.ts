import assert from "node:assert/strict";
import http2 from "node:http2";
import { clientHandshake } from "./handshake.ts";
import { serverAccept } from "./server.ts";
import { NoiseConn } from "./conn.ts";
import { noiseDuplex } from "./noise_duplex.ts";
import { generatePrivateKey, publicKeyFrom } from "../../crypto/x25519.ts";
import { encodeEarlyPayload, readEarlyPayload } from "../early_noise.ts";
import { RESPONSE_LEN } from "./constants.ts";
import { RecordSealer } from "./record.ts";
import { encodeErrorFrame } from "./frame.ts";

interface Pair {
  client: NoiseConn;
  server: NoiseConn;
  close(): void;
}

async function readN(conn: Deno.Conn, n: number): Promise<Uint8Array> {
  const out = new Uint8Array(n);
  let off = 0;
  while (off < n) {
    const got = await conn.read(out.subarray(off));
    if (got === null) throw new Error("eof");
    off += got;
  }
  return out;
}

/** A client and server NoiseConn over real loopback TCP. */
async function loopbackPair(early?: Uint8Array): Promise<Pair> {
  const serverKey = generatePrivateKey();
  const machineKey = generatePrivateKey();
  const listener = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const hs = clientHandshake(machineKey, publicKeyFrom(serverKey), 113);
  const [rawClient, rawServer] = await Promise.all([
    Deno.connect({ hostname: "127.0.0.1", port: listener.addr.port }),
    listener.accept(),
  ]);
  listener.close();
  const serverP = serverAccept(rawServer, serverKey, hs.initiation, { earlyPayload: early });
  const keys = hs.finish(await readN(rawClient, RESPONSE_LEN));
  const client = new NoiseConn(rawClient, keys, { version: 113 });
  const server = await serverP;
  assert.deepEqual(server.peerStatic, publicKeyFrom(machineKey));
  assert.equal(server.version, 113);
  return {
    client,
    server,
    close() {
      client.close();
      server.close();
    },
  };
}

Deno.test("NoiseConn carries large writes both ways over loopback TCP", async () => {
  const p = await loopbackPair();
  try {
    const big = new Uint8Array(100_000).map((_, i) => (i * 7) & 0xff);
    const w = p.client.write(big);
    const got = await p.server.readExact(big.length);
    await w;
    assert.deepEqual(got, big);
    await p.server.write(Uint8Array.of(9, 8, 7));
    assert.deepEqual(await p.client.readExact(3), Uint8Array.of(9, 8, 7));
    p.server.close();
    assert.equal(await p.client.read(), null);
  } finally {
    p.close();
  }
});

/** A ByteStream that replays given chunks, then EOF, and records writes. */
class ScriptedStream {
  written: Uint8Array[] = [];
  closed = false;
  constructor(private chunks: Uint8Array[]) {}
  read(p: Uint8Array): Promise<number | null> {
    const c = this.chunks.shift();
    if (c === undefined) return Promise.resolve(null);
    const n = Math.min(c.length, p.length);
    p.set(c.subarray(0, n));
    if (n < c.length) this.chunks.unshift(c.subarray(n));
    return Promise.resolve(n);
  }
  write(p: Uint8Array): Promise<number> {
    this.written.push(p.slice());
    return Promise.resolve(p.length);
  }
  close(): void {
    this.closed = true;
  }
}

const key = new Uint8Array(32).fill(3);
const keys = { send: key, recv: key, handshakeHash: new Uint8Array(32) };

Deno.test("NoiseConn dies on a corrupted record, and stays dead", async () => {
  const wire = new RecordSealer(key).seal(new Uint8Array(50).fill(1));
  const good = wire.slice();
  wire[10] ^= 0x80;
  const s = new ScriptedStream([good.subarray(0, 30), good.subarray(30), wire]);
  const conn = new NoiseConn(s, keys);
  assert.deepEqual(await conn.read(), new Uint8Array(50).fill(1));
  await assert.rejects(conn.read(), /record 1 .* did not authenticate/);
  assert.ok(s.closed && conn.closed);
  await assert.rejects(conn.read(), /did not authenticate/);
  await assert.rejects(conn.write(Uint8Array.of(1)), /did not authenticate/);
});

Deno.test("NoiseConn rejects oversize frames, error frames, non-record frames and truncation", async () => {
  const cases: [Uint8Array[], RegExp][] = [
    [[Uint8Array.of(4, 0x10, 0x00)], /4099 bytes, over the 4096-byte limit/],
    [[encodeErrorFrame("go away")], /error frame: "go away"/],
    [[Uint8Array.of(2, 0, 1, 0)], /received response frame, want record/],
    [[Uint8Array.of(4, 0, 40, 1, 2)], /ended inside a frame/],
  ];
  for (const [chunks, re] of cases) {
    const conn = new NoiseConn(new ScriptedStream(chunks), keys);
    await assert.rejects(conn.read(), re);
  }
});

Deno.test("NoiseConn decrypts bytes buffered before it was created, then the stream", async () => {
  const sealer = new RecordSealer(key);
  const first = sealer.seal(Uint8Array.of(1, 2));
  const second = sealer.seal(Uint8Array.of(3));
  const s = new ScriptedStream([second]);
  const conn = new NoiseConn(s, keys, { buffered: first });
  assert.deepEqual(await conn.readExact(3), Uint8Array.of(1, 2, 3));
  assert.equal(await conn.read(), null);
  await conn.write(new Uint8Array(5000));
  assert.equal(s.written.reduce((n, w) => n + w.length, 0), 5000 + 2 * 19);
});

Deno.test("early payload then HTTP/2 over NoiseConn's Duplex, loopback TCP", async () => {
  const challenge = "chalpub:" + "ab".repeat(32);
  const p = await loopbackPair(encodeEarlyPayload({ nodeKeyChallenge: challenge }));
  const h2server = http2.createServer();
  try {
    h2server.on("stream", (stream, headers) => {
      let body = "";
      stream.on("data", (d) => body += d);
      stream.on("end", () => {
        stream.respond({ ":status": 200 });
        stream.end(`${headers[":method"]} ${headers[":path"]} ${headers["ts-lb"]} ${body}`);
      });
    });
    h2server.emit("connection", noiseDuplex(p.server));
    const early = await readEarlyPayload(p.client);
    assert.equal(early?.nodeKeyChallenge, challenge);
    const session = http2.connect("https://control.example", {
      createConnection: () => noiseDuplex(p.client),
    });
    try {
      const req = session.request({ ":method": "POST", ":path": "/machine/x", "ts-lb": "k" });
      req.end("hi");
      const chunks: string[] = [];
      req.setEncoding("utf8");
      for await (const c of req) chunks.push(c as string);
      assert.equal(chunks.join(""), "POST /machine/x k hi");
    } finally {
      session.destroy();
    }
  } finally {
    h2server.close();
    p.close();
  }
});

Deno.test("readEarlyPayload() replays the 9 bytes when the server sends no early payload", async () => {
  const sealer = new RecordSealer(key);
  const conn = new NoiseConn(
    new ScriptedStream([sealer.seal(new TextEncoder().encode("PRI * HTTP/2.0"))]),
    keys,
  );
  assert.equal(await readEarlyPayload(conn), null);
  assert.equal(new TextDecoder().decode(await conn.readExact(14)), "PRI * HTTP/2.0");
  const huge = new Uint8Array(9);
  huge.set([0xff, 0xff, 0xff, 0x54, 0x53, 0x7f, 0, 0, 0]);
  const big = new NoiseConn(new ScriptedStream([new RecordSealer(key).seal(huge)]), keys);
  await assert.rejects(readEarlyPayload(big), /exceeds the 10 MiB limit/);
});

Deno.test("readEarlyPayload() rejects JSON that is not an object with SyntaxError", async () => {
  // Found by tests/fuzz_control_test.ts: ffffff5453 00000003 "[1]" came back as an EarlyNoise.
  for (const json of ["[1]", "7", "null", '"x"']) {
    const body = new TextEncoder().encode(json);
    const payload = new Uint8Array(9 + body.length);
    payload.set([0xff, 0xff, 0xff, 0x54, 0x53, 0, 0, 0, body.length]);
    payload.set(body, 9);
    const conn = new NoiseConn(new ScriptedStream([new RecordSealer(key).seal(payload)]), keys);
    await assert.rejects(readEarlyPayload(conn), SyntaxError, json);
  }
});
