/**
 * The receive half of a TCP connection: RCV.NXT, the receive buffer, the
 * out-of-order queue, the advertised window (never shrunk, grown only in
 * steps worth announcing — receiver SWS avoidance, RFC 9293 §3.8.6.2.2),
 * SACK blocks and the delayed-ACK decision (RFC 9293 §3.8.6.3: every second
 * full segment, out-of-order data and FIN at once, else after a timer).
 *
 * @module
 */

import { ByteRing } from "./tcp_buffers.ts";
import { ReassemblyQueue } from "./tcp_reassembly.ts";
import { SackBlocks } from "./tcp_sack.ts";
import type { SackBlock } from "./tcp_segment.ts";
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt } from "./tcp_seq.ts";

/** What {@linkcode TcpReceiver.onSegment} did with a segment's data and FIN. */
export interface ReceiveResult {
  /** Bytes that became readable. */
  delivered: number;
  /** The peer's FIN was reached just now. */
  fin: boolean;
}

/**
 * The receive sequence space and buffers of one connection.
 *
 * @example
 * ```ts
 * import { TcpReceiver } from "./tcp_receiver.ts";
 * const r = new TcpReceiver(65535, 65535, 1460, 40);
 * r.init(1000, 0);
 * r.onSegment(1001, new Uint8Array(10), false, 0).delivered; // 10
 * ```
 */
export class TcpReceiver {
  /** RCV.NXT. */
  nxt = 0;
  /** The window-scale shift we apply to the window we announce. */
  shift = 0;
  /** The right edge last announced (RCV.NXT + RCV.WND when sent). */
  advEnd = 0;
  /** The peer's FIN has been reached. */
  finReceived = false;
  /** An ACK must go out now (out-of-order data, FIN, a second full segment, a window update). */
  ackNow = false;
  /**
   * Out-of-order segments not yet answered one by one: each is owed its own
   * duplicate ACK, which a peer without SACK counts towards fast retransmit.
   */
  dupAcksOwed = 0;
  /** When a delayed ACK is due (Infinity: none pending). */
  delAckAt: number = Infinity;
  /** The sequence number of the segment that triggered the next SACK report, if any. */
  sackLatest: number | null = null;
  /** The receive buffer: in-order bytes not yet read. */
  readonly buf: ByteRing;
  /** The out-of-order queue. */
  readonly ooo: ReassemblyQueue;
  readonly #res: ReceiveResult = { delivered: 0, fin: false };
  #finSeq: number | null = null;
  #unacked = 0;
  readonly #maxBytes: number;
  readonly #oooMax: number;
  /** The buffer grows again only once RCV.NXT passes this (one window of data after the last). */
  #growFence = 0;
  #rcvMss = 0;
  readonly #sack = new SackBlocks();
  readonly #mss: number;
  readonly #delAckMs: number;
  /** Asks the stack's budget for `bytes` more buffer (false: spent). */
  readonly #grow: (bytes: number) => boolean;

  /**
   * Buffers of `bufBytes` (the window bound, auto-tuned up to `maxBytes`) and `oooBytes`
   * (the out-of-order bound); `mss` sizes ACK pacing and window steps; a lone segment's ACK
   * waits `delAckMs`; each growth asks `grow` first (the stack's memory budget).
   */
  constructor(
    bufBytes: number,
    oooBytes: number,
    mss: number,
    delAckMs = 40,
    maxBytes = bufBytes,
    grow: (bytes: number) => boolean = () => true,
  ) {
    this.#grow = grow;
    this.buf = new ByteRing(bufBytes);
    this.#maxBytes = Math.max(bufBytes, maxBytes);
    // The out-of-order bound starts at the window and grows with it, to `oooBytes`: a peer
    // cannot park more out-of-order data than the window it was actually given.
    this.#oooMax = oooBytes;
    this.ooo = new ReassemblyQueue(Math.min(oooBytes, bufBytes));
    this.#mss = mss;
    this.#delAckMs = delAckMs;
  }

  /** Starts the sequence space at the peer's ISN `irs` with our window shift. */
  init(irs: number, shift: number): void {
    this.nxt = seqAdd(irs, 1);
    this.shift = shift;
    this.advEnd = this.nxt;
    this.#growFence = this.nxt;
  }

  /** The window we may offer: free buffer space not spoken for. */
  get freeWindow(): number {
    return this.buf.free;
  }

  /** RCV.WND as last announced. */
  get wnd(): number {
    return Math.max(0, seqDiff(this.advEnd, this.nxt));
  }

  /**
   * RFC 9293 §3.10.7.4's acceptability test for a segment of `len`
   * sequence numbers (data plus SYN/FIN) at `seq`.
   */
  acceptable(seq: number, len: number): boolean {
    const wnd = this.wnd;
    const end = this.advEnd;
    if (len === 0) return wnd === 0 ? seq === this.nxt : seqGe(seq, this.nxt) && seqLt(seq, end);
    if (wnd === 0) return false;
    const last = seqAdd(seq, len - 1);
    return (seqGe(seq, this.nxt) && seqLt(seq, end)) || (seqGe(last, this.nxt) && seqLt(last, end));
  }

  /**
   * Takes an acceptable segment's data (and FIN): in-order bytes go to the
   * buffer with whatever the out-of-order queue then releases; later bytes
   * are queued. Decides whether the ACK is due now or delayed. The result
   * is overwritten by the next call.
   */
  onSegment(seq: number, data: Uint8Array, fin: boolean, now: number): ReceiveResult {
    // One result object per receiver, overwritten by each call: no allocation per segment.
    const res = this.#res;
    res.delivered = 0;
    res.fin = false;
    const end = seqAdd(seq, data.length);
    if (fin && !this.finReceived) this.#finSeq = end;
    if (data.length > 0) {
      if (seqLe(seq, this.nxt) && seqGt(end, this.nxt)) {
        const from = seqDiff(this.nxt, seq);
        const to = Math.min(data.length, seqDiff(this.advEnd, seq));
        // The usual segment is new and fits the window whole: no view of it needed.
        const fresh = from === 0 && to === data.length ? data : data.subarray(from, to);
        const hadHoles = this.ooo.segments > 0;
        res.delivered += this.#deliver(fresh);
        if (hadHoles) {
          const parts = this.ooo.take(this.nxt);
          for (let i = 0; i < parts.length; i++) res.delivered += this.#deliver(parts[i]);
        }
        this.#autotune();
        this.#unacked += fresh.length;
        // The largest segment seen stands for the peer's MSS (as Linux's rcv_mss).
        this.#rcvMss = Math.min(this.#mss, Math.max(this.#rcvMss, fresh.length));
        // RFC 5681 §4.2: ACK at once when a segment fills in a hole, and every second full one.
        if (hadHoles || this.#unacked >= 2 * this.#rcvMss) this.ackNow = true;
        else if (this.delAckAt === Infinity) this.delAckAt = now + this.#delAckMs;
        this.sackLatest = null;
      } else if (seqGt(seq, this.nxt)) {
        this.ooo.insert(seq, data, this.nxt, this.advEnd);
        this.sackLatest = seq;
        this.ackNow = true; // a duplicate ACK drives the sender's fast retransmit
        if (this.dupAcksOwed < 16) this.dupAcksOwed++;
      } else {
        this.ackNow = true; // an old duplicate: re-ACK so a lost ACK is repaired
      }
    }
    if (this.#finSeq !== null && !this.finReceived && this.nxt === this.#finSeq) {
      this.nxt = seqAdd(this.nxt, 1);
      this.finReceived = true;
      this.ackNow = true;
      res.fin = true;
    } else if (fin && data.length === 0 && !this.finReceived) this.ackNow = true;
    return res;
  }

  /**
   * Receive-buffer auto-tuning: when what the peer may still send (the
   * window left) falls under a quarter of the buffer while the application
   * has read all but half of it, the window, not the reader, is what holds
   * the peer back — most of it is in flight — so the buffer doubles, at most
   * once per window of data, up to the maximum.
   */
  #autotune(): void {
    const cap = this.buf.capacity;
    if (cap >= this.#maxBytes || seqLt(this.nxt, this.#growFence)) return;
    if (this.wnd >= cap / 4 || this.buf.length > cap / 2) return;
    const next = Math.min(this.#maxBytes, cap * 2);
    if (!this.#grow(next - cap)) return;
    this.buf.capacity = next;
    this.ooo.raiseLimit(Math.min(this.#oooMax, next));
    this.#growFence = seqAdd(this.nxt, next);
  }

  #deliver(bytes: Uint8Array): number {
    const n = this.buf.push(bytes);
    this.nxt = seqAdd(this.nxt, n);
    return n;
  }

  /** Reads up to `max` bytes; may call for a window update when the window reopens. */
  read(max = Infinity): Uint8Array {
    const before = this.wnd;
    const out = this.buf.shift(max);
    if (out.length > 0) this.#opened(before);
    return out;
  }

  /** Up to `max` unread bytes in place (see `ByteRing.headView`); `consume` marks them read. */
  peek(max: number): Uint8Array {
    return this.buf.headView(max);
  }

  /** Marks `n` bytes from the head as read, as `read` does; may call for a window update. */
  consume(n: number): void {
    const before = this.wnd;
    const len = this.buf.length;
    this.buf.drop(n);
    if (this.buf.length < len) this.#opened(before);
  }

  /** Announces a reopened window at once if it grows by a worthwhile step. */
  #opened(before: number): void {
    const gain = seqDiff(this.#candidateEnd(), this.advEnd);
    if (gain >= this.#step() && (before < this.#mss || gain >= this.buf.capacity / 2)) {
      this.ackNow = true;
    }
  }

  #step(): number {
    return Math.min(this.buf.capacity / 2, this.#mss);
  }

  #candidateEnd(): number {
    return seqAdd(this.nxt, this.buf.free);
  }

  /**
   * The window field for an outgoing segment: grows the advertised right
   * edge only by a worthwhile step, never moves it back, and scales it.
   */
  windowField(): number {
    if (seqDiff(this.#candidateEnd(), this.advEnd) >= this.#step()) {
      this.advEnd = this.#candidateEnd();
    }
    // A shift rounds the field down; we still accept up to the edge once announced.
    return Math.min(0xffff, this.wnd >>> this.shift);
  }

  /** The SACK blocks for an outgoing ACK (RFC 2018 §4), at most `max`. */
  sackBlocks(max: number): SackBlock[] {
    if (this.ooo.segments === 0) {
      this.#sack.reset();
      return [];
    }
    return this.#sack.blocks(this.ooo.ranges(), this.sackLatest, max);
  }

  /** An ACK went out: nothing is owed any more. */
  onAckSent(): void {
    this.ackNow = false;
    if (this.dupAcksOwed > 0) this.dupAcksOwed--;
    this.delAckAt = Infinity;
    this.#unacked = 0;
  }
}
