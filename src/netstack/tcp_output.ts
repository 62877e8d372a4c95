/**
 * Builds a connection's outgoing segments: ports, the ACK and window from
 * the receive half, the timestamp option (RFC 7323: TSval from our clock,
 * TSecr = TS.Recent, updated only from segments at or below the last ACK
 * sent) and SACK blocks. Also measures RTT from echoed timestamps.
 *
 * @module
 */

import type { TcpConfig } from "./tcp_config.ts";
import { type Negotiated, synOptions } from "./tcp_handshake.ts";
import type { TcpReceiver } from "./tcp_receiver.ts";
import { TCP_ACK, TCP_RST, TCP_SYN, type TcpOptions, type TcpSegment } from "./tcp_segment.ts";
import { seqDiff, seqLe, seqLt } from "./tcp_seq.ts";

const EMPTY = new Uint8Array(0);
/** RFC 7323 §5.5: after 24 days without an update TS.Recent may have wrapped. */
const PAWS_IDLE_MS = 24 * 24 * 3600 * 1000;

/**
 * The segment factory of one connection.
 *
 * @example
 * ```ts
 * import { TcpOutput } from "./tcp_output.ts";
 * import { TcpReceiver } from "./tcp_receiver.ts";
 * import { TCP_ACK } from "./tcp_segment.ts";
 * const rcv = new TcpReceiver(65535, 65535, 1460);
 * rcv.init(99, 0);
 * const out = new TcpOutput(80, 40000, rcv, 0);
 * out.segment(TCP_ACK, 5, new Uint8Array(0), {}).ack; // 100
 * ```
 */
export class TcpOutput {
  /** Timestamps were negotiated. */
  tsOk = false;
  /** SACK was negotiated. */
  sackOk = false;
  /** TS.Recent: the timestamp to echo. */
  tsRecent = 0;
  /** RCV.NXT as last acknowledged. */
  lastAckSent = 0;
  readonly #local: number;
  readonly #remote: number;
  readonly #rcv: TcpReceiver;
  readonly #tsOffset: number;
  #tsRecentAt = 0;

  /** Segments from `local` to `remote` acknowledging for `rcv`; TSval = ms + `tsOffset`. */
  constructor(local: number, remote: number, rcv: TcpReceiver, tsOffset: number) {
    this.#local = local;
    this.#remote = remote;
    this.#rcv = rcv;
    this.#tsOffset = tsOffset;
  }

  /** Our TSval at `now`. */
  tsNow(now: number): number {
    return (Math.floor(now) + this.#tsOffset) | 0;
  }

  /** Starts TS.Recent from the peer's SYN (or SYN-ACK). */
  seedTimestamp(val: number, now: number): void {
    this.tsRecent = val;
    this.#tsRecentAt = now;
  }

  /** Takes the peer's TSval as TS.Recent if `seg` is not beyond what we acknowledged (RFC 7323 §4.3). */
  noteTimestamp(seg: TcpSegment, now: number): void {
    if (this.tsOk && seg.options.ts && seqLe(seg.seq, this.lastAckSent)) {
      this.tsRecent = seg.options.ts.val;
      this.#tsRecentAt = now;
    }
  }

  /**
   * RFC 7323 §5.3's PAWS test: whether `seg` carries a TSval older than
   * TS.Recent, so it is an old duplicate to drop (after an ACK). A TS.Recent
   * idle for over 24 days is stale and no longer judges (§5.5).
   */
  paws(seg: TcpSegment, now: number): boolean {
    const ts = seg.options.ts;
    if (!this.tsOk || !ts || now - this.#tsRecentAt > PAWS_IDLE_MS) return false;
    return seqLt(ts.val, this.tsRecent);
  }

  /** The RTT the echoed timestamp of `seg` shows at `now`, or null without a usable one. */
  rtt(seg: TcpSegment, now: number): number | null {
    const ecr = seg.options.ts?.ecr;
    if (!this.tsOk || ecr === undefined || ecr === 0) return null;
    const r = seqDiff(this.tsNow(now), ecr);
    return r >= 0 && r < 3_600_000 ? r : null;
  }

  /** The options of a segment sent at `now`: timestamps and SACK blocks as negotiated. */
  options(now: number): TcpOptions {
    const o: TcpOptions = {};
    if (this.tsOk) o.ts = { val: this.tsNow(now), ecr: this.tsRecent };
    if (this.sackOk) {
      const blocks = this.#rcv.sackBlocks(this.tsOk ? 3 : 4);
      if (blocks.length > 0) o.sack = blocks;
    }
    return o;
  }

  /** A bare ACK from `seq` with the current options. */
  ack(seq: number, now: number): TcpSegment {
    return this.segment(TCP_ACK, seq, EMPTY, this.options(now));
  }

  /** Our SYN (offering `cfg`) or SYN-ACK (answering `agreed`) from `iss`. */
  syn(cfg: TcpConfig, agreed: Negotiated | null, iss: number, now: number): TcpSegment {
    const o = synOptions(cfg, agreed, this.tsNow(now), this.tsRecent);
    const seg = this.segment(TCP_SYN | (agreed ? TCP_ACK : 0), iss, EMPTY, o, agreed !== null);
    seg.window = Math.min(0xffff, this.#rcv.freeWindow); // never scaled in a SYN
    return seg;
  }

  /**
   * A segment with `flags` at `seq`; with `withAck` (and TCP_ACK in flags)
   * it acknowledges RCV.NXT, which settles any ACK the receiver owed.
   */
  segment(
    flags: number,
    seq: number,
    payload: Uint8Array,
    options: TcpOptions,
    withAck = true,
  ): TcpSegment {
    const rcv = this.#rcv;
    const ack = withAck && (flags & TCP_ACK) !== 0;
    if (ack) {
      this.lastAckSent = rcv.nxt;
      rcv.onAckSent();
    }
    return {
      srcPort: this.#local,
      dstPort: this.#remote,
      seq,
      ack: ack ? rcv.nxt : 0,
      flags: withAck ? flags : flags & ~TCP_ACK,
      window: flags & TCP_RST ? 0 : rcv.windowField(),
      urgent: 0,
      options,
      payload,
    };
  }
}
