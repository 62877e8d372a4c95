import assert from "node:assert/strict";
import { decodeHuffman4, decodeHuffmanStream, HuffmanTable, readHuffmanTree } from "./_huffman.ts";

// RFC 8878 §4.2.1's example: weights 4, 3, 2, 0, 1 for literals 0-4 (literal 5's weight, 1, is
// implied), in direct representation: header 127 + 5, then two weights a byte.
const TREE = Uint8Array.of(132, 0x43, 0x20, 0x10);

Deno.test("readHuffmanTree() builds RFC 8878's example tree from direct weights", () => {
  const t = new HuffmanTable();
  assert.equal(readHuffmanTree(TREE, 0, TREE.length, t), 4);
  assert.equal(t.maxBits, 4);
  // Prefix codes 0000 → 4, 0001 → 5, 001 → 2, 01 → 1, 1 → 0 (entry: symbol << 4 | length).
  const sym = (i: number) => [t.entries[i] >> 4, t.entries[i] & 15];
  assert.deepEqual(sym(0b0000), [4, 4]);
  assert.deepEqual(sym(0b0001), [5, 4]);
  assert.deepEqual(sym(0b0011), [2, 3]);
  assert.deepEqual(sym(0b0101), [1, 2]);
  assert.deepEqual(sym(0b1110), [0, 1]);
});

Deno.test("decodeHuffmanStream() decodes the RFC's example stream and checks its end", () => {
  const t = new HuffmanTable();
  readHuffmanTree(TREE, 0, TREE.length, t);
  const out = new Uint8Array(4);
  // The RFC's stream for "0145", bytes 00010000 00001101 (§4.2.2), gives 4 the code 0001 and
  // 5 the code 0000, against its own code table (4 → 0000, 5 → 0001), which this decoder
  // follows — as node's and Go's frames, decoded byte for byte elsewhere, confirm. By the
  // table, the stream reads "0154".
  decodeHuffmanStream(Uint8Array.of(0x10, 0x0d), 0, 2, t, out, 0, 4);
  assert.deepEqual([...out], [0, 1, 5, 4]);
  // Asking for fewer or more literals than the stream holds.
  assert.throws(
    () => decodeHuffmanStream(Uint8Array.of(0x10, 0x0d), 0, 2, t, out, 0, 3),
    /exactly/,
  );
  assert.throws(() => decodeHuffmanStream(Uint8Array.of(0x10, 0x0d), 0, 2, t, out, 0, 5), /ends/);
  assert.throws(() => decodeHuffmanStream(Uint8Array.of(0x10, 0x00), 0, 2, t, out, 0, 4), /mark/);
  assert.throws(() => decodeHuffmanStream(Uint8Array.of(), 0, 0, t, out, 0, 0), /empty/);
});

Deno.test("decodeHuffman4() checks its jump table", () => {
  const t = new HuffmanTable();
  readHuffmanTree(TREE, 0, TREE.length, t);
  const out = new Uint8Array(16);
  // Four copies of the example stream: jump table 2, 2, 2, then 2 bytes for stream 4.
  const s = Uint8Array.of(2, 0, 2, 0, 2, 0, 0x10, 0x0d, 0x10, 0x0d, 0x10, 0x0d, 0x10, 0x0d);
  decodeHuffman4(s, 0, s.length, t, out, 0, 16);
  assert.deepEqual([...out], [0, 1, 5, 4, 0, 1, 5, 4, 0, 1, 5, 4, 0, 1, 5, 4]);
  const bad = s.slice();
  bad[4] = 9; // stream 3 would run past the end
  assert.throws(() => decodeHuffman4(bad, 0, bad.length, t, out, 0, 16), /jump table/);
  assert.throws(() => decodeHuffman4(s, 0, 9, t, out, 0, 16), /too short/);
});

Deno.test("readHuffmanTree() refuses weights that do not make a tree", () => {
  const t = new HuffmanTable();
  // Weights 1, 1, 1 (sum 3, next power 4: the last weight 1 makes 4 symbols of weight 1: ok).
  assert.doesNotThrow(() => readHuffmanTree(Uint8Array.of(130, 0x11, 0x10), 0, 3, t));
  // A weight of 12 exceeds the 11-bit limit.
  assert.throws(() => readHuffmanTree(Uint8Array.of(129, 0xc1), 0, 2, t), /weight 12/);
  // All zero weights: no symbol.
  assert.throws(() => readHuffmanTree(Uint8Array.of(129, 0x00), 0, 2, t), /no symbol/);
  // Weights 2, 1: sum 3, the rest 1 gives weight 1, so weight 1 appears twice: ok; 3, 1, 1
  // (sum 6, rest 2) gives a last weight 2 with two weight-1 symbols: ok; 2 alone (sum 2,
  // rest 2, last weight 2): no weight-1 symbols at all.
  assert.throws(() => readHuffmanTree(Uint8Array.of(128, 0x20), 0, 2, t), /weight-1/);
  // Truncated: 5 weights need 3 bytes.
  assert.throws(() => readHuffmanTree(TREE, 0, 3, t), /truncated/);
  // FSE-compressed weights that overrun the section.
  assert.throws(() => readHuffmanTree(Uint8Array.of(40, 1, 2), 0, 3, t), /truncated/);
});
