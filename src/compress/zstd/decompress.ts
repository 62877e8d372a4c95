/**
 * Zstandard decompression (RFC 8878) of a whole buffer: any number of frames, skippable frames
 * skipped, each frame's content checksum verified. Written for hostile input: every length is
 * checked before use, the output never grows past the caller's limit, and every loop is bounded
 * by the input or the output.
 *
 * @module
 */
import { corrupt, tooLarge } from "./_errors.ts";
import { parseFrameHeader } from "./_frame_header.ts";
import { decodeLiterals } from "./_literals.ts";
import { decodeSequences } from "./_sequences.ts";
import { DecoderState } from "./_state.ts";
import { xxh64Low32 } from "./_xxh64.ts";
import { BLOCK_SIZE_MAX, SKIPPABLE_MAGIC, WINDOW_SIZE_MAX, ZSTD_MAGIC } from "./constants.ts";

/** Options of {@link zstdDecompress}. */
export interface ZstdDecompressOptions {
  /** Check each frame's content checksum when it has one (default true). */
  verifyChecksum?: boolean;
  /**
   * The largest window taken from a frame that does not state its content size (default
   * 8 MiB, the RFC's recommendation). The decoder keeps the whole output, never a window
   * buffer, so this is policy, not memory: Go's klauspost encoder streams at its "better" and
   * "best" levels with 16 and 32 MiB windows.
   */
  maxWindowSize?: number;
}

/**
 * Decompresses the concatenated Zstandard frames in `input` (skippable frames are skipped; an
 * empty input is zero frames). Frames that need a dictionary are refused.
 *
 * @example
 * ```ts
 * import { zstdDecompress } from "./decompress.ts";
 * // One raw block holding "hi", no checksum.
 * const frame = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x20, 2, 0x11, 0, 0, 0x68, 0x69);
 * new TextDecoder().decode(zstdDecompress(frame, 1024)); // "hi"
 * ```
 *
 * @param maxOutput the most bytes the output may hold; no buffer larger than this is allocated
 * @throws {SyntaxError} if the input is not well-formed Zstandard, is truncated, fails its
 * checksum, or needs a dictionary
 * @throws {RangeError} if the output would exceed `maxOutput`, or a frame of unknown size asks
 * for a window over `options.maxWindowSize`
 */
export function zstdDecompress(
  input: Uint8Array,
  maxOutput: number,
  options: ZstdDecompressOptions = {},
): Uint8Array {
  const verify = options.verifyChecksum ?? true;
  const maxWindow = options.maxWindowSize ?? WINDOW_SIZE_MAX;
  const st = new DecoderState(maxOutput);
  let pos = 0;
  while (pos < input.length) {
    if (input.length - pos < 4) throw corrupt(`${input.length - pos} stray bytes after a frame`);
    const magic = u32(input, pos);
    pos += 4;
    if (magic === ZSTD_MAGIC) {
      pos = decodeFrame(st, input, pos, verify, maxWindow);
    } else if ((magic & 0xfffffff0) >>> 0 === SKIPPABLE_MAGIC) {
      if (input.length - pos < 4) throw corrupt("skippable frame size is truncated");
      const size = u32(input, pos);
      pos += 4;
      if (input.length - pos < size) throw corrupt("skippable frame is truncated");
      pos += size;
    } else {
      throw corrupt(`unknown magic number 0x${magic.toString(16)} at byte ${pos - 4}`);
    }
  }
  return st.out.length === st.outPos ? st.out : st.out.subarray(0, st.outPos);
}

function u32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

function decodeFrame(
  st: DecoderState,
  input: Uint8Array,
  pos: number,
  verify: boolean,
  maxWindow: number,
): number {
  const h = parseFrameHeader(input, pos);
  if (h.dictionaryId !== 0) {
    throw corrupt(`frame needs dictionary ${h.dictionaryId}; dictionaries are not supported`);
  }
  if (h.contentSize > st.maxOutput - st.outPos) {
    throw tooLarge(`frame content of ${h.contentSize} bytes exceeds the output limit`);
  }
  if (h.contentSize < 0 && h.windowSize > maxWindow) {
    throw tooLarge(`frame window of ${h.windowSize} bytes exceeds ${maxWindow}`);
  }
  st.startFrame(h.contentSize, Math.min(h.windowSize, BLOCK_SIZE_MAX));
  pos = h.end;
  for (let last = false; !last;) {
    if (input.length - pos < 3) throw corrupt("block header is truncated");
    const bh = input[pos] | (input[pos + 1] << 8) | (input[pos + 2] << 16);
    pos += 3;
    last = (bh & 1) !== 0;
    const type = (bh >>> 1) & 3;
    const size = bh >>> 3;
    if (size > st.blockMax) {
      throw corrupt(`block of ${size} bytes exceeds the block maximum of ${st.blockMax}`);
    }
    const limit = st.blockLimit();
    if (type === 0) {
      if (input.length - pos < size) throw corrupt("raw block is truncated");
      if (st.outPos + size > limit) throw st.overflow(st.outPos + size);
      st.out.set(input.subarray(pos, pos + size), st.outPos);
      st.outPos += size;
      pos += size;
    } else if (type === 1) {
      if (input.length - pos < 1) throw corrupt("RLE block is truncated");
      if (st.outPos + size > limit) throw st.overflow(st.outPos + size);
      st.out.fill(input[pos], st.outPos, st.outPos + size);
      st.outPos += size;
      pos += 1;
    } else if (type === 2) {
      if (input.length - pos < size) throw corrupt("compressed block is truncated");
      const end = pos + size;
      const seqStart = decodeLiterals(st, input, pos, end);
      decodeSequences(st, input, seqStart, end, limit);
      pos = end;
    } else {
      throw corrupt("block type 3 is reserved");
    }
  }
  if (st.frameEnd >= 0 && st.outPos !== st.frameEnd) {
    throw corrupt(
      `frame holds ${st.outPos - st.frameStart} bytes, not its stated ${h.contentSize}`,
    );
  }
  if (h.checksum) {
    if (input.length - pos < 4) throw corrupt("content checksum is truncated");
    if (verify) {
      const want = u32(input, pos);
      const got = xxh64Low32(st.out, st.frameStart, st.outPos);
      if (got !== want) throw corrupt("content checksum does not match");
    }
    pos += 4;
  }
  return pos;
}
