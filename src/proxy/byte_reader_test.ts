import assert from "node:assert/strict";
import { ByteReader, UnexpectedEofError } from "./byte_reader.ts";

const pair = (b: Uint8Array) => b.length >= 2 ? { value: [b[0], b[1]], length: 2 } : null;

Deno.test("ByteReader.read() joins chunks until the decoder is satisfied and keeps the rest", async () => {
  const r = new ByteReader(
    ReadableStream.from([new Uint8Array([1]), new Uint8Array([2, 3]), new Uint8Array([4])]),
  );
  assert.deepEqual(await r.read("pair", pair), [1, 2]);
  assert.deepEqual([...r.release()], [3], "the byte after the message is handed back");
});

Deno.test("ByteReader.read() throws at end of stream mid-message and past its limit", async () => {
  const short = new ByteReader(ReadableStream.from([new Uint8Array([1])]));
  await assert.rejects(short.read("pair", pair), UnexpectedEofError);
  const long = new ByteReader(ReadableStream.from([new Uint8Array(8), new Uint8Array(8)]), 8);
  await assert.rejects(long.read("head", () => null), /longer than 8 bytes/);
});

Deno.test("ByteReader.next() returns buffered bytes first, then the stream, then null", async () => {
  const r = new ByteReader(ReadableStream.from([new Uint8Array([1, 2, 3]), new Uint8Array([4])]));
  await r.read("pair", pair);
  assert.deepEqual([...(await r.next())!], [3]);
  assert.deepEqual([...(await r.next())!], [4]);
  assert.equal(await r.next(), null);
});
