/**
 * The TCP header codec (RFC 9293 §3.1) over an IP payload: ports, sequence
 * and acknowledgement numbers, flags, window, checksum with the IPv4 or IPv6
 * pseudo-header, urgent pointer, and the options a modern stack negotiates —
 * MSS, window scale (RFC 7323), SACK-permitted and SACK blocks (RFC 2018),
 * timestamps (RFC 7323), NOP and EOL. Malformed segments decode to null and
 * bump a counter naming why.
 *
 * @module
 */

import { finishChecksum, sumWords } from "../net/checksum.ts";

/** FIN: no more data from the sender. */
export const TCP_FIN = 0x01;
/** SYN: synchronise sequence numbers. */
export const TCP_SYN = 0x02;
/** RST: reset the connection. */
export const TCP_RST = 0x04;
/** PSH: push the data to the application. */
export const TCP_PSH = 0x08;
/** ACK: the acknowledgement field is significant. */
export const TCP_ACK = 0x10;
/** URG: the urgent pointer is significant. */
export const TCP_URG = 0x20;

/** The fixed TCP header length, without options. */
export const TCP_HEADER_MIN = 20;
/** The most option bytes a header holds (data offset 15 words). */
export const TCP_OPTIONS_MAX = 40;

/** Option kinds (IANA "TCP Option Kind Numbers"). */
const OPT_EOL = 0, OPT_NOP = 1, OPT_MSS = 2, OPT_WS = 3, OPT_SACK_OK = 4, OPT_SACK = 5;
const OPT_TS = 8;

/** One SACK block: the bytes [start, end) the receiver holds (RFC 2018 §3). */
export interface SackBlock {
  /** First sequence number held. */
  start: number;
  /** Sequence number just past the last byte held. */
  end: number;
}

/** The options of a segment this codec understands; unknown kinds are skipped. */
export interface TcpOptions {
  /** Maximum segment size (kind 2, SYN only). */
  mss?: number;
  /** Window scale shift (kind 3, SYN only); decoded as sent, callers clamp to 14. */
  wscale?: number;
  /** SACK-permitted (kind 4, SYN only). */
  sackPermitted?: boolean;
  /** SACK blocks (kind 5), at most 4. */
  sack?: SackBlock[];
  /** Timestamps (kind 8): TSval and TSecr, as int32s (tcp_seq.ts says why). */
  ts?: { val: number; ecr: number };
}

/** A decoded TCP segment. */
export interface TcpSegment {
  /** Source port. */
  srcPort: number;
  /** Destination port. */
  dstPort: number;
  /** Sequence number, as an int32 (tcp_seq.ts says why); encoding takes either form. */
  seq: number;
  /** Acknowledgement number, as an int32. */
  ack: number;
  /** The flag bits (TCP_SYN | TCP_ACK …), CWR and ECE included. */
  flags: number;
  /** The raw (unscaled) window field. */
  window: number;
  /** The urgent pointer. */
  urgent: number;
  /** Decoded options. */
  options: TcpOptions;
  /** The data; a view into the decoded bytes. */
  payload: Uint8Array;
}

/** Why {@linkcode decodeTcpSegment} refused a segment. */
export type TcpRejectReason = "short" | "badOffset" | "badOption" | "badChecksum";

/** Counters of refused segments, by reason. */
export type TcpRejectCounters = Record<TcpRejectReason, number>;

/**
 * Fresh zeroed reject counters.
 *
 * @example
 * ```ts
 * import { newRejectCounters } from "./tcp_segment.ts";
 * newRejectCounters().badChecksum; // 0
 * ```
 */
export function newRejectCounters(): TcpRejectCounters {
  return { short: 0, badOffset: 0, badOption: 0, badChecksum: 0 };
}

/**
 * The one's-complement sum of the TCP pseudo-header: addresses, protocol 6
 * and the segment length. IPv4 (RFC 9293 §3.1) and IPv6 (RFC 8200 §8.1)
 * sum alike because the zero padding adds nothing.
 */
function pseudoSum(src: Uint8Array, dst: Uint8Array, len: number): number {
  if (src.length !== dst.length || (src.length !== 4 && src.length !== 16)) {
    throw new TypeError(
      `Cannot checksum TCP between ${src.length}- and ${dst.length}-byte addresses`,
    );
  }
  let acc = sumWords(src, 0, src.length);
  acc = sumWords(dst, 0, dst.length, acc);
  return acc + 6 + (len & 0xffff) + Math.floor(len / 0x10000);
}

/**
 * The TCP checksum of `seg` (header with its checksum field as it is, plus
 * data) between `src` and `dst`: 0 when a received segment's checksum is right.
 *
 * @example
 * ```ts
 * import { encodeTcpSegment, tcpChecksum, TCP_SYN } from "./tcp_segment.ts";
 * const a = new Uint8Array([10, 0, 0, 1]), b = new Uint8Array([10, 0, 0, 2]);
 * const seg = encodeTcpSegment({ srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: TCP_SYN,
 *   window: 100, urgent: 0, options: {}, payload: new Uint8Array() }, a, b);
 * tcpChecksum(seg, a, b); // 0
 * ```
 * @throws {TypeError} if the addresses are not both 4 or both 16 bytes
 */
export function tcpChecksum(seg: Uint8Array, src: Uint8Array, dst: Uint8Array): number {
  return finishChecksum(sumWords(seg, 0, seg.length, pseudoSum(src, dst, seg.length)));
}

/**
 * Decodes the TCP segment `b` (the whole IP payload) received from `src` for
 * `dst`. Returns null, counting the reason in `rejects`, when the header is
 * short, the data offset is below 5 words or past the bytes, an option's
 * length is under 2 or runs past the header, or the checksum is wrong.
 * Options of a known kind with the wrong length are ignored, as Linux does.
 *
 * @example
 * ```ts
 * import { decodeTcpSegment, newRejectCounters } from "./tcp_segment.ts";
 * const r = newRejectCounters();
 * decodeTcpSegment(new Uint8Array(10), new Uint8Array(4), new Uint8Array(4), r); // null
 * r.short; // 1
 * ```
 * @throws {TypeError} if the addresses are not both 4 or both 16 bytes
 */
export function decodeTcpSegment(
  b: Uint8Array,
  src: Uint8Array,
  dst: Uint8Array,
  rejects?: TcpRejectCounters,
  verifyChecksum = true,
): TcpSegment | null {
  const seg = decodeTcpSegmentAt(b, 0, b.length, rejects);
  if (seg !== null && verifyChecksum && tcpChecksum(b, src, dst) !== 0) {
    return reject(rejects, "badChecksum");
  }
  return seg;
}

/**
 * Decodes the TCP segment in `b[off, end)` (an IP packet's payload, in
 * place: no view of the segment is made, only of its data) without looking
 * at the checksum — for a receiver that verified it already or need not
 * (see `IpInputOptions.verifyChecksums`). Null, counted, as
 * {@linkcode decodeTcpSegment} for a bad header.
 *
 * @example
 * ```ts
 * import { decodeTcpSegmentAt } from "./tcp_segment.ts";
 * const b = new Uint8Array(44);
 * b[20 + 12] = 5 << 4; // a 20-byte header 20 bytes in
 * decodeTcpSegmentAt(b, 20, 44)?.payload.length; // 4
 * ```
 */
export function decodeTcpSegmentAt(
  b: Uint8Array,
  off: number,
  end: number,
  rejects?: TcpRejectCounters,
): TcpSegment | null {
  if (end - off < TCP_HEADER_MIN) return reject(rejects, "short");
  const hdrLen = (b[off + 12] >> 4) * 4;
  if (hdrLen < TCP_HEADER_MIN || hdrLen > end - off) return reject(rejects, "badOffset");
  const options = decodeOptions(b, off + TCP_HEADER_MIN, off + hdrLen);
  if (options === null) return reject(rejects, "badOption");
  // Byte reads, not a DataView: one allocation less per segment on the receive path.
  return {
    srcPort: (b[off] << 8) | b[off + 1],
    dstPort: (b[off + 2] << 8) | b[off + 3],
    seq: (b[off + 4] << 24) | (b[off + 5] << 16) | (b[off + 6] << 8) | b[off + 7],
    ack: (b[off + 8] << 24) | (b[off + 9] << 16) | (b[off + 10] << 8) | b[off + 11],
    flags: b[off + 13],
    window: (b[off + 14] << 8) | b[off + 15],
    urgent: (b[off + 18] << 8) | b[off + 19],
    options,
    payload: b.subarray(off + hdrLen, end),
  };
}

function reject(rejects: TcpRejectCounters | undefined, why: TcpRejectReason): null {
  if (rejects) rejects[why]++;
  return null;
}

function readI32(b: Uint8Array, i: number): number {
  return (b[i] << 24) | (b[i + 1] << 16) | (b[i + 2] << 8) | b[i + 3];
}

function decodeOptions(b: Uint8Array, start: number, end: number): TcpOptions | null {
  return decodeOptionsInto(b, start, end, {}, null);
}

/**
 * Decodes the options in `b[start, end)` into `o`, which must hold no option
 * yet (or only undefined ones). With `ts` given, a timestamp option is
 * written into it and `o.ts` set to it, rather than allocated.
 */
function decodeOptionsInto(
  b: Uint8Array,
  start: number,
  end: number,
  o: TcpOptions,
  ts: { val: number; ecr: number } | null,
): TcpOptions | null {
  let i = start;
  while (i < end) {
    const kind = b[i];
    if (kind === OPT_EOL) break;
    if (kind === OPT_NOP) {
      i++;
      continue;
    }
    if (i + 1 >= end) return null;
    const len = b[i + 1];
    if (len < 2 || i + len > end) return null;
    if (kind === OPT_MSS && len === 4) o.mss = (b[i + 2] << 8) | b[i + 3];
    else if (kind === OPT_WS && len === 3) o.wscale = b[i + 2];
    else if (kind === OPT_SACK_OK && len === 2) o.sackPermitted = true;
    else if (kind === OPT_TS && len === 10) {
      if (ts === null) o.ts = { val: readI32(b, i + 2), ecr: readI32(b, i + 6) };
      else {
        ts.val = readI32(b, i + 2);
        ts.ecr = readI32(b, i + 6);
        o.ts = ts;
      }
    } else if (kind === OPT_SACK && len >= 10 && (len - 2) % 8 === 0) {
      // Rare (loss only), and the scoreboard copies the numbers out: allocated as they come.
      o.sack = [];
      for (let j = i + 2; j < i + len; j += 8) {
        o.sack.push({ start: readI32(b, j), end: readI32(b, j + 4) });
      }
    }
    i += len;
  }
  return o;
}

/**
 * One segment object reused for every segment decoded — for a receive
 * path that is done with each segment (its fields, options and payload
 * view) before it decodes the next, so no header or option object is
 * allocated per segment. A segment that must outlive that (queued by a
 * listener, say) is decoded afresh with {@linkcode decodeTcpSegmentAt}.
 *
 * @example
 * ```ts
 * import { TcpSegmentReader } from "./tcp_segment.ts";
 * const r = new TcpSegmentReader();
 * const b = new Uint8Array(44);
 * b[20 + 12] = 5 << 4; // a 20-byte header 20 bytes in
 * r.read(b, 20, 44)?.payload.length; // 4
 * ```
 */
export class TcpSegmentReader {
  readonly #ts = { val: 0, ecr: 0 };
  // Every option present from the start (undefined), so the object keeps one shape.
  readonly #options: TcpOptions = {
    mss: undefined,
    wscale: undefined,
    sackPermitted: undefined,
    sack: undefined,
    ts: undefined,
  };
  readonly #seg: TcpSegment = {
    srcPort: 0,
    dstPort: 0,
    seq: 0,
    ack: 0,
    flags: 0,
    window: 0,
    urgent: 0,
    options: this.#options,
    payload: new Uint8Array(0),
  };

  /**
   * As {@linkcode decodeTcpSegmentAt}, into this reader's one segment:
   * valid until the next `read`.
   */
  read(b: Uint8Array, off: number, end: number, rejects?: TcpRejectCounters): TcpSegment | null {
    if (end - off < TCP_HEADER_MIN) return reject(rejects, "short");
    const hdrLen = (b[off + 12] >> 4) * 4;
    if (hdrLen < TCP_HEADER_MIN || hdrLen > end - off) return reject(rejects, "badOffset");
    const o = this.#options;
    o.mss = o.wscale = undefined;
    o.sackPermitted = undefined;
    o.sack = undefined;
    o.ts = undefined;
    if (decodeOptionsInto(b, off + TCP_HEADER_MIN, off + hdrLen, o, this.#ts) === null) {
      return reject(rejects, "badOption");
    }
    const s = this.#seg;
    s.srcPort = (b[off] << 8) | b[off + 1];
    s.dstPort = (b[off + 2] << 8) | b[off + 3];
    s.seq = readI32(b, off + 4);
    s.ack = readI32(b, off + 8);
    s.flags = b[off + 13];
    s.window = (b[off + 14] << 8) | b[off + 15];
    s.urgent = (b[off + 18] << 8) | b[off + 19];
    s.payload = b.subarray(off + hdrLen, end);
    return s;
  }
}

/**
 * The option bytes for `o`, padded to a multiple of 4 with NOPs placed the
 * way Linux lays them out (NOP,NOP before timestamps and SACK, NOP before
 * window scale), so a 4-byte-aligned reader finds each option aligned.
 *
 * @example
 * ```ts
 * import { encodeTcpOptions } from "./tcp_segment.ts";
 * encodeTcpOptions({ mss: 1460 }); // Uint8Array [2, 4, 5, 180]
 * ```
 * @throws {RangeError} if the options exceed 40 bytes
 */
export function encodeTcpOptions(o: TcpOptions): Uint8Array {
  const out: number[] = [];
  const u32 = (n: number) =>
    out.push((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  if (o.mss !== undefined) out.push(OPT_MSS, 4, (o.mss >> 8) & 0xff, o.mss & 0xff);
  if (o.sackPermitted && o.ts) {
    out.push(OPT_SACK_OK, 2, OPT_TS, 10);
    u32(o.ts.val);
    u32(o.ts.ecr);
  } else {
    if (o.sackPermitted) out.push(OPT_NOP, OPT_NOP, OPT_SACK_OK, 2);
    if (o.ts) {
      out.push(OPT_NOP, OPT_NOP, OPT_TS, 10);
      u32(o.ts.val);
      u32(o.ts.ecr);
    }
  }
  if (o.wscale !== undefined) out.push(OPT_NOP, OPT_WS, 3, o.wscale & 0xff);
  if (o.sack && o.sack.length > 0) {
    out.push(OPT_NOP, OPT_NOP, OPT_SACK, 2 + 8 * o.sack.length);
    for (const s of o.sack) {
      u32(s.start);
      u32(s.end);
    }
  }
  while (out.length % 4 !== 0) out.push(OPT_EOL);
  if (out.length > TCP_OPTIONS_MAX) {
    throw new RangeError(`TCP options of ${out.length} bytes exceed ${TCP_OPTIONS_MAX}`);
  }
  return Uint8Array.from(out);
}

/**
 * Encodes `seg` between `src` and `dst` with a correct checksum: the bytes to
 * put in an IP packet's payload.
 *
 * @example
 * ```ts
 * import { decodeTcpSegment, encodeTcpSegment, TCP_ACK } from "./tcp_segment.ts";
 * const a = new Uint8Array(4), b = new Uint8Array(4);
 * const bytes = encodeTcpSegment({ srcPort: 80, dstPort: 9, seq: 1, ack: 2, flags: TCP_ACK,
 *   window: 512, urgent: 0, options: {}, payload: new Uint8Array([7]) }, a, b);
 * decodeTcpSegment(bytes, a, b)?.payload; // Uint8Array [7]
 * ```
 * With `headroom`, the segment starts that many bytes into the returned
 * buffer, so a caller can write the IP header in front without a copy.
 *
 * @throws {RangeError} if the options exceed 40 bytes or a field is out of range
 * @throws {TypeError} if the addresses are not both 4 or both 16 bytes
 */
export function encodeTcpSegment(
  seg: TcpSegment,
  src: Uint8Array,
  dst: Uint8Array,
  headroom = 0,
): Uint8Array {
  for (const [name, v] of [["port", seg.srcPort], ["port", seg.dstPort], ["window", seg.window]]) {
    if (!Number.isInteger(v) || (v as number) < 0 || (v as number) > 0xffff) {
      throw new RangeError(`Cannot encode TCP ${name} ${v}: out of range`);
    }
  }
  const opts = encodeTcpOptions(seg.options);
  const hdrLen = TCP_HEADER_MIN + opts.length;
  const whole = new Uint8Array(headroom + hdrLen + seg.payload.length);
  const b = whole.subarray(headroom);
  const v = new DataView(b.buffer, headroom);
  v.setUint16(0, seg.srcPort);
  v.setUint16(2, seg.dstPort);
  v.setUint32(4, seg.seq >>> 0);
  v.setUint32(8, seg.ack >>> 0);
  b[12] = (hdrLen >> 2) << 4;
  b[13] = seg.flags & 0xff;
  v.setUint16(14, seg.window);
  v.setUint16(18, seg.urgent & 0xffff);
  b.set(opts, TCP_HEADER_MIN);
  b.set(seg.payload, hdrLen);
  v.setUint16(16, tcpChecksum(b, src, dst));
  return whole;
}
