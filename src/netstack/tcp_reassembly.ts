/**
 * The receive side's out-of-order queue: segments that arrived after a hole,
 * kept sorted and non-overlapping until the hole fills. Hard-bounded in
 * bytes and in segments, so a peer (or an attacker) spraying out-of-order
 * data cannot grow it: what lies outside the receive window or past the
 * bound is dropped and counted, and overlaps are trimmed to the new bytes.
 *
 * @module
 */

import type { SackBlock } from "./tcp_segment.ts";
import { seqAdd, seqDiff, seqGt, seqLe, seqLt } from "./tcp_seq.ts";

const NOTHING: readonly Uint8Array[] = Object.freeze([]);
/** What {@linkcode ReassemblyQueue} dropped or trimmed. */
export interface ReassemblyStats {
  /** Segments (or parts) outside the receive window. */
  outOfWindow: number;
  /** Segments dropped because the queue was at its byte or segment bound. */
  overLimit: number;
  /** Segments wholly made of bytes already queued. */
  duplicate: number;
  /** Bytes cut from segments that overlapped queued data or the window edge. */
  trimmedBytes: number;
}

interface Entry {
  seq: number;
  data: Uint8Array;
}

/** The outcome of {@linkcode ReassemblyQueue.insert}. */
export type InsertResult = "queued" | "duplicate" | "outOfWindow" | "overLimit";

/**
 * An out-of-order queue holding at most `maxBytes` bytes in `maxSegments` pieces.
 *
 * @example
 * ```ts
 * import { ReassemblyQueue } from "./tcp_reassembly.ts";
 * const q = new ReassemblyQueue(1 << 16);
 * q.insert(105, new Uint8Array(5), 100, 1000); // "queued"
 * q.insert(100, new Uint8Array(5), 100, 1000);
 * q.take(100).length; // 10
 * ```
 */
export class ReassemblyQueue {
  #q: Entry[] = [];
  #bytes = 0;
  #maxBytes: number;
  readonly #maxSegments: number;
  /** Drop and trim counters. */
  readonly stats: ReassemblyStats = { outOfWindow: 0, overLimit: 0, duplicate: 0, trimmedBytes: 0 };

  /** A queue bounded to `maxBytes` bytes and `maxSegments` pieces. */
  constructor(maxBytes: number, maxSegments = 1024) {
    this.#maxBytes = maxBytes;
    this.#maxSegments = maxSegments;
  }

  /** The byte bound now. */
  get maxBytes(): number {
    return this.#maxBytes;
  }

  /** Raises the byte bound to `bytes` (never lowers it): the window it serves grew. */
  raiseLimit(bytes: number): void {
    this.#maxBytes = Math.max(this.#maxBytes, bytes);
  }

  /** Bytes queued. */
  get bytes(): number {
    return this.#bytes;
  }

  /** Pieces queued. */
  get segments(): number {
    return this.#q.length;
  }

  /** Drops everything. */
  clear(): void {
    this.#q = [];
    this.#bytes = 0;
  }

  /**
   * Queues `data` at `seq` with the window [rcvNxt, wndEnd): trimmed to the
   * window and to the gaps between queued pieces. Copies what it keeps.
   */
  insert(seq: number, data: Uint8Array, rcvNxt: number, wndEnd: number): InsertResult {
    let start = seq, end = seqAdd(seq, data.length);
    if (seqLt(start, rcvNxt)) start = rcvNxt;
    if (seqGt(end, wndEnd)) end = wndEnd;
    if (!seqLt(start, end)) {
      this.stats.outOfWindow++;
      return "outOfWindow";
    }
    this.stats.trimmedBytes += data.length - seqDiff(end, start);
    // The gaps of [start, end) between queued pieces.
    const pieces: Entry[] = [];
    let at = start;
    let i = 0;
    while (i < this.#q.length && seqLe(this.#end(this.#q[i]), at)) i++;
    const first = i;
    for (; i < this.#q.length && seqLt(this.#q[i].seq, end); i++) {
      const e = this.#q[i];
      if (seqLt(at, e.seq)) pieces.push(this.#slice(data, seq, at, e.seq));
      at = this.#end(e);
      if (!seqLt(at, end)) break;
    }
    if (seqLt(at, end)) pieces.push(this.#slice(data, seq, at, end));
    let add = 0;
    for (const p of pieces) add += p.data.length;
    this.stats.trimmedBytes += seqDiff(end, start) - add;
    if (pieces.length === 0) {
      this.stats.duplicate++;
      return "duplicate";
    }
    if (this.#bytes + add > this.#maxBytes || this.#q.length + pieces.length > this.#maxSegments) {
      this.stats.overLimit++;
      return "overLimit";
    }
    // Pieces fall between queued entries from `first` on, in order: merge by sequence.
    let k = first;
    for (const p of pieces) {
      while (k < this.#q.length && seqLt(this.#q[k].seq, p.seq)) k++;
      this.#q.splice(k, 0, p);
      k++;
    }
    this.#bytes += add;
    return "queued";
  }

  #end(e: Entry): number {
    return seqAdd(e.seq, e.data.length);
  }

  #slice(data: Uint8Array, seq: number, from: number, to: number): Entry {
    return { seq: from, data: data.slice(seqDiff(from, seq), seqDiff(to, seq)) };
  }

  /**
   * Removes and returns the queued bytes contiguous from `rcvNxt`, in order
   * (empty when the hole at `rcvNxt` is still open); pieces entirely below
   * `rcvNxt` are discarded, one straddling it is cut.
   */
  take(rcvNxt: number): readonly Uint8Array[] {
    // Nothing queued is the usual case of an in-order flow: no array for it.
    if (this.#q.length === 0) return NOTHING;
    const out: Uint8Array[] = [];
    let at = rcvNxt;
    while (this.#q.length > 0) {
      const e = this.#q[0];
      if (seqGt(e.seq, at)) break;
      this.#q.shift();
      this.#bytes -= e.data.length;
      const skip = seqDiff(at, e.seq);
      if (skip < e.data.length) {
        out.push(e.data.subarray(skip));
        at = this.#end(e);
      }
    }
    return out;
  }

  /** The queued data as merged [start, end) ranges, lowest first: the SACK material. */
  ranges(): SackBlock[] {
    const out: SackBlock[] = [];
    for (const e of this.#q) {
      const last = out[out.length - 1];
      if (last && last.end === e.seq) last.end = this.#end(e);
      else out.push({ start: e.seq, end: this.#end(e) });
    }
    return out;
  }
}
