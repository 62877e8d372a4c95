/**
 * What one decode carries from block to block and frame to frame: the output buffer and its
 * limits, the literals of the block being decoded, the tables a later block may repeat, and the
 * repeat offsets.
 *
 * @module
 */
import { corrupt, tooLarge } from "./_errors.ts";
import { FseTable } from "./_fse.ts";
import { HuffmanTable } from "./_huffman.ts";
import { BLOCK_SIZE_MAX, LL_ML_MAX_LOG, OF_MAX_LOG } from "./constants.ts";

/** The state of one `zstdDecompress` call. */
export class DecoderState {
  /** Output so far; grows up to {@link DecoderState.maxOutput}. */
  out: Uint8Array = new Uint8Array(0);
  /** Bytes of {@link DecoderState.out} written. */
  outPos = 0;
  /** The caller's limit on the whole output. */
  readonly maxOutput: number;
  /** Where the current frame's output starts: no match may reach before it. */
  frameStart = 0;
  /** End of the current frame's output if its header stated its size, else -1. */
  frameEnd: number = -1;
  /** Largest block of the current frame: min(window, 128 KiB). */
  blockMax: number = BLOCK_SIZE_MAX;

  /** The current block's literals: `litBuf[litPos, litEnd)` (the input itself when raw). */
  litBuf: Uint8Array = new Uint8Array(0);
  /** Next literal to copy. */
  litPos = 0;
  /** End of the literals. */
  litEnd = 0;
  /** Buffer Huffman and RLE literals are decoded into. */
  lits: Uint8Array = new Uint8Array(0);

  /** The last Huffman table of the frame (Treeless literals reuse it). */
  readonly huffman: HuffmanTable = new HuffmanTable();
  /** Whether {@link DecoderState.huffman} holds a table of this frame. */
  huffmanValid = false;
  /** Tables built from descriptions; the `*Table` fields point at these or the predefined. */
  readonly llBuilt: FseTable = new FseTable(LL_ML_MAX_LOG);
  /** See {@link DecoderState.llBuilt}. */
  readonly ofBuilt: FseTable = new FseTable(OF_MAX_LOG);
  /** See {@link DecoderState.llBuilt}. */
  readonly mlBuilt: FseTable = new FseTable(LL_ML_MAX_LOG);
  /** Literal length table of the last block with sequences (Repeat mode), or null. */
  llTable: FseTable | null = null;
  /** Offset table of the last block with sequences, or null. */
  ofTable: FseTable | null = null;
  /** Match length table of the last block with sequences, or null. */
  mlTable: FseTable | null = null;
  /** The three repeat offsets, most recent first (§3.1.1.5). */
  rep0 = 1;
  /** Second most recent offset. */
  rep1 = 4;
  /** Third most recent offset. */
  rep2 = 8;

  /** A state for output of at most `maxOutput` bytes. */
  constructor(maxOutput: number) {
    this.maxOutput = maxOutput;
  }

  /** Resets what a frame must not inherit from the one before it. */
  startFrame(contentSize: number, blockMax: number): void {
    this.frameStart = this.outPos;
    this.frameEnd = contentSize < 0 ? -1 : this.outPos + contentSize;
    this.blockMax = blockMax;
    this.huffmanValid = false;
    this.llTable = this.ofTable = this.mlTable = null;
    this.rep0 = 1;
    this.rep1 = 4;
    this.rep2 = 8;
    if (this.frameEnd >= 0) this.reserve(this.frameEnd);
  }

  /**
   * Makes room for a block's output and returns where that block must end at the latest: the
   * block limit, the frame's stated size, or the caller's limit.
   */
  blockLimit(): number {
    let end = this.outPos + this.blockMax;
    if (this.frameEnd >= 0 && this.frameEnd < end) end = this.frameEnd;
    if (this.maxOutput < end) end = this.maxOutput;
    this.reserve(end);
    return end;
  }

  /**
   * The error for output that would pass `limit` (see {@link DecoderState.blockLimit}).
   */
  overflow(need: number): Error {
    if (need > this.maxOutput) {
      return tooLarge(`output exceeds the limit of ${this.maxOutput} bytes`);
    }
    if (this.frameEnd >= 0 && need > this.frameEnd) {
      return corrupt(`frame output exceeds its stated size of ${this.frameEnd - this.frameStart}`);
    }
    return corrupt(`block output exceeds the block maximum of ${this.blockMax} bytes`);
  }

  /** Grows the output buffer to hold `end` bytes (end ≤ maxOutput). */
  reserve(end: number): void {
    if (end <= this.out.length) return;
    const grown = Math.min(this.maxOutput, Math.max(end, this.out.length * 2));
    const out = new Uint8Array(grown);
    out.set(this.out.subarray(0, this.outPos));
    this.out = out;
  }

  /** A literals buffer of at least `n` bytes (n ≤ 128 KiB). */
  literalBuffer(n: number): Uint8Array {
    if (this.lits.length < n) {
      this.lits = new Uint8Array(Math.min(BLOCK_SIZE_MAX, Math.max(n, this.lits.length * 2)));
    }
    return this.lits;
  }
}
