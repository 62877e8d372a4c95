/**
 * The send half of a TCP connection: SND.UNA/SND.NXT/SND.WND, the send
 * buffer, the retransmission timer (RFC 6298), congestion control, loss
 * recovery — SACK-based (RFC 6675) when the peer allows it, NewReno's
 * partial-ACK retransmits (RFC 6582) when not — and the zero-window probe
 * (persist) timer. It decides what to send; the connection builds segments.
 *
 * @module
 */

import { ByteRing } from "./tcp_buffers.ts";
import { type CongestionControl, newCongestionControl } from "./tcp_congestion.ts";
import type { TcpConfig } from "./tcp_config.ts";
import { RttEstimator, RttSampler } from "./tcp_rtt.ts";
import { DUP_THRESH, SackScoreboard } from "./tcp_sack.ts";
import type { SackBlock } from "./tcp_segment.ts";
import { seqAdd, seqDiff, seqGe, seqGt, seqLe, seqLt, seqMax } from "./tcp_seq.ts";

/** How {@linkcode TcpSender.onAck} judged an acknowledgement. */
export type AckVerdict =
  | "new" // acknowledged new data (or our SYN/FIN)
  | "duplicate" // the same SND.UNA again
  | "future" // acknowledges something not yet sent: answer with an ACK, drop (RFC 9293)
  | "old"; // older than the largest window allows (RFC 5961 §5): answer with an ACK, drop

/** What {@linkcode TcpSender.onAck} made of an ACK, and the data bytes it acknowledged. */
export interface AckResult {
  /** The verdict. */
  readonly verdict: AckVerdict;
  /** Data bytes newly acknowledged (0 unless "new"). */
  readonly acked: number;
}

// The verdicts without progress, shared: no allocation per ACK that acknowledges nothing new.
const FUTURE: AckResult = Object.freeze({ verdict: "future", acked: 0 });
const OLD: AckResult = Object.freeze({ verdict: "old", acked: 0 });
const DUPLICATE: AckResult = Object.freeze({ verdict: "duplicate", acked: 0 });

/** One thing to transmit, from {@linkcode TcpSender.next}. */
export interface SendItem {
  /** First sequence number. */
  seq: number;
  /** The data (may be empty for a bare FIN). */
  data: Uint8Array;
  /** Whether the segment carries our FIN. */
  fin: boolean;
  /** Whether these bytes were sent before. */
  retransmit: boolean;
}

/**
 * The send sequence space, buffer and loss machinery of one connection.
 *
 * @example
 * ```ts
 * import { TcpSender } from "./tcp_sender.ts";
 * import { tcpConfig } from "./tcp_config.ts";
 * const s = new TcpSender(tcpConfig());
 * s.init(1000, 1460);
 * s.una = s.nxt = s.max = 1001; // the SYN was acknowledged
 * s.wnd = 65535;
 * s.write(new Uint8Array(3000));
 * s.next(0, 1460)?.data.length; // 1460
 * ```
 */
export class TcpSender {
  /** Our initial sequence number. */
  iss = 0;
  /** SND.UNA: the oldest unacknowledged sequence number. */
  una = 0;
  /** SND.NXT: the next sequence number to send (rewound by a timeout). */
  nxt = 0;
  /** The highest sequence number ever sent, plus one. */
  max = 0;
  /** SND.WND in bytes, scaled. */
  wnd = 0;
  /** The largest window the peer ever offered. */
  maxWnd = 0;
  /** SND.WL1 and SND.WL2: the segment that last updated the window. */
  wl1 = 0;
  /** See wl1. */
  wl2 = 0;
  /** The peer's window-scale shift. */
  shift = 0;
  /** Data bytes per segment (the effective MSS, options allowed for). */
  segMax = 536;
  /** Whether SACK was negotiated. */
  sackOk = false;
  /** The sequence number of buf[0]. */
  bufSeq = 0;
  /** close() was called: a FIN follows the data. */
  finQueued = false;
  /** The FIN has been sent at least once. */
  finSent = false;
  /** The FIN has been acknowledged. */
  finAcked = false;
  /** In fast recovery; `recover` is where it ends. */
  inRecovery = false;
  /** RFC 6582's `recover`: SND.MAX when recovery started. */
  recover = 0;
  /** RFC 6675's HighRxt: the end of the highest retransmitted range. */
  highRxt = 0;
  /** Duplicate ACKs in a row. */
  dupAcks = 0;
  /** The segment at SND.UNA must be retransmitted next. */
  rexmitUna = false;
  /** The retransmission timer's deadline (Infinity: stopped). */
  rtoAt: number = Infinity;
  /** Timeouts in a row without progress. */
  rtoCount = 0;
  /** The zero-window probe timer's deadline (Infinity: stopped). */
  persistAt: number = Infinity;
  /** Unanswered window probes, for their back-off. */
  persistBackoff = 0;
  /** When data was last sent (for the restart after idle). */
  lastSentAt = 0;
  /** Data segments retransmitted, for stats. */
  retransmits = 0;
  /** The send buffer: bytes from bufSeq on. */
  readonly buf: ByteRing;
  /** The RTO estimator. */
  readonly rtt: RttEstimator;
  /** Karn's-rule sampler, used without timestamps. */
  readonly sampler = new RttSampler();
  /** The SACK scoreboard. */
  readonly sb = new SackScoreboard();
  /**
   * When set, next() and probe() hand out views of the send buffer instead
   * of copies: valid only until the buffer next changes (a write or an ACK).
   */
  views = false;
  /** The congestion controller, made at init(). */
  cc!: CongestionControl;
  readonly #cfg: TcpConfig;

  /** A sender with the configured buffer and RTO bounds. */
  constructor(cfg: TcpConfig) {
    this.#cfg = cfg;
    this.buf = new ByteRing(cfg.sendBufferBytes);
    this.rtt = new RttEstimator({
      minRtoMs: cfg.minRtoMs,
      maxRtoMs: cfg.maxRtoMs,
      initialRtoMs: cfg.initialRtoMs,
    });
  }

  /** Starts the sequence space at `iss`; data goes out in `segMax`-byte segments. */
  init(iss: number, segMax: number): void {
    this.iss =
      this.una =
      this.nxt =
      this.max =
        iss | 0;
    this.bufSeq = seqAdd(iss, 1);
    this.recover = this.iss; // RFC 6582 §3.2: recover starts at the ISS
    this.segMax = segMax;
    this.cc = newCongestionControl(this.#cfg.congestion, segMax);
  }

  /** Sequence numbers sent and not acknowledged (SYN and FIN count one each). */
  get flight(): number {
    return seqDiff(this.nxt, this.una);
  }

  /** The sequence number just past the buffered data. */
  get dataEnd(): number {
    return seqAdd(this.bufSeq, this.buf.length);
  }

  /** The FIN's sequence number (meaningful once finQueued). */
  get finSeq(): number {
    return this.dataEnd;
  }

  /** Whether anything (data or FIN) waits to be sent for the first time. */
  get pending(): boolean {
    return seqLt(this.nxt, this.dataEnd) || (this.finQueued && this.nxt === this.finSeq);
  }

  /** Buffers what fits of `bytes`; returns the count taken (0 after close()). */
  write(bytes: Uint8Array): number {
    return this.finQueued ? 0 : this.buf.push(bytes);
  }

  /** Queues the FIN after the buffered data. */
  close(): void {
    this.finQueued = true;
  }

  /**
   * Processes the ACK fields of an acceptable segment: the window update
   * (RFC 9293 §3.10.7.4 with WL1/WL2), SACK blocks, cumulative progress with
   * its RTT sample (`tsRtt` from timestamps, else Karn's sampler), and
   * duplicate-ACK counting that starts fast recovery. Returns the verdict
   * and the data bytes newly acknowledged.
   */
  onAck(
    ack: number,
    seq: number,
    rawWnd: number,
    sack: readonly SackBlock[] | undefined,
    tsRtt: number | null,
    carriesData: boolean,
    now: number,
  ): AckResult {
    if (seqGt(ack, this.max)) return FUTURE;
    if (seqLt(ack, seqAdd(this.una, -Math.max(this.maxWnd, 65535)))) return OLD;
    let wndChanged = false;
    if (seqLt(this.wl1, seq) || (this.wl1 === seq && seqLe(this.wl2, ack))) {
      const wnd = rawWnd * (1 << this.shift); // shift ≤ 14: an int multiply, not Math.pow
      wndChanged = wnd !== this.wnd;
      this.wnd = wnd;
      this.wl1 = seq;
      this.wl2 = ack;
      if (wnd > this.maxWnd) this.maxWnd = wnd;
      if (wnd > 0) {
        this.persistAt = Infinity;
        this.persistBackoff = 0;
      }
    }
    const newlySacked = this.sackOk ? this.sb.update(seqMax(ack, this.una), sack, this.max) : 0;
    if (seqGt(ack, this.una)) {
      const dataAcked = Math.min(Math.max(0, seqDiff(ack, this.bufSeq)), this.buf.length);
      this.buf.drop(dataAcked);
      this.bufSeq = seqAdd(this.bufSeq, dataAcked);
      if (this.finSent && seqGt(ack, this.finSeq)) this.finAcked = true;
      this.una = ack;
      if (seqLt(this.nxt, ack)) this.nxt = ack;
      if (seqLt(this.highRxt, ack)) this.highRxt = ack;
      // As Linux: prefer the timed segment; a stale TSecr (the peer had a hole) overstates the RTT.
      const r = this.sampler.onAck(ack, now) ?? tsRtt;
      if (r !== null) this.rtt.sample(r);
      this.rtoCount = 0;
      if (this.inRecovery) {
        if (seqGe(ack, this.recover)) this.inRecovery = false;
        else if (!this.sackOk) this.rexmitUna = true; // NewReno partial ACK
      } else this.cc.onAck(dataAcked, r ?? (this.rtt.hasSample ? this.rtt.srtt : null), now);
      // As Linux grows sk_sndbuf: room for two congestion windows, so the window never waits
      // for the application to refill the buffer.
      const want = Math.min(this.#cfg.sendBufferMaxBytes, 2 * this.cc.cwnd);
      const more = want - this.buf.capacity;
      if (more > 0 && (this.#cfg.memory?.tryGrow(more) ?? true)) this.buf.capacity = want;
      this.dupAcks = 0;
      this.rtoAt = this.flight > 0 ? now + this.rtt.rto : Infinity;
      // SACK can show the new SND.UNA lost already (as Linux acts on any ACK, not just dupacks).
      if (this.sackOk && this.sb.isLost(this.una, this.segMax)) this.#enterRecovery(now);
      return { verdict: "new", acked: dataAcked };
    }
    // RFC 5681's duplicate ACK, or RFC 6675's: any ACK bringing new SACK information.
    if (this.flight > 0 && (newlySacked > 0 || (!carriesData && !wndChanged))) {
      this.dupAcks++;
      const lost = this.sackOk && this.sb.isLost(this.una, this.segMax);
      if (this.dupAcks >= DUP_THRESH || lost) this.#enterRecovery(now);
    }
    return DUPLICATE; // also what every data segment of a receive-only connection gets
  }

  /**
   * RFC 6675 §5 / RFC 6582 §3.2: enter fast recovery and retransmit the first
   * hole, once per window: not while recovering, nor while SND.UNA is below
   * `recover` (SND.MAX when the last recovery or timeout began).
   */
  #enterRecovery(now: number): void {
    // Not for losses among data sent before `recover`: after a timeout those are being resent.
    if (this.inRecovery || seqLt(this.una, this.recover) || this.flight === 0) return;
    this.inRecovery = true;
    this.recover = this.max;
    this.cc.onCongestion(this.flight, now);
    this.highRxt = this.una;
    this.rexmitUna = true;
    this.sampler.onRetransmit();
  }

  /** The retransmission timer fired (RFC 6298 §5.4–5.6): back off and go back to SND.UNA. */
  onRto(now: number): void {
    this.rtoCount++;
    this.rtt.backoff();
    this.cc.onRto(this.flight, now);
    this.sb.reset();
    this.inRecovery = false;
    this.recover = this.max;
    this.dupAcks = 0;
    this.nxt = this.una;
    this.highRxt = this.una;
    this.rexmitUna = false;
    this.sampler.onRetransmit();
    this.rtoAt = Infinity;
  }

  /** The pipe: bytes believed in flight (RFC 6675 during SACK recovery). */
  pipe(): number {
    if (!this.inRecovery) return this.flight;
    if (this.sackOk) return this.sb.pipe(this.una, this.nxt, this.highRxt, this.segMax);
    return Math.max(0, this.flight - this.dupAcks * this.segMax);
  }

  /**
   * The next segment to transmit at `now`, at most `maxLen` data bytes, or
   * null: a retransmission first, then new data within both windows, then a
   * bare FIN. Advances the send state as if it were sent.
   */
  next(now: number, maxLen: number): SendItem | null {
    const len0 = Math.min(this.segMax, maxLen);
    if (this.rexmitUna) {
      this.rexmitUna = false;
      const it = this.#at(this.una, len0, true);
      if (it) {
        this.highRxt = seqMax(this.highRxt, seqAdd(it.seq, it.data.length + (it.fin ? 1 : 0)));
        return this.#sent(it, now);
      }
    }
    const pipe = this.pipe();
    if (this.inRecovery && this.sackOk) {
      if (this.cc.cwnd - pipe < this.segMax) return null;
      const r = this.sb.nextSeg(this.una, this.highRxt, this.segMax);
      if (r) {
        const it = this.#at(r.start, Math.min(len0, seqDiff(r.end, r.start)), true);
        if (it) {
          this.highRxt = r.end;
          return this.#sent(it, now);
        }
      }
    }
    // New data (or data after a go-back by the timer).
    const avail = seqDiff(this.dataEnd, this.nxt);
    if (avail > 0 && this.flight === 0 && now - this.lastSentAt > this.rtt.rto) {
      this.cc.onIdleRestart(now);
    }
    if (avail > 0) {
      const wndRoom = seqDiff(seqAdd(this.una, this.wnd), this.nxt);
      const cwndRoom = this.cc.cwnd - pipe;
      const len = Math.min(len0, avail, wndRoom, cwndRoom);
      if (len <= 0) return null;
      // Sender silly-window avoidance: no runt segments while data is in flight.
      if (len < Math.min(len0, avail) && this.flight > 0) return null;
      return this.#sent(this.#at(this.nxt, len, seqLt(this.nxt, this.max))!, now);
    }
    if (this.finQueued && this.nxt === this.finSeq) {
      return this.#sent({
        seq: this.nxt,
        data: new Uint8Array(0),
        fin: true,
        retransmit: seqLt(this.nxt, this.max),
      }, now);
    }
    return null;
  }

  /** The data (and FIN, if it fits right after) at `seq`, up to `len` bytes. */
  #at(seq: number, len: number, retransmit: boolean): SendItem | null {
    const off = seqDiff(seq, this.bufSeq);
    if (off < 0) return null;
    const data = this.views ? this.buf.copyView(off, len) : this.buf.copy(off, len);
    const end = seqAdd(seq, data.length);
    const fin = this.finQueued && end === this.finSeq;
    if (data.length === 0 && !fin) return null;
    return { seq, data, fin, retransmit };
  }

  #sent(it: SendItem, now: number): SendItem {
    this.lastSentAt = now;
    const end = seqAdd(it.seq, it.data.length + (it.fin ? 1 : 0));
    if (seqGt(end, this.nxt) && seqGe(this.nxt, it.seq)) this.nxt = end;
    if (seqGt(end, this.max)) this.max = end;
    if (it.fin) this.finSent = true;
    if (it.retransmit) {
      this.retransmits++;
      this.sampler.onRetransmit();
    } else this.sampler.start(end, now);
    if (this.rtoAt === Infinity) this.rtoAt = now + this.rtt.rto;
    return it;
  }

  /**
   * The zero-window probe (RFC 9293 §3.8.6.1): one byte past a closed
   * window, sent without advancing SND.NXT; backs off like the RTO.
   */
  probe(now: number): SendItem | null {
    const it = this.#at(this.nxt, 1, false);
    this.persistBackoff++;
    this.persistAt = now + Math.min(this.#cfg.maxRtoMs, this.rtt.rto * 2 ** this.persistBackoff);
    if (!it) return null;
    const end = seqAdd(it.seq, it.data.length + (it.fin ? 1 : 0));
    if (seqGt(end, this.max)) this.max = end;
    return it;
  }

  /** Arms the persist timer when a closed window blocks pending data and nothing is in flight. */
  checkPersist(now: number): void {
    const blocked = seqLt(this.nxt, this.dataEnd) &&
      seqDiff(seqAdd(this.una, this.wnd), this.nxt) <= 0;
    if (blocked && this.flight === 0) {
      if (this.persistAt === Infinity) this.persistAt = now + this.rtt.rto;
    } else if (!blocked) this.persistAt = Infinity;
  }
}
