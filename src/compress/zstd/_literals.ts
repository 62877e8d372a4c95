/**
 * The literals section of a compressed block (RFC 8878 §3.1.1.3.1): its header, then raw, RLE
 * or Huffman-coded literals (with a new tree, or the previous block's).
 *
 * @module
 */
import { corrupt } from "./_errors.ts";
import { decodeHuffman4, decodeHuffmanStream, readHuffmanTree } from "./_huffman.ts";
import type { DecoderState } from "./_state.ts";

const RAW = 0;
const RLE = 1;
const COMPRESSED = 2;

/**
 * Decodes the literals section at `buf[pos, end)` into `st.litBuf[litPos, litEnd)` and returns
 * the offset of the sequences section.
 *
 * @throws {SyntaxError} if the section is malformed or larger than a block
 */
export function decodeLiterals(
  st: DecoderState,
  buf: Uint8Array,
  pos: number,
  end: number,
): number {
  if (end - pos < 1) throw corrupt("block ends before its literals section");
  const b0 = buf[pos];
  const type = b0 & 3;
  const format = (b0 >>> 2) & 3;
  if (type === RAW || type === RLE) {
    let size: number;
    let header: number;
    if ((format & 1) === 0) {
      size = b0 >>> 3;
      header = 1;
    } else if (format === 1) {
      if (end - pos < 2) throw corrupt("literals header is truncated");
      size = (b0 >>> 4) | (buf[pos + 1] << 4);
      header = 2;
    } else {
      if (end - pos < 3) throw corrupt("literals header is truncated");
      size = (b0 >>> 4) | (buf[pos + 1] << 4) | (buf[pos + 2] << 12);
      header = 3;
    }
    if (size > st.blockMax) throw corrupt(`${size} literals exceed the block maximum`);
    pos += header;
    if (type === RAW) {
      if (end - pos < size) throw corrupt("raw literals are truncated");
      st.litBuf = buf;
      st.litPos = pos;
      st.litEnd = pos + size;
      return pos + size;
    }
    if (end - pos < 1) throw corrupt("RLE literals are truncated");
    const lits = st.literalBuffer(size);
    lits.fill(buf[pos], 0, size);
    st.litBuf = lits;
    st.litPos = 0;
    st.litEnd = size;
    return pos + 1;
  }
  // Huffman-coded: Regenerated_Size then Compressed_Size, 10, 14 or 18 bits each.
  let size: number;
  let csize: number;
  let header: number;
  if (format <= 1) {
    if (end - pos < 3) throw corrupt("literals header is truncated");
    const v = b0 | (buf[pos + 1] << 8) | (buf[pos + 2] << 16);
    size = (v >>> 4) & 0x3ff;
    csize = (v >>> 14) & 0x3ff;
    header = 3;
  } else if (format === 2) {
    if (end - pos < 4) throw corrupt("literals header is truncated");
    const v = (b0 | (buf[pos + 1] << 8) | (buf[pos + 2] << 16) | (buf[pos + 3] << 24)) >>> 0;
    size = (v >>> 4) & 0x3fff;
    csize = (v >>> 18) & 0x3fff;
    header = 4;
  } else {
    if (end - pos < 5) throw corrupt("literals header is truncated");
    size = ((b0 >>> 4) | (buf[pos + 1] << 4) | (buf[pos + 2] << 12)) & 0x3ffff;
    csize = (buf[pos + 2] >>> 6) | (buf[pos + 3] << 2) | (buf[pos + 4] << 10);
    header = 5;
  }
  if (size > st.blockMax) throw corrupt(`${size} literals exceed the block maximum`);
  pos += header;
  if (end - pos < csize) throw corrupt("Huffman literals are truncated");
  const stop = pos + csize;
  let streams = pos;
  if (type === COMPRESSED) {
    streams = readHuffmanTree(buf, pos, stop, st.huffman);
    st.huffmanValid = true;
  } else if (!st.huffmanValid) {
    throw corrupt("treeless literals without an earlier Huffman tree in the frame");
  }
  const lits = st.literalBuffer(size);
  if (format === 0) decodeHuffmanStream(buf, streams, stop, st.huffman, lits, 0, size);
  else decodeHuffman4(buf, streams, stop, st.huffman, lits, 0, size);
  st.litBuf = lits;
  st.litPos = 0;
  st.litEnd = size;
  return stop;
}
