import { concatBytes } from "../bytes/concat.ts";
import assert from "node:assert/strict";
import { mulberry32 } from "../testing/prng.ts";
import type { DuplexConn } from "./conn.ts";
import { WebSocketConn } from "./http_websocket.ts";

/** A conn that serves `bytes` in reads of at most `chunk` bytes and records writes. */
function conn(bytes: Uint8Array, chunk = Infinity): DuplexConn & { writes: Uint8Array[] } {
  let off = 0;
  const c = {
    writes: [] as Uint8Array[],
    read(p: Uint8Array): Promise<number | null> {
      if (off >= bytes.length) return Promise.resolve(null);
      const k = Math.min(p.length, chunk, bytes.length - off);
      p.set(bytes.subarray(off, off + k));
      off += k;
      return Promise.resolve(k);
    },
    write(p: Uint8Array): Promise<number> {
      c.writes.push(p.slice());
      return Promise.resolve(p.length);
    },
    close() {},
  };
  return c;
}

/** Client frames (masked) as WebSocketConn writes them. */
async function clientFrames(payloads: Uint8Array[]): Promise<Uint8Array> {
  const sink = conn(new Uint8Array(0));
  const ws = new WebSocketConn(sink, true);
  for (const p of payloads) await ws.write(p);
  return concatBytes(sink.writes);
}

async function readAll(ws: WebSocketConn): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  const p = new Uint8Array(1000);
  for (let n = await ws.read(p); n !== null; n = await ws.read(p)) parts.push(p.slice(0, n));
  return concatBytes(parts);
}

Deno.test("WebSocketConn reads the data of masked frames however the stream is split", async () => {
  const rand = mulberry32(4);
  const payloads = Array.from(
    { length: 60 },
    (_, i) => Uint8Array.from({ length: [0, 5, 125, 126, 300, 70_000][i % 6] }, () => rand() * 256),
  );
  const bytes = await clientFrames(payloads);
  for (const chunk of [1, 7, 4096, Infinity]) {
    const ws = new WebSocketConn(conn(bytes, chunk), false);
    assert.deepEqual(await readAll(ws), concatBytes(payloads), `reads of ${chunk}`);
  }
});

Deno.test("WebSocketConn answers pings and stops at a close frame", async () => {
  const c = conn(Uint8Array.of(0x89, 0x82, 1, 2, 3, 4, 0x62, 0x60, 0x88, 0x80, 0, 0, 0, 0));
  assert.equal(await new WebSocketConn(c, false).read(new Uint8Array(10)), null);
  assert.deepEqual(c.writes[0], Uint8Array.of(0x8a, 2, 0x63, 0x62), "pong with the ping's data");
});

Deno.test("WebSocketConn reads many small frames after a large one in linear time", async () => {
  // A 1 MiB frame grew the buffer; every frame after it used to move the whole rest of the
  // buffer down, so 160,000 empty pongs (960 KB) took 1.4 s of a single-threaded server.
  const big = new Uint8Array(14 + (1 << 20));
  big.set([0x82, 0x80 | 127, 0, 0, 0, 0, 0, 0x10, 0, 0]);
  const pongs = new Uint8Array(6 * 160_000);
  for (let i = 0; i < pongs.length; i += 6) pongs.set([0x8a, 0x80], i);
  const ws = new WebSocketConn(
    conn(concatBytes([big, pongs, Uint8Array.of(0x82, 0x81, 0, 0, 0, 0, 7)])),
    false,
  );
  // Linear means the buffer's compactions move each byte about once: counted, not timed (a
  // wall-clock bound failed on a busy CI host at 749 ms).
  const copyWithin = Uint8Array.prototype.copyWithin;
  let moved = 0;
  Uint8Array.prototype.copyWithin = function (
    this: Uint8Array,
    target: number,
    start: number,
    end: number = this.length,
  ) {
    moved += Math.max(0, end - start);
    return copyWithin.call(this, target, start, end);
  };
  let data: Uint8Array;
  try {
    data = await readAll(ws);
  } finally {
    Uint8Array.prototype.copyWithin = copyWithin;
  }
  assert.equal(data.length, (1 << 20) + 1);
  assert.equal(data[data.length - 1], 7);
  const input = big.length + pongs.length + 7;
  assert.ok(moved <= input, `compactions moved ${moved} bytes of ${input} read`);
});

Deno.test("WebSocketConn rejects frames with the wrong masking or an oversized length", async () => {
  await assert.rejects(
    new WebSocketConn(conn(Uint8Array.of(0x82, 0x01, 7)), false).read(new Uint8Array(4)),
    /masking is wrong/,
  );
  const huge = Uint8Array.of(0x82, 0xff, 0, 0, 0, 0, 0x10, 0, 0, 1, 0, 0, 0, 0);
  await assert.rejects(
    new WebSocketConn(conn(huge), false).read(new Uint8Array(4)),
    /too large/,
  );
});

/** One unmasked server-side view of a client frame: b0, masked length byte, mask, payload. */
function rawClientFrame(b0: number, payload: Uint8Array): Uint8Array {
  const len = payload.length;
  const head = len < 126 ? [b0, 0x80 | len] : [b0, 0x80 | 126, len >> 8, len & 0xff];
  return Uint8Array.of(...head, 0, 0, 0, 0, ...payload); // zero mask: payload as is
}

Deno.test("WebSocketConn answers a small ping but refuses long, fragmented or RSV control frames", async () => {
  const ok = conn(
    concatBytes([
      rawClientFrame(0x89, Uint8Array.of(1, 2, 3)),
      rawClientFrame(0x82, Uint8Array.of(9)),
    ]),
  );
  const ws = new WebSocketConn(ok, false);
  assert.deepEqual(await readAll(ws), Uint8Array.of(9));
  assert.deepEqual(ok.writes[0], Uint8Array.of(0x8a, 3, 1, 2, 3)); // the pong
  for (
    const [what, frame] of [
      ["a 126-byte ping", rawClientFrame(0x89, new Uint8Array(126))],
      ["a ping without FIN", rawClientFrame(0x09, new Uint8Array(1))],
      ["a data frame with RSV1", rawClientFrame(0xc2, new Uint8Array(1))],
    ] as const
  ) {
    const c = conn(frame);
    await assert.rejects(() => new WebSocketConn(c, false).read(new Uint8Array(10)), Error, what);
    assert.equal(c.writes.length, 0, `${what}: nothing echoed`);
  }
});
