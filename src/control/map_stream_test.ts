import assert from "node:assert/strict";
import { zstdCompressSync, type ZstdOptions } from "node:zlib";
import { encodeMapMessage } from "../../tests/control/map_message.ts";
import { decodeMapMessage, MapMessageDecoder } from "./map_stream.ts";

Deno.test("map messages round-trip, raw and zstd, through the length-prefixed stream", () => {
  for (const zstd of [false, true]) {
    const d = new MapMessageDecoder();
    const a = encodeMapMessage({ KeepAlive: true }, zstd);
    const b = encodeMapMessage({ Domain: "tailnet.test" }, zstd);
    const both = new Uint8Array(a.length + b.length);
    both.set(a);
    both.set(b, a.length);
    d.push(both.subarray(0, 3));
    assert.equal(d.next(), null);
    d.push(both.subarray(3));
    assert.deepEqual(decodeMapMessage(d.next()!, zstd), { KeepAlive: true });
    assert.deepEqual(decodeMapMessage(d.next()!, zstd), { Domain: "tailnet.test" });
    assert.equal(d.next(), null);
  }
});

Deno.test("a zstd map message that decompresses past the limit is a RangeError, not an OOM", () => {
  const json = new TextEncoder().encode(`{"Domain":"${"a".repeat(1 << 20)}"}`);
  const bomb = zstdCompressSync(json);
  assert.ok(bomb.length < 1000, `${bomb.length} compressed bytes`);
  assert.throws(() => decodeMapMessage(bomb, true, 64 * 1024), RangeError);
  assert.equal(decodeMapMessage(bomb, true, 2 << 20).Domain?.length, 1 << 20);
  assert.throws(() => decodeMapMessage(new Uint8Array([1, 2, 3]), true), SyntaxError);
  // A frame stating its size (as Headscale's do) is refused before any output is allocated.
  const sized = zstdCompressSync(json, { pledgedSrcSize: json.length } as ZstdOptions);
  assert.throws(() => decodeMapMessage(sized, true, 64 * 1024), RangeError);
  assert.equal(decodeMapMessage(sized, true, json.length).Domain?.length, 1 << 20);
});
