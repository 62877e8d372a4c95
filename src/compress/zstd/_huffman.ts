/**
 * Huffman-coded literals (RFC 8878 §4.2): the tree description (weights, direct or
 * FSE-compressed), the decoding table built from it, and the 1- and 4-stream decoders.
 *
 * @module
 */
import { BackwardBits } from "./_backward_bits.ts";
import { corrupt } from "./_errors.ts";
import { FseTable, readFseTable } from "./_fse.ts";
import { HUFFMAN_MAX_BITS, WEIGHTS_MAX_LOG } from "./constants.ts";

/**
 * A Huffman decoding table: indexed by the next `maxBits` bits of a stream, each entry holds
 * `symbol << 4 | codeLength`.
 */
export class HuffmanTable {
  /** Longest code length; 0 until a tree has been read. */
  maxBits = 0;
  /** `1 << maxBits` entries are in use. */
  readonly entries: Uint16Array = new Uint16Array(1 << HUFFMAN_MAX_BITS);
}

// Scratch shared by every call: the decoder is synchronous, so calls never overlap.
const weights = new Uint8Array(256);
const rankCount = new Uint32Array(HUFFMAN_MAX_BITS + 2);
const rankStart = new Uint32Array(HUFFMAN_MAX_BITS + 2);
const weightTable = new FseTable(WEIGHTS_MAX_LOG);
const bits = new BackwardBits();

/**
 * Reads the Huffman tree description at `buf[pos, end)` (§4.2.1) into `table` and returns the
 * offset just past it.
 *
 * @throws {SyntaxError} if the description is malformed or truncated
 */
export function readHuffmanTree(
  buf: Uint8Array,
  pos: number,
  end: number,
  table: HuffmanTable,
): number {
  if (pos >= end) throw corrupt("Huffman tree description is missing");
  const header = buf[pos++];
  let n = 0; // weights listed; the last symbol's weight is implied
  if (header >= 128) {
    n = header - 127;
    const size = (n + 1) >>> 1;
    if (pos + size > end) throw corrupt("Huffman weights are truncated");
    for (let i = 0; i < n; i += 2) {
      const b = buf[pos + (i >>> 1)];
      weights[i] = b >>> 4;
      weights[i + 1] = b & 15;
    }
    pos += size;
  } else {
    const stop = pos + header;
    if (header === 0 || stop > end) throw corrupt("Huffman weights are truncated");
    const start = readFseTable(buf, pos, stop, 12, WEIGHTS_MAX_LOG, weightTable, "Huffman weight");
    n = decodeWeights(buf, start, stop);
    pos = stop;
  }
  buildTable(table, n);
  return pos;
}

/** Two interleaved FSE states share one table and alternate symbols (§4.2.1.2). */
function decodeWeights(buf: Uint8Array, start: number, stop: number): number {
  const t = weightTable;
  bits.init(buf, start, stop, "Huffman weight");
  let s1 = bits.read(t.log);
  let s2 = bits.read(t.log);
  let n = 0;
  // The stream's end shows as an overread: then the other state's symbol is the last one.
  for (;;) {
    if (n > 253) throw corrupt("Huffman tree lists more than 255 weights");
    weights[n++] = t.symbol[s1];
    s1 = t.base[s1] + bits.read(t.nbBits[s1]);
    if (bits.bits < 0) {
      weights[n++] = t.symbol[s2];
      break;
    }
    weights[n++] = t.symbol[s2];
    s2 = t.base[s2] + bits.read(t.nbBits[s2]);
    if (bits.bits < 0) {
      if (n > 254) throw corrupt("Huffman tree lists more than 255 weights");
      weights[n++] = t.symbol[s1];
      break;
    }
  }
  return n;
}

function buildTable(table: HuffmanTable, n: number): void {
  let total = 0;
  for (let i = 0; i < n; i++) {
    const w = weights[i];
    if (w > HUFFMAN_MAX_BITS) throw corrupt(`Huffman weight ${w} exceeds ${HUFFMAN_MAX_BITS}`);
    if (w !== 0) total += 1 << (w - 1);
  }
  if (total === 0) throw corrupt("Huffman tree has no symbol");
  const maxBits = 32 - Math.clz32(total); // the next power of two's log
  if (maxBits > HUFFMAN_MAX_BITS) {
    throw corrupt(`Huffman codes would exceed ${HUFFMAN_MAX_BITS} bits`);
  }
  const rest = (1 << maxBits) - total;
  if ((rest & (rest - 1)) !== 0) throw corrupt("Huffman weights do not complete a tree");
  weights[n] = 32 - Math.clz32(rest); // log2(rest) + 1
  rankCount.fill(0);
  for (let s = 0; s <= n; s++) rankCount[weights[s]]++;
  // The least likely symbols come in pairs (§4.2.1).
  if (rankCount[1] < 2 || (rankCount[1] & 1) !== 0) {
    throw corrupt("Huffman tree has an odd number of weight-1 symbols");
  }
  let at = 0;
  for (let w = 1; w <= maxBits; w++) {
    rankStart[w] = at;
    at += rankCount[w] << (w - 1);
  }
  const entries = table.entries;
  for (let s = 0; s <= n; s++) {
    const w = weights[s];
    if (w === 0) continue;
    const from = rankStart[w];
    const len = 1 << (w - 1);
    entries.fill((s << 4) | (maxBits + 1 - w), from, from + len);
    rankStart[w] = from + len;
  }
  table.maxBits = maxBits;
}

/**
 * Decodes `count` literals from the single stream `buf[start, end)` into `out` at `at`.
 *
 * @throws {SyntaxError} if the stream is not consumed exactly
 */
export function decodeHuffmanStream(
  buf: Uint8Array,
  start: number,
  end: number,
  table: HuffmanTable,
  out: Uint8Array,
  at: number,
  count: number,
): void {
  if (end <= start) throw corrupt("Huffman stream is empty");
  const last = buf[end - 1];
  if (last === 0) throw corrupt("Huffman stream lacks its end mark");
  let left = (end - start - 1) * 8 + (31 - Math.clz32(last));
  const maxBits = table.maxBits;
  const mask = (1 << maxBits) - 1;
  const entries = table.entries;
  const limit = buf.length - 2;
  const stop = at + count;
  for (let o = at; o < stop; o++) {
    const p = left - maxBits;
    let v: number;
    if (p >= 0) {
      const b = start + (p >>> 3);
      // 3 bytes cover maxBits (≤ 11) at any bit shift.
      v = b < limit
        ? ((buf[b] | (buf[b + 1] << 8) | (buf[b + 2] << 16)) >>> (p & 7)) & mask
        : peekSlow(buf, b, p & 7, mask);
    } else if (left > 0) {
      // Near the stream's start: the missing low bits are zeros.
      v = (peekSlow(buf, start, 0, (1 << left) - 1) << -p) & mask;
    } else {
      throw corrupt("Huffman stream ends before its literals");
    }
    const e = entries[v];
    out[o] = e >>> 4;
    left -= e & 15;
  }
  if (left !== 0) throw corrupt("Huffman stream is not consumed exactly");
}

function peekSlow(buf: Uint8Array, b: number, shift: number, mask: number): number {
  let v = 0;
  for (let i = 2; i >= 0; i--) v = (v << 8) | (b + i < buf.length ? buf[b + i] : 0);
  return (v >>> shift) & mask;
}

/**
 * Decodes `count` literals from four streams at `buf[start, end)`, led by their 6-byte jump
 * table (§3.1.1.3.1.6), into `out` at `at`.
 *
 * @throws {SyntaxError} if the jump table or a stream is malformed
 */
export function decodeHuffman4(
  buf: Uint8Array,
  start: number,
  end: number,
  table: HuffmanTable,
  out: Uint8Array,
  at: number,
  count: number,
): void {
  if (end - start < 10) throw corrupt("4-stream Huffman literals are too short");
  const s1 = buf[start] | (buf[start + 1] << 8);
  const s2 = buf[start + 2] | (buf[start + 3] << 8);
  const s3 = buf[start + 4] | (buf[start + 5] << 8);
  const p1 = start + 6;
  const p2 = p1 + s1;
  const p3 = p2 + s2;
  const p4 = p3 + s3;
  if (p4 >= end) throw corrupt("Huffman jump table points past the literals");
  const seg = (count + 3) >>> 2;
  const lastCount = count - 3 * seg;
  if (lastCount < 0) throw corrupt(`${count} literals cannot fill 4 Huffman streams`);
  decodeHuffmanStream(buf, p1, p2, table, out, at, seg);
  decodeHuffmanStream(buf, p2, p3, table, out, at + seg, seg);
  decodeHuffmanStream(buf, p3, p4, table, out, at + 2 * seg, seg);
  decodeHuffmanStream(buf, p4, end, table, out, at + 3 * seg, lastCount);
}
