/**
 * One TCP connection (RFC 9293) as a pure state machine: segments in with
 * the time, segments out when polled, timers as a deadline to honour. No
 * I/O, no clock of its own — the owner calls input(), poll(), tick() and
 * reads nextTimerAt(), like the WireGuard cores in src/wireguard.
 *
 * Covered: active and passive open with MSS, window-scale, SACK-permitted
 * and timestamp negotiation; bounded send and receive buffers; delayed ACKs;
 * RTO with back-off; SACK (or NewReno) fast retransmit and recovery;
 * zero-window probes; optional keep-alive; independent half-close in each
 * direction; RFC 5961 checks for RST, SYN and ACK; a bounded TIME-WAIT.
 *
 * @module
 */

import {
  SYNCHRONIZED_STATES,
  type TcpCloseReason,
  type TcpConfig,
  tcpConfig,
  type TcpConnStats,
  type TcpEvent,
  type TcpState,
} from "./tcp_config.ts";
import { negotiate, type Negotiated, RateLimit } from "./tcp_handshake.ts";
import { TcpOutput } from "./tcp_output.ts";
import type { CookieConn } from "./tcp_syncookie.ts";
import { afterClose, afterOurFinAcked, afterPeerFin, receivesData } from "./tcp_states.ts";
import { TcpReceiver } from "./tcp_receiver.ts";
import { TCP_ACK, TCP_FIN, TCP_PSH, TCP_RST, TCP_SYN, type TcpSegment } from "./tcp_segment.ts";
import { TcpSender } from "./tcp_sender.ts";
import { seqAdd } from "./tcp_seq.ts";

const EMPTY = new Uint8Array(0);
// Shared event objects: the bulk path emits one per segment otherwise.
const READABLE: TcpEvent = Object.freeze({ type: "readable" });
const WRITABLE: TcpEvent = Object.freeze({ type: "writable" });
const NO_EVENTS: readonly TcpEvent[] = Object.freeze([]);

/**
 * A TCP connection between `localPort` and `remotePort` (addresses are the
 * owner's business: it encodes segments with them).
 *
 * @example
 * ```ts
 * import { TcpConn } from "./tcp_conn.ts";
 * const a = TcpConn.connect(40000, 80, 0);
 * const [syn] = a.poll(0);
 * const b = TcpConn.accept(syn, 1);
 * for (const s of b.poll(1)) a.input(s, 2);
 * for (const s of a.poll(2)) b.input(s, 3);
 * console.assert(a.state === "ESTABLISHED" && b.state === "ESTABLISHED");
 * ```
 */
export class TcpConn {
  /** Our port. */
  readonly localPort: number;
  /** The peer's port. */
  readonly remotePort: number;
  /** Counters. */
  readonly stats: TcpConnStats = {
    segmentsIn: 0,
    segmentsOut: 0,
    retransmits: 0,
    timeouts: 0,
    challengeAcks: 0,
    dropped: 0,
  };
  #state: TcpState;
  #closeReason: TcpCloseReason | null = null;
  readonly #cfg: TcpConfig;
  #memoryReleased = false;
  readonly #snd: TcpSender;
  readonly #rcv: TcpReceiver;
  #events: TcpEvent[] = [];
  #rsts: TcpSegment[] = [];
  #synPending = true;
  #agreed: Negotiated | null = null;
  readonly #out: TcpOutput;
  #lastRecvAt: number;
  #lastNow: number;
  #kaProbes = 0;
  #kaPending = false;
  #probePending = false;
  #timeWaitAt = Infinity;
  #finWait2At = Infinity;
  readonly #ackLimit: RateLimit;
  #wantWritable = false;
  /** write(), read() or close() may have made output due; poll() clears it. */
  #dirty = false;

  private constructor(localPort: number, remotePort: number, config: TcpConfig, now: number) {
    this.localPort = localPort;
    this.remotePort = remotePort;
    // The buffers start with what the stack's budget grants (less when it runs low).
    const mem = config.memory;
    const cfg = this.#cfg = mem
      ? {
        ...config,
        sendBufferBytes: mem.grant(config.sendBufferBytes),
        recvBufferBytes: mem.grant(config.recvBufferBytes),
      }
      : config;
    this.#snd = new TcpSender(cfg);
    this.#ackLimit = new RateLimit(cfg.challengeAcksPerSecond);
    this.#rcv = new TcpReceiver(
      cfg.recvBufferBytes,
      cfg.oooBytes,
      cfg.mss,
      cfg.delayedAckMs,
      cfg.recvBufferMaxBytes,
      mem ? (n) => mem.tryGrow(n) : undefined,
    );
    this.#state = "SYN_SENT";
    this.#lastRecvAt = now;
    this.#lastNow = now;
    this.#out = new TcpOutput(localPort, remotePort, this.#rcv, Math.floor(cfg.random() * 2 ** 32));
    this.#snd.init(Math.floor(cfg.random() * 2 ** 32), cfg.mss);
  }

  /**
   * Active open: a connection in SYN-SENT whose first poll() yields the SYN.
   *
   * @throws {RangeError} if the configuration is out of range
   */
  static connect(
    localPort: number,
    remotePort: number,
    now: number,
    config: Partial<TcpConfig> = {},
  ): TcpConn {
    return new TcpConn(localPort, remotePort, tcpConfig(config), now);
  }

  /**
   * Passive open from a received SYN (the listener's choice to accept it):
   * a connection in SYN-RECEIVED whose first poll() yields the SYN-ACK,
   * offering only the options the SYN offered.
   *
   * @throws {RangeError} if `syn` is not a bare SYN or the configuration is out of range
   */
  static accept(syn: TcpSegment, now: number, config: Partial<TcpConfig> = {}): TcpConn {
    if ((syn.flags & (TCP_SYN | TCP_ACK | TCP_RST)) !== TCP_SYN) {
      throw new RangeError(`Cannot accept a segment with flags 0x${syn.flags.toString(16)}`);
    }
    const c = new TcpConn(syn.dstPort, syn.srcPort, tcpConfig(config), now);
    c.#state = "SYN_RECEIVED";
    c.#negotiate(syn, now);
    c.stats.segmentsIn++;
    return c;
  }

  /**
   * The connection a valid SYN cookie names (see tcp_syncookie.ts), made
   * when its handshake's final ACK arrives: ESTABLISHED, without window
   * scaling, SACK or timestamps, which the cookie cannot carry. The owner
   * then passes that ACK to input() for its window and any data.
   */
  static fromCookie(
    ack: TcpSegment,
    cookie: CookieConn,
    now: number,
    config: Partial<TcpConfig> = {},
  ): TcpConn {
    const cfg = tcpConfig({ ...config, windowScale: false, sack: false, timestamps: false });
    const c = new TcpConn(ack.dstPort, ack.srcPort, cfg, now);
    c.#negotiate({ ...ack, seq: cookie.irs, window: 0, options: { mss: cookie.mss } }, now);
    const snd = c.#snd;
    snd.init(cookie.iss, snd.segMax);
    snd.una = snd.nxt = snd.max = seqAdd(cookie.iss, 1);
    snd.wl2 = snd.una;
    c.#state = "ESTABLISHED";
    c.#synPending = false;
    c.#events.push({ type: "connected" });
    return c;
  }

  /** The RFC 9293 state. */
  get state(): TcpState {
    return this.#state;
  }

  /** Why the connection closed, once it has. */
  get closeReason(): TcpCloseReason | null {
    return this.#closeReason;
  }

  /** Bytes waiting to be read. */
  get readableBytes(): number {
    return this.#rcv.buf.length;
  }

  /** The peer's FIN arrived and every byte before it has been read. */
  get eof(): boolean {
    return this.#rcv.finReceived && this.#rcv.buf.length === 0;
  }

  /** Send-buffer room: how much write() would take now. */
  get writableBytes(): number {
    return this.#snd.finQueued || !this.#canSend() ? 0 : this.#snd.buf.free;
  }

  /** Bytes held in the out-of-order queue (bounded by `oooBytes`). */
  get outOfOrderBytes(): number {
    return this.#rcv.ooo.bytes;
  }

  /** The highest sequence number sent plus one (SND.NXT before any go-back). */
  get sendNext(): number {
    return this.#snd.max;
  }

  /** RCV.NXT: the next sequence number expected from the peer. */
  get receiveNext(): number {
    return this.#rcv.nxt;
  }

  /** Bytes written and not yet acknowledged. */
  get unacknowledgedBytes(): number {
    return this.#snd.buf.length;
  }

  /** The current RTO, cwnd and SRTT, for status and tests. */
  get transport(): { rto: number; cwnd: number; ssthresh: number; srtt: number; rtoCount: number } {
    const s = this.#snd;
    return {
      rto: s.rtt.rto,
      cwnd: s.cc.cwnd,
      ssthresh: s.cc.ssthresh,
      srtt: s.rtt.srtt,
      rtoCount: s.rtoCount,
    };
  }

  /** Drains the events since the last call (a shared empty array when there are none). */
  events(): readonly TcpEvent[] {
    const e = this.#events;
    if (e.length === 0) return NO_EVENTS;
    this.#events = [];
    return e;
  }

  #canSend(): boolean {
    return this.#state !== "CLOSED" && this.#state !== "TIME_WAIT";
  }

  /** Buffers what fits of `bytes` for sending; returns the count taken (0 once closed for writing). */
  write(bytes: Uint8Array): number {
    if (!this.#canSend() || this.#snd.finQueued) return 0;
    const n = this.#snd.write(bytes);
    if (n > 0) this.#dirty = true;
    if (n < bytes.length) this.#wantWritable = true;
    return n;
  }

  /** Takes up to `max` received bytes (empty when none; see `eof`). */
  read(max = Infinity): Uint8Array {
    const out = this.#rcv.read(max);
    if (out.length > 0) this.#dirty = true; // a window update may be owed
    return out;
  }

  /**
   * Up to `max` received bytes in place, not copied (empty when none): a
   * view valid until `consume` or the next `read`; `consume(n)` marks them read.
   */
  peek(max: number): Uint8Array {
    return this.#rcv.peek(max);
  }

  /** Marks `n` bytes of what `peek` showed as read (the window reopens as after `read`). */
  consume(n: number): void {
    if (n <= 0) return;
    this.#rcv.consume(n);
    this.#dirty = true;
  }

  /** Half-close: a FIN follows the buffered data; reading continues until the peer's FIN. */
  close(): void {
    const s = this.#state;
    this.#dirty = true;
    if (s === "SYN_SENT") return this.#closed("aborted");
    // In SYN-RECEIVED the FIN waits for the handshake (then FIN-WAIT-1, see #establish).
    if (s === "SYN_RECEIVED" || s === "ESTABLISHED" || s === "CLOSE_WAIT") this.#snd.close();
    this.#state = afterClose(s);
  }

  /** Drops the connection at once, sending a RST from a synchronized state. */
  abort(): void {
    if (this.#state === "CLOSED") return;
    if (SYNCHRONIZED_STATES.has(this.#state) || this.#state === "SYN_RECEIVED") {
      this.#rsts.push(this.#out.segment(TCP_RST | TCP_ACK, this.#snd.max, EMPTY, {}));
    }
    this.#closed("aborted");
  }

  /** Queues an event; readable and writable are not repeated while one is undrained. */
  #emit(e: TcpEvent): void {
    if (e === READABLE || e === WRITABLE) {
      const q = this.#events;
      for (let i = 0; i < q.length; i++) if (q[i] === e) return;
    }
    this.#events.push(e);
  }

  #closed(reason: TcpCloseReason): void {
    if (this.#state === "CLOSED") return;
    this.#state = "CLOSED";
    this.#releaseMemory();
    this.#closeReason = reason;
    if (reason === "reset" || reason === "refused") this.#events.push({ type: "reset" });
    this.#events.push({ type: "closed", reason });
  }

  /** Gives the buffers' budget back, once: in TIME-WAIT or CLOSED no data moves any more. */
  #releaseMemory(): void {
    if (this.#memoryReleased) return;
    this.#memoryReleased = true;
    this.#cfg.memory?.release(this.#rcv.buf.capacity + this.#snd.buf.capacity);
  }

  /** Reads the peer's SYN options and sets up both sequence spaces. */
  #negotiate(syn: TcpSegment, now: number): void {
    const n = negotiate(syn.options, this.#cfg);
    this.#agreed = n;
    this.#rcv.init(syn.seq, n.rcvShift);
    this.#snd.shift = n.sndShift;
    this.#snd.sackOk = n.sack;
    this.#out.tsOk = n.timestamps;
    this.#out.sackOk = n.sack;
    if (syn.options.ts) this.#out.seedTimestamp(syn.options.ts.val, now);
    this.#snd.init(this.#snd.iss, n.segMax);
    this.#snd.wnd = syn.window; // never scaled in a SYN (RFC 7323 §2.2)
    this.#snd.maxWnd = syn.window;
    this.#snd.wl1 = syn.seq;
  }

  /** Processes one received segment (already checksummed and demultiplexed to us). */
  input(seg: TcpSegment, now: number): void {
    this.stats.segmentsIn++;
    this.#lastNow = now;
    if (this.#state === "CLOSED") return;
    this.#lastRecvAt = now;
    this.#kaProbes = 0;
    if (this.#state === "SYN_SENT") return this.#inputSynSent(seg, now);
    const rcv = this.#rcv, snd = this.#snd;
    const syn = (seg.flags & TCP_SYN) !== 0, fin = (seg.flags & TCP_FIN) !== 0;
    const segLen = seg.payload.length + (syn ? 1 : 0) + (fin ? 1 : 0);
    const acceptable = rcv.acceptable(seg.seq, segLen);
    // A zero-window probe is not acceptable, but its ACK fields still count (RFC 9293 §3.10.7.4).
    const ackOnly = !acceptable && rcv.wnd === 0 && seg.seq === rcv.nxt;
    if (!(seg.flags & TCP_RST) && this.#out.paws(seg, now)) {
      // RFC 7323 §5.3 R1: an old duplicate from a previous wrap of the sequence space.
      this.stats.dropped++;
      this.#challengeAck(now);
      return;
    }
    if (seg.flags & TCP_RST) {
      // RFC 1337 (TIME-WAIT assassination, hazard TWA1): the peer is done, so a RST here answers
      // an old duplicate (ours or a late retransmit of its FIN that we ACKed after it closed);
      // taking it would free the 4-tuple before old segments in flight have died.
      if (this.#state === "TIME_WAIT") {
        this.stats.dropped++;
        return;
      }
      if (this.#state === "SYN_RECEIVED" && acceptable) return this.#closed("reset");
      if (seg.seq === rcv.nxt) return this.#closed("reset");
      if (acceptable) this.#challengeAck(now); // RFC 5961 §3.2: in window but not exact
      else this.stats.dropped++;
      return;
    }
    if (syn && this.#state === "SYN_RECEIVED" && seg.seq === seqAdd(rcv.nxt, -1)) {
      const synAck = (seg.flags & TCP_ACK) !== 0 && seg.ack === seqAdd(snd.iss, 1);
      // A SYN-ACK here is the other half of a simultaneous open; a bare SYN means ours was lost.
      if (synAck && snd.nxt !== snd.iss) this.#establish(seg, now);
      else this.#synPending = true;
      return;
    }
    if (!acceptable && !ackOnly) {
      this.stats.dropped++;
      this.#challengeAck(now); // rate-limited, so two confused ends cannot ping-pong ACKs
      if (this.#state === "TIME_WAIT" && fin) this.#timeWaitAt = now + this.#cfg.timeWaitMs;
      return;
    }
    if (syn) return this.#challengeAck(now); // RFC 5961 §4: any SYN in a synchronized state
    if (!(seg.flags & TCP_ACK)) return;
    this.#out.noteTimestamp(seg, now);
    if (this.#state === "SYN_RECEIVED") {
      if (seg.ack !== seqAdd(snd.iss, 1) || snd.nxt === snd.iss) {
        this.#rsts.push(this.#out.segment(TCP_RST, seg.ack, EMPTY, {}, false));
        return;
      }
      this.#establish(seg, now);
    }
    const tsRtt = this.#out.rtt(seg, now);
    const { verdict, acked } = snd.onAck(
      seg.ack,
      seg.seq,
      seg.window,
      seg.options.sack,
      tsRtt,
      seg.payload.length > 0 || fin,
      now,
    );
    if (verdict === "future" || verdict === "old") {
      this.stats.dropped++;
      this.#challengeAck(now); // RFC 5961 §5: answer, but rate-limited
      return;
    }
    if (acked > 0 && this.#wantWritable && snd.buf.free > 0) {
      this.#wantWritable = false;
      this.#emit(WRITABLE);
    }
    if (snd.finAcked) this.#moveTo(afterOurFinAcked(this.#state), now);
    // FIN-WAIT-2 lasts while the peer is heard from (the timer restarts on each segment).
    if (this.#state === "FIN_WAIT_2") this.#finWait2At = now + this.#cfg.finWait2Ms;
    if (this.#closeReason !== null) return; // LAST-ACK ended
    if (ackOnly) {
      rcv.ackNow = true;
      return;
    }
    if (receivesData(this.#state)) {
      const r = rcv.onSegment(seg.seq, seg.payload, fin, now);
      if (r.delivered > 0) this.#emit(READABLE);
      if (r.fin) {
        this.#emit({ type: "eof" });
        this.#emit(READABLE);
        this.#moveTo(afterPeerFin(this.#state, snd.finAcked), now);
      }
    } else if (fin || seg.payload.length > 0) {
      rcv.ackNow = true; // a retransmitted FIN (or data after it): our ACK was lost
      if (this.#state === "TIME_WAIT") this.#timeWaitAt = now + this.#cfg.timeWaitMs;
    }
  }

  /** SYN-RECEIVED → ESTABLISHED (or FIN-WAIT-1 if closed meanwhile) on the ACK of our SYN. */
  #establish(seg: TcpSegment, now: number): void {
    const snd = this.#snd;
    snd.una = seg.ack;
    const r = snd.sampler.onAck(seg.ack, now) ?? this.#out.rtt(seg, now);
    if (r !== null) snd.rtt.sample(r);
    snd.rtoAt = Infinity;
    snd.rtoCount = 0;
    this.#state = snd.finQueued ? "FIN_WAIT_1" : "ESTABLISHED";
    this.#synPending = false; // a SYN-ACK resend asked for just before is moot now
    this.#events.push({ type: "connected" });
    snd.wl1 = seqAdd(seg.seq, -1); // take this segment's window
  }

  #inputSynSent(seg: TcpSegment, now: number): void {
    const snd = this.#snd;
    const hasAck = (seg.flags & TCP_ACK) !== 0;
    const ackOk = hasAck && seg.ack === seqAdd(snd.iss, 1) && snd.nxt !== snd.iss;
    if (hasAck && !ackOk) {
      if (!(seg.flags & TCP_RST)) {
        this.#rsts.push(this.#out.segment(TCP_RST, seg.ack, EMPTY, {}, false));
      }
      return;
    }
    if (seg.flags & TCP_RST) {
      if (ackOk) this.#closed("refused");
      return;
    }
    if (!(seg.flags & TCP_SYN)) return;
    this.#negotiate(seg, now);
    if (!ackOk) {
      // Simultaneous open (RFC 9293 §3.5): answer with a SYN-ACK from the same ISS.
      this.#state = "SYN_RECEIVED";
      this.#synPending = true;
      return;
    }
    snd.una = snd.nxt = snd.max = seg.ack;
    const r = this.#out.rtt(seg, now) ?? snd.sampler.onAck(seg.ack, now);
    if (r !== null) snd.rtt.sample(r);
    snd.rtoAt = Infinity;
    snd.rtoCount = 0;
    snd.wl2 = seg.ack;
    this.#state = "ESTABLISHED";
    this.#rcv.ackNow = true;
    this.#events.push({ type: "connected" });
  }

  #challengeAck(now: number): void {
    if (!this.#ackLimit.allow(now)) return;
    this.stats.challengeAcks++;
    this.#rcv.ackNow = true;
  }

  /** Applies a transition of tcp_states.ts with its timers. */
  #moveTo(next: TcpState, now: number): void {
    if (next === this.#state) return;
    if (next === "CLOSED") return this.#closed("done");
    this.#state = next;
    if (next === "TIME_WAIT") {
      this.#releaseMemory();
      this.#timeWaitAt = now + this.#cfg.timeWaitMs;
      this.#finWait2At = Infinity;
      this.#snd.rtoAt = Infinity;
    }
  }

  /**
   * The earliest time tick() or poll() has work to do, or Infinity; the time
   * of the last input() or tick() (so: due now) when output may be waiting —
   * an ACK owed, a RST, or data after write(), read() or close().
   */
  nextTimerAt(): number {
    if (this.#rsts.length > 0) return this.#lastNow;
    if (this.#state === "CLOSED") return Infinity;
    const s = this.#snd;
    const synState = this.#state === "SYN_SENT" || this.#state === "SYN_RECEIVED";
    const due = this.#rcv.ackNow || (synState && this.#synPending) || this.#probePending;
    if (due || this.#kaPending || this.#dirty) {
      return this.#lastNow;
    }
    return Math.min(
      s.rtoAt,
      s.persistAt,
      this.#rcv.delAckAt,
      this.#timeWaitAt,
      this.#finWait2At,
      this.#keepAliveAt(),
    );
  }

  #keepAliveAt(): number {
    const ka = this.#cfg.keepAlive;
    if (!ka || (this.#state !== "ESTABLISHED" && this.#state !== "CLOSE_WAIT")) return Infinity;
    if (this.#snd.flight > 0) return Infinity; // the retransmission timer covers a busy connection
    return this.#lastRecvAt + ka.idleMs + this.#kaProbes * ka.intervalMs;
  }

  /** Runs the timers due at `now`: retransmission, persist, keep-alive, TIME-WAIT, FIN-WAIT-2. */
  tick(now: number): void {
    this.#lastNow = now;
    if (this.#state === "CLOSED") return;
    const snd = this.#snd;
    if (now >= this.#timeWaitAt) return this.#closed("done");
    if (now >= this.#finWait2At) return this.#closed("timeout");
    if (now >= snd.rtoAt) {
      this.stats.timeouts++;
      const synState = this.#state === "SYN_SENT" || this.#state === "SYN_RECEIVED";
      const limit = synState ? this.#cfg.synRetries : this.#cfg.dataRetries;
      if (snd.rtoCount >= limit) return this.#closed("timeout");
      if (synState) {
        snd.rtoCount++;
        snd.rtt.backoff();
        snd.sampler.onRetransmit();
        snd.rtoAt = Infinity;
        this.#synPending = true;
      } else snd.onRto(now);
    }
    if (now >= snd.persistAt) this.#probePending = true;
    const ka = this.#cfg.keepAlive;
    if (ka && now >= this.#keepAliveAt()) {
      if (this.#kaProbes >= ka.probes) return this.#closed("timeout");
      this.#kaProbes++;
      this.#kaPending = true;
    }
  }

  /**
   * The segments to send now, in order. With `views`, data payloads view
   * the send buffer rather than copy it: for an owner that encodes them at
   * once, since they change with the next write() or input().
   */
  poll(now: number, views = false): TcpSegment[] {
    this.#snd.views = views;
    try {
      return this.#poll(now);
    } finally {
      this.#snd.views = false;
    }
  }

  #poll(now: number): TcpSegment[] {
    this.#dirty = false;
    const out = this.#rsts;
    this.#rsts = [];
    if (this.#state === "CLOSED") return this.#count(out);
    const snd = this.#snd, rcv = this.#rcv;
    if (this.#state === "SYN_SENT" || this.#state === "SYN_RECEIVED") {
      if (this.#synPending) {
        this.#synPending = false;
        const synAck = this.#state === "SYN_RECEIVED";
        const first = snd.max === snd.iss;
        out.push(this.#out.syn(this.#cfg, synAck ? this.#agreed : null, snd.iss, now));
        snd.nxt = snd.max = seqAdd(snd.iss, 1);
        if (first) snd.sampler.start(snd.nxt, now);
        else snd.sampler.onRetransmit();
        if (snd.rtoAt === Infinity) snd.rtoAt = now + snd.rtt.rto;
      }
      if (rcv.ackNow && this.#state === "SYN_RECEIVED" && snd.nxt !== snd.iss) {
        out.push(this.#out.ack(snd.nxt, now));
      }
      return this.#count(out);
    }
    const maySend = this.#state !== "FIN_WAIT_2" && this.#state !== "TIME_WAIT";
    for (let i = 0; maySend && i < 1024; i++) {
      const opts = this.#out.options(now);
      const room = snd.segMax - (opts.sack ? 2 + 2 + 8 * opts.sack.length : 0);
      const it = snd.next(now, room);
      if (!it) break;
      if (it.retransmit) this.stats.retransmits++;
      let flags = TCP_ACK | (it.fin ? TCP_FIN : 0);
      if (it.data.length > 0 && !snd.pending) flags |= TCP_PSH;
      out.push(this.#out.segment(flags, it.seq, it.data, opts));
    }
    if (maySend) snd.checkPersist(now);
    if (this.#probePending) {
      this.#probePending = false;
      const it = snd.probe(now);
      if (it) out.push(this.#out.segment(TCP_ACK, it.seq, it.data, this.#out.options(now)));
    }
    if (this.#kaPending) {
      this.#kaPending = false;
      // RFC 9293 §3.8.4: SEG.SEQ = SND.NXT − 1 draws an ACK from a live peer.
      out.push(this.#out.ack(seqAdd(snd.max, -1), now));
    }
    // SND.MAX, not a rewound SND.NXT: a pure ACK below the peer's RCV.NXT would be discarded.
    if (rcv.ackNow || now >= rcv.delAckAt) {
      out.push(this.#out.ack(snd.max, now));
    }
    // One duplicate ACK per out-of-order segment, as a peer counting them expects.
    while (rcv.dupAcksOwed > 0) {
      out.push(this.#out.ack(snd.max, now));
    }
    return this.#count(out);
  }

  #count(out: TcpSegment[]): TcpSegment[] {
    this.stats.segmentsOut += out.length;
    return out;
  }
}

/** Re-exported so owners need only this module for the common names. */
export type { TcpCloseReason, TcpConfig, TcpConnStats, TcpEvent, TcpState };
