import assert from "node:assert/strict";
import { constants as C } from "node:zlib";
import { zstdDecompress } from "./decompress.ts";
import { bigNetmap, blockTypes, mapResponses, nodeZstd, randomBytes, text } from "./_test_util.ts";

const MiB = 1 << 20;

function roundTrip(data: Uint8Array, frame: Uint8Array, max = data.length): void {
  const out = zstdDecompress(frame, max);
  assert.equal(out.length, data.length);
  assert.ok(out.every((b, i) => b === data[i]), "decoded bytes differ");
}

function concat(...parts: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}

Deno.test("zstdDecompress() reads node:zlib's frames of every Headscale map response", () => {
  const maps = mapResponses();
  assert.ok(maps.length >= 20, `${maps.length} fixtures`);
  for (const level of [1, 3, 9, 19]) {
    for (const json of maps) roundTrip(json, nodeZstd(json, level));
  }
});

Deno.test("zstdDecompress() reads empty, 1-byte and small frames, with and without checksum", () => {
  for (const data of [new Uint8Array(0), Uint8Array.of(0x7b), text(5), text(100), text(4000)]) {
    for (const level of [1, 3, 19]) {
      for (const ck of [0, 1]) {
        roundTrip(data, nodeZstd(data, level, { [C.ZSTD_c_checksumFlag]: ck }));
      }
    }
  }
});

Deno.test("zstdDecompress() reads multi-block frames: text, random (raw blocks), JSON", () => {
  const cases: [string, Uint8Array][] = [
    ["text", text(300_000)],
    ["random", randomBytes(300_000)],
    ["netmap", bigNetmap(1 * MiB)],
  ];
  for (const [name, data] of cases) {
    for (const level of [1, 3, 9, 19]) {
      const frame = nodeZstd(data, level, { [C.ZSTD_c_checksumFlag]: 1 });
      const types = blockTypes(frame);
      assert.ok(types.length >= 2, `${name} at ${level}: ${types.length} block(s)`);
      if (name === "random") assert.ok(types.includes(0), `${name}: no raw block`);
      else assert.ok(types.includes(2), `${name}: no compressed block`);
      roundTrip(data, frame);
    }
  }
});

Deno.test("zstdDecompress() reads RLE blocks and a run crossing 128 KiB blocks", () => {
  const data = concat(text(1000), new Uint8Array(400_000).fill(0x61), text(1000, 9));
  const frame = nodeZstd(data, 3);
  assert.ok(blockTypes(frame).includes(1), `no RLE block: ${blockTypes(frame)}`);
  roundTrip(data, frame);
});

Deno.test("zstdDecompress() reads multi-MB frames, long-distance matching and ultra levels", () => {
  const netmap = bigNetmap(3 * MiB);
  // The same netmap twice, 3 MiB apart: only a large window finds the repeat.
  const doubled = concat(netmap, netmap);
  roundTrip(netmap, nodeZstd(netmap, 3));
  const ldm = nodeZstd(doubled, 19, {
    [C.ZSTD_c_enableLongDistanceMatching]: 1,
    [C.ZSTD_c_windowLog]: 24,
    [C.ZSTD_c_checksumFlag]: 1,
  });
  assert.ok(ldm.length < nodeZstd(netmap, 19).length * 1.1, "long-distance matching unused");
  roundTrip(doubled, ldm);
  roundTrip(netmap, nodeZstd(netmap, 22));
});

Deno.test("zstdDecompress() reads frames without a content size, growing its output", () => {
  const data = bigNetmap(600_000);
  const frame = nodeZstd(data, 3, { [C.ZSTD_c_checksumFlag]: 1 }, false);
  assert.equal(frame[4] >>> 6, 0, "frame states its size");
  assert.equal(frame[4] & 0x20, 0, "single segment");
  roundTrip(data, frame, 64 * MiB);
});

Deno.test("zstdDecompress() joins concatenated frames and skips skippable frames", () => {
  const a = text(200_000), b = bigNetmap(50_000), c = Uint8Array.of(1, 2, 3);
  const skip = (magic: number, n: number) => {
    const f = new Uint8Array(8 + n).fill(0xee);
    new DataView(f.buffer).setUint32(0, magic, true);
    new DataView(f.buffer).setUint32(4, n, true);
    return f;
  };
  const input = concat(
    skip(0x184d2a50, 10),
    nodeZstd(a, 1),
    nodeZstd(b, 19, { [C.ZSTD_c_checksumFlag]: 1 }),
    skip(0x184d2a5f, 0),
    nodeZstd(c, 3, {}, false),
    nodeZstd(new Uint8Array(0), 3),
  );
  roundTrip(concat(a, b, c), input);
  assert.equal(zstdDecompress(skip(0x184d2a53, 5), 0).length, 0);
  assert.equal(zstdDecompress(new Uint8Array(0), 0).length, 0);
});

Deno.test("zstdDecompress() decodes a hand-built frame of raw, RLE and compressed blocks", () => {
  // FHD 0x20: single segment, 1-byte content size (12); then a raw block "abc" and an RLE
  // block "zzzz".
  const frame = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x20, 12, 3 << 3, 0, 0, 0x61, 0x62, 0x63);
  const rle = Uint8Array.of((4 << 3) | (1 << 1), 0, 0, 0x7a);
  // The last block is compressed: raw literals "hello" and no sequences.
  const block = Uint8Array.of((5 << 3) | 0, 0x68, 0x65, 0x6c, 0x6c, 0x6f, 0);
  const last = Uint8Array.of(((block.length << 3) | (2 << 1) | 1) & 0xff, block.length >> 5, 0);
  const all = concat(frame, rle, last, block);
  assert.equal(new TextDecoder().decode(zstdDecompress(all, 100)), "abczzzzhello");
});

Deno.test("zstdDecompress() refuses output past maxOutput with a RangeError", () => {
  const data = new Uint8Array(MiB).fill(0x41);
  const frame = nodeZstd(data, 3);
  assert.throws(() => zstdDecompress(frame, MiB - 1), RangeError);
  // Without a content size the limit is met while decoding.
  const unsized = nodeZstd(data, 3, {}, false);
  assert.throws(() => zstdDecompress(unsized, 64 * 1024), RangeError);
  assert.equal(zstdDecompress(unsized, MiB).length, MiB);
  // Two frames that each fit but not together.
  assert.throws(() => zstdDecompress(concat(frame, frame), MiB + 10), RangeError);
});

Deno.test("zstdDecompress() refuses a window over 8 MiB when the content size is unknown", () => {
  const data = text(10_000);
  const big = nodeZstd(data, 3, { [C.ZSTD_c_windowLog]: 24 }, false);
  assert.throws(() => zstdDecompress(big, 64 * MiB), (e) => {
    assert.ok(e instanceof RangeError);
    assert.match(e.message, /window of 16777216 bytes/);
    return true;
  });
  // The same window with a stated size that fits is fine, as is 8 MiB without one.
  roundTrip(data, nodeZstd(data, 3, { [C.ZSTD_c_windowLog]: 24, [C.ZSTD_c_contentSizeFlag]: 1 }));
  roundTrip(data, nodeZstd(data, 3, { [C.ZSTD_c_windowLog]: 23 }, false), MiB);
});

Deno.test("zstdDecompress() refuses dictionaries, reserved bits and bad checksums by name", () => {
  const frame = nodeZstd(text(1000), 3, { [C.ZSTD_c_checksumFlag]: 1 });
  const expect = (input: Uint8Array, re: RegExp) =>
    assert.throws(() => zstdDecompress(input, MiB), (e) => {
      assert.ok(e instanceof SyntaxError, String(e));
      assert.match(e.message, re);
      return true;
    });
  // Dictionary ID 7 in a 1-byte field.
  expect(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x01, 0x58, 7, 1, 0, 0), /dictionary 7/);
  expect(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x08, 0x58, 1, 0, 0), /reserved bit/);
  expect(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x20, 0, 7, 0, 0), /block type 3/);
  const bad = frame.slice();
  bad[bad.length - 1] ^= 1;
  expect(bad, /checksum does not match/);
  assert.equal(zstdDecompress(bad, MiB, { verifyChecksum: false }).length, 1000);
  expect(Uint8Array.of(1, 2, 3), /stray bytes/);
  expect(Uint8Array.of(1, 2, 3, 4), /unknown magic/);
  expect(concat(frame, Uint8Array.of(0x28, 0xb5)), /stray bytes/);
  // Content size 5, but a raw block of 3.
  expect(Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x20, 5, 0x19, 0, 0, 1, 2, 3), /stated 5/);
});

Deno.test("zstdDecompress() throws on every truncation of a frame, never hangs", () => {
  for (const data of [text(3000), bigNetmap(20_000), randomBytes(500)]) {
    const frame = nodeZstd(data, 19, { [C.ZSTD_c_checksumFlag]: 1 });
    for (let n = 0; n < frame.length; n++) {
      if (n === 0) continue; // zero frames: an empty output
      assert.throws(() => zstdDecompress(frame.subarray(0, n), MiB), SyntaxError, `prefix ${n}`);
    }
  }
});
