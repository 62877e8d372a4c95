import assert from "node:assert/strict";
import { constants as C } from "node:zlib";
import { xxh64, xxh64Low32 } from "./_xxh64.ts";
import { nodeZstd, randomBytes } from "./_test_util.ts";

Deno.test("xxh64() matches the published XXH64 values of short strings", () => {
  const te = new TextEncoder();
  const h = (s: string) => xxh64(te.encode(s), 0, s.length);
  assert.equal(h(""), 0xef46db3751d8e999n);
  assert.equal(h("a"), 0xd24ec4f1a98c6e5bn);
  assert.equal(h("abc"), 0x44bc2cf5ad770999n);
});

Deno.test("xxh64Low32() agrees with the checksums the zstd library writes, at every length", () => {
  const data = randomBytes(3000, 11);
  const lengths = [...Array(100).keys(), 127, 128, 255, 256, 1000, 2999, 3000];
  for (const n of lengths) {
    const part = data.subarray(0, n);
    const frame = nodeZstd(part, 1, { [C.ZSTD_c_checksumFlag]: 1 });
    const stored = new DataView(frame.buffer).getUint32(frame.length - 4, true);
    assert.equal(xxh64Low32(part, 0, n), stored, `length ${n}`);
    // And at an offset inside a bigger buffer.
    assert.equal(xxh64Low32(data, 0, n), xxh64Low32(data.slice(0, n), 0, n));
  }
});
