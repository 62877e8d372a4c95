import assert from "node:assert/strict";
import { decodeFrames, encodeFrame, FrameReader, FrameTooLargeError } from "./frame.ts";

/** Serves bytes in the given chunk sizes, like a slow socket. */
function chunked(bytes: Uint8Array, size: number) {
  let off = 0;
  return {
    read(p: Uint8Array): Promise<number | null> {
      if (off >= bytes.length) return Promise.resolve(null);
      const n = Math.min(size, p.length, bytes.length - off);
      p.set(bytes.subarray(off, off + n));
      off += n;
      return Promise.resolve(n);
    },
  };
}

Deno.test("encodeFrame() writes type and big-endian length", () => {
  assert.deepEqual(encodeFrame(0x06, new Uint8Array()), new Uint8Array([6, 0, 0, 0, 0]));
  const f = encodeFrame(0x12, new Uint8Array(0x01020304 & 0xff).fill(1));
  assert.deepEqual(f.subarray(0, 5), new Uint8Array([0x12, 0, 0, 0, 4]));
  assert.throws(() => encodeFrame(256, new Uint8Array()), RangeError);
});

Deno.test("FrameReader reads frames split across 1-byte reads", async () => {
  const a = encodeFrame(4, new Uint8Array([1, 2, 3]));
  const b = encodeFrame(6, new Uint8Array());
  const big = encodeFrame(5, new Uint8Array(70_000).fill(9));
  const all = new Uint8Array([...a, ...b, ...big]);
  for (const size of [1, 7, 4096, 1 << 20]) {
    const r = new FrameReader(chunked(all, size));
    const f1 = await r.readFrame(1 << 20);
    assert.equal(f1?.type, 4);
    assert.deepEqual(f1?.payload, new Uint8Array([1, 2, 3]));
    const f2 = await r.readFrame(1 << 20);
    assert.equal(f2?.type, 6);
    assert.equal(f2?.payload.length, 0);
    const f3 = await r.readFrame(1 << 20);
    assert.equal(f3?.payload.length, 70_000);
    assert.equal(f3?.payload[69_999], 9);
    assert.equal(await r.readFrame(1 << 20), null);
  }
});

Deno.test("FrameReader starts with bytes left over from the HTTP head", async () => {
  const f = encodeFrame(7, new Uint8Array([1]));
  const r = new FrameReader(chunked(f.subarray(3), 2), f.subarray(0, 3));
  assert.deepEqual((await r.readFrame(10))?.payload, new Uint8Array([1]));
});

Deno.test("FrameReader rejects a header announcing more than the limit", async () => {
  const hdr = new Uint8Array([4, 0x00, 0x10, 0x00, 0x01]);
  const r = new FrameReader(chunked(hdr, 5));
  await assert.rejects(() => r.readFrame(1 << 20), FrameTooLargeError);
});

Deno.test("FrameReader rejects a stream that ends inside a frame", async () => {
  const f = encodeFrame(4, new Uint8Array(40));
  await assert.rejects(() => new FrameReader(chunked(f.subarray(0, 20), 4)).readFrame(100));
  await assert.rejects(() => new FrameReader(chunked(f.subarray(0, 3), 4)).readFrame(100));
});

Deno.test("decodeFrames() splits a byte string and rejects truncation", () => {
  const f = [...encodeFrame(1, new Uint8Array([9])), ...encodeFrame(2, new Uint8Array())];
  const frames = decodeFrames(new Uint8Array(f));
  assert.equal(frames.length, 2);
  assert.throws(() => decodeFrames(new Uint8Array(f.slice(0, 5))), SyntaxError);
  assert.throws(() => decodeFrames(new Uint8Array([1, 0])), SyntaxError);
});

Deno.test("FrameReader grows under bulk reads and shrinks back when traffic stops", async () => {
  const frames: number[] = [];
  for (let i = 0; i < 200; i++) frames.push(...encodeFrame(5, new Uint8Array(1200)));
  const tail = encodeFrame(6, new Uint8Array());
  let phase = 0;
  const bulk = new Uint8Array(frames);
  let off = 0;
  const src = {
    read(p: Uint8Array): Promise<number | null> {
      if (phase === 0) {
        const n = Math.min(p.length, bulk.length - off);
        p.set(bulk.subarray(off, off + n));
        off += n;
        if (off === bulk.length) phase = 1;
        return Promise.resolve(n);
      }
      if (phase === 1) {
        phase = 2;
        p.set(tail);
        return Promise.resolve(tail.length);
      }
      return Promise.resolve(null);
    },
  };
  const r = new FrameReader(src);
  assert.equal(r.capacity, 512);
  for (let i = 0; i < 200; i++) assert.equal((await r.readFrame(1 << 20))?.payload.length, 1200);
  assert.ok(r.capacity > 8192, `grew to ${r.capacity}`);
  assert.equal((await r.readFrame(1 << 20))?.type, 6);
  assert.equal(await r.readFrame(1 << 20), null);
  assert.equal(r.capacity, 512);
});
