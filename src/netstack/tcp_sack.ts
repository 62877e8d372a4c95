/**
 * SACK on both ends. The sender's scoreboard (RFC 6675): which bytes above
 * SND.UNA the peer holds, IsLost(), the pipe estimate and NextSeg()'s
 * choice of what to retransmit. The receiver's block list (RFC 2018 §4):
 * the block holding the latest segment first, then the most recently
 * reported others, up to 4 (3 beside timestamps).
 *
 * @module
 */

import type { SackBlock } from "./tcp_segment.ts";
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax, seqMin } from "./tcp_seq.ts";

/** RFC 6675's DupThresh: SACKed segments above a hole that make it lost. */
export const DUP_THRESH = 3;

/**
 * The sender's record of SACKed ranges above SND.UNA, kept sorted and
 * disjoint. Bounded by the peer's report size: at most 4 new ranges per ACK,
 * and ranges merge as holes fill; a hard cap drops the highest ranges.
 *
 * @example
 * ```ts
 * import { SackScoreboard } from "./tcp_sack.ts";
 * const sb = new SackScoreboard();
 * sb.update(1000, [{ start: 2000, end: 5000 }], 6000);
 * sb.isLost(1000, 1000); // true: 3000 bytes > 2 × MSS SACKed above it
 * ```
 */
export class SackScoreboard {
  #r: SackBlock[] = [];
  readonly #maxRanges: number;

  /** A scoreboard keeping at most `maxRanges` disjoint ranges. */
  constructor(maxRanges = 256) {
    this.#maxRanges = maxRanges;
  }

  /** The SACKed ranges, lowest first. */
  get ranges(): readonly SackBlock[] {
    return this.#r;
  }

  /** Bytes SACKed above SND.UNA. */
  get sackedBytes(): number {
    let n = 0;
    for (const r of this.#r) n += seqDiff(r.end, r.start);
    return n;
  }

  /** The end of the highest SACKed range, or null with nothing SACKed. */
  get highestSacked(): number | null {
    return this.#r.length === 0 ? null : this.#r[this.#r.length - 1].end;
  }

  /** Forgets everything (after a timeout: the receiver may have reneged, RFC 2018 §8). */
  reset(): void {
    this.#r = [];
  }

  /**
   * Applies an ACK: drops what is below `una` and adds the blocks that lie
   * within (una, sndNxt]; D-SACK and bogus blocks are ignored. Returns the
   * bytes newly SACKed.
   */
  update(una: number, blocks: readonly SackBlock[] | undefined, sndNxt: number): number {
    while (this.#r.length > 0 && seqLe(this.#r[0].end, una)) this.#r.shift();
    if (this.#r.length > 0 && seqLt(this.#r[0].start, una)) this.#r[0].start = una;
    if (!blocks) return 0;
    const before = this.sackedBytes;
    for (const b of blocks) {
      if (!seqLt(b.start, b.end) || seqLe(b.end, una) || seqGt(b.end, sndNxt)) continue;
      this.#add(seqMax(b.start, una), b.end);
    }
    return this.sackedBytes - before;
  }

  #add(start: number, end: number): void {
    const r = this.#r;
    let i = 0;
    while (i < r.length && seqLt(r[i].end, start)) i++;
    let j = i;
    while (j < r.length && seqLe(r[j].start, end)) {
      start = seqMin(start, r[j].start);
      end = seqMax(end, r[j].end);
      j++;
    }
    r.splice(i, j - i, { start, end });
    if (r.length > this.#maxRanges) r.length = this.#maxRanges;
  }

  /** Whether the byte at `seq` is SACKed. */
  isSacked(seq: number): boolean {
    for (const r of this.#r) {
      if (seqLt(seq, r.start)) return false;
      if (seqLt(seq, r.end)) return true;
    }
    return false;
  }

  /**
   * The sequence number below which every un-SACKed byte is lost (RFC 6675
   * IsLost: DupThresh discontiguous ranges, or more than (DupThresh − 1)·MSS
   * bytes, SACKed above it); null when nothing is lost.
   */
  lostBoundary(mss: number): number | null {
    let bytes = 0;
    for (let i = this.#r.length - 1; i >= 0; i--) {
      bytes += seqDiff(this.#r[i].end, this.#r[i].start);
      if (this.#r.length - i >= DUP_THRESH || bytes > (DUP_THRESH - 1) * mss) {
        return this.#r[i].start;
      }
    }
    return null;
  }

  /** RFC 6675 IsLost(seq). */
  isLost(seq: number, mss: number): boolean {
    const b = this.lostBoundary(mss);
    return b !== null && seqLt(seq, b) && !this.isSacked(seq);
  }

  /**
   * RFC 6675 SetPipe(): bytes believed in the network between `una` and
   * `nxt` — every un-SACKed byte not lost counts once, every byte
   * retransmitted (below `highRxt`) once more.
   */
  pipe(una: number, nxt: number, highRxt: number, mss: number): number {
    const lost = this.lostBoundary(mss);
    let pipe = 0;
    let at = una;
    const hole = (from: number, to: number) => {
      if (!seqLt(from, to)) return;
      const lostEnd = lost === null ? from : seqMin(seqMax(lost, from), to);
      pipe += seqDiff(to, lostEnd); // not lost: original still in flight
      const rxtEnd = seqMin(seqMax(highRxt, from), to);
      pipe += seqDiff(rxtEnd, from); // retransmitted
    };
    for (const r of this.#r) {
      hole(at, seqMin(r.start, nxt));
      at = seqMax(at, r.end);
    }
    hole(at, nxt);
    return pipe;
  }

  /**
   * RFC 6675 NextSeg() rules 1 and 3: the first un-SACKed range at or above
   * `highRxt` (and `una`) below the highest SACKed byte, up to `mss` bytes —
   * preferring lost bytes (rule 1); a not-yet-lost hole only when `rule3`.
   * Null when there is nothing to retransmit.
   */
  nextSeg(una: number, highRxt: number, mss: number, rule3 = false): SackBlock | null {
    const top = this.highestSacked;
    if (top === null) return null;
    const lost = this.lostBoundary(mss);
    let at = seqMax(una, highRxt);
    for (const r of this.#r) {
      if (seqLt(at, r.start)) {
        const isLost = lost !== null && seqLt(at, lost);
        if (isLost || rule3) {
          return { start: at, end: seqAdd(at, Math.min(mss, seqDiff(r.start, at))) };
        }
        return null;
      }
      at = seqMax(at, r.end);
    }
    return null;
  }
}

/**
 * Builds the receiver's SACK blocks (RFC 2018 §4): the block holding the
 * most recently received segment first, then other blocks in the order they
 * were last reported, then any left, up to `max`.
 *
 * @example
 * ```ts
 * import { SackBlocks } from "./tcp_sack.ts";
 * const g = new SackBlocks();
 * const held = [{ start: 10, end: 20 }, { start: 30, end: 40 }];
 * g.blocks(held, 31, 4); // [{30..40}, {10..20}]
 * ```
 */
export class SackBlocks {
  #recent: SackBlock[] = [];

  /** Forgets the report history. */
  reset(): void {
    this.#recent = [];
  }

  /**
   * The blocks to send: `held` is the receiver's out-of-order data (sorted,
   * merged), `latest` a sequence number of the segment that just arrived
   * (or null for an ACK not triggered by out-of-order data).
   */
  blocks(held: readonly SackBlock[], latest: number | null, max: number): SackBlock[] {
    const out: SackBlock[] = [];
    const find = (seq: number) =>
      held.find((h) => seqGe(seq, h.start) && seqLt(seq, h.end) && !out.includes(h));
    const push = (h: SackBlock | undefined) => {
      if (h && out.length < max) out.push(h);
    };
    if (latest !== null) push(find(latest));
    for (const r of this.#recent) push(find(r.start));
    for (let i = held.length - 1; i >= 0 && out.length < max; i--) {
      if (!out.includes(held[i])) out.push(held[i]);
    }
    this.#recent = out.map((b) => ({ ...b }));
    return out.map((b) => ({ ...b }));
  }
}
