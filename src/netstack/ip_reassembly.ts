/**
 * Reassembly of fragmented IPv4 (MF flag and fragment offset, RFC 791) and
 * IPv6 (Fragment extension header, RFC 8200 §4.5) datagrams, with every
 * resource bounded: datagram size, fragments per datagram, datagrams and
 * bytes held in total and per source, and a timeout. Overlapping fragments
 * drop the whole datagram (RFC 5722; done for IPv4 too, as Linux does), and
 * its later fragments with it until the timeout. Pure: time comes from the
 * injected clock, and nothing is sent.
 *
 * @module
 */

import { toHex } from "../bytes/hex.ts";
import { finishChecksum, sumWords } from "../net/checksum.ts";
import {
  IPPROTO_IPV6_FRAGMENT,
  IPV4_HEADER_LEN,
  IPV6_HEADER_LEN,
} from "../net/packet_constants.ts";
import type { Clock } from "./types.ts";

/** The bounds a {@linkcode IpReassembler} keeps to. */
export interface ReassemblyLimits {
  /** Largest reassembled packet, IP header included; default 65535. */
  maxDatagram: number;
  /** Most fragments one datagram may have; default 128. */
  maxFragments: number;
  /** Most datagrams (and dropped-datagram markers) held at once; default 4096. */
  maxDatagrams: number;
  /** Most fragment bytes held in total; default 4 MiB. */
  maxPendingBytes: number;
  /** Most fragment bytes held for one source address; default 1 MiB. */
  maxPendingPerSource: number;
  /** How long an incomplete IPv4 datagram is kept; default 30 s (RFC 791's upper bound is 15 s, Linux uses 30). */
  timeoutV4Ms: number;
  /** How long an incomplete IPv6 datagram is kept; default 60 s (RFC 8200). */
  timeoutV6Ms: number;
}

/** The defaults of {@linkcode ReassemblyLimits}. */
export const DEFAULT_REASSEMBLY_LIMITS: Readonly<ReassemblyLimits> = Object.freeze({
  maxDatagram: 65535,
  maxFragments: 128,
  maxDatagrams: 4096,
  maxPendingBytes: 4 * 1024 * 1024,
  maxPendingPerSource: 1024 * 1024,
  timeoutV4Ms: 30_000,
  timeoutV6Ms: 60_000,
});

/** What a {@linkcode IpReassembler} did, by outcome; every dropped fragment or datagram is counted once. */
export interface ReassemblyCounters {
  /** Fragments taken in. */
  fragments: number;
  /** Datagrams completed and handed back. */
  reassembled: number;
  /** IPv6 atomic fragments (offset 0, no more fragments), handed back without their Fragment header. */
  atomic: number;
  /** Exact duplicates of a held fragment, ignored. */
  duplicate: number;
  /** Datagrams dropped because two fragments overlapped. */
  overlap: number;
  /** Datagrams dropped because they would exceed `maxDatagram`. */
  tooBig: number;
  /** Datagrams dropped for having more than `maxFragments` fragments. */
  tooManyFragments: number;
  /** Datagrams dropped because `maxDatagrams` were already held. */
  tooManyDatagrams: number;
  /** Datagrams dropped because holding a fragment would exceed `maxPendingBytes`. */
  memoryLimit: number;
  /** Datagrams dropped because holding a fragment would exceed `maxPendingPerSource`. */
  sourceLimit: number;
  /** Incomplete datagrams dropped at their timeout. */
  timeout: number;
  /** Fragments that contradict their datagram (past its end, a second different end). */
  inconsistent: number;
  /** Fragments that are malformed (bad header, a non-last fragment not a multiple of 8 bytes). */
  malformed: number;
  /** Fragments of a datagram already dropped (overlap or a limit), discarded until its timeout. */
  afterDrop: number;
}

interface Piece {
  off: number;
  end: number;
  data: Uint8Array;
}

interface Pending {
  version: 4 | 6;
  source: string;
  deadline: number;
  /** Null once dropped: later fragments are discarded until the deadline (RFC 5722). */
  pieces: Piece[] | null;
  /** The offset-0 fragment as it came (its header heads the datagram), once seen. */
  first: Uint8Array | null;
  /** The length of the IP header in `first` (the IPv6 fixed header, without the Fragment header). */
  headerLen: number;
  /** The transport protocol (IPv6: the Fragment header's Next Header). */
  proto: number;
  /** The datagram's payload length, once the last fragment is seen; -1 before. */
  total: number;
  have: number;
  bytes: number;
}

/** Where a fragment's data is and what it says about its datagram. */
interface FragmentView {
  version: 4 | 6;
  key: string;
  source: string;
  proto: number;
  off: number;
  more: boolean;
  /** Start of the unfragmentable header and its length. */
  headerLen: number;
  dataStart: number;
  dataEnd: number;
}

/**
 * Whether `b` is a fragment: IPv4 with MF set or a non-zero offset, or IPv6
 * with a Fragment header right after the fixed header (the only place this
 * stack reads one, like src/net/packet_parse.ts).
 *
 * @example
 * ```ts
 * import { isFragment } from "./ip_reassembly.ts";
 * const b = new Uint8Array(20);
 * b[0] = 0x45;
 * b[6] = 0x20; // MF
 * isFragment(b); // true
 * ```
 */
export function isFragment(b: Uint8Array): boolean {
  if (b.length < 1) return false;
  const v = b[0] >> 4;
  if (v === 4) return b.length >= IPV4_HEADER_LEN && (((b[6] << 8) | b[7]) & 0x3fff) !== 0;
  if (v === 6) return b.length >= IPV6_HEADER_LEN && b[6] === IPPROTO_IPV6_FRAGMENT;
  return false;
}

/**
 * Collects fragments into datagrams.
 *
 * @example
 * ```ts
 * import { IpReassembler } from "./ip_reassembly.ts";
 * import { FakeClock } from "./types.ts";
 * const r = new IpReassembler(new FakeClock());
 * const whole = new Uint8Array(20);
 * whole[0] = 0x45;
 * whole[3] = 20;
 * r.push(whole) === whole; // not a fragment: handed straight back
 * ```
 */
export class IpReassembler {
  /** What happened to the fragments so far. */
  readonly counters: ReassemblyCounters = {
    fragments: 0,
    reassembled: 0,
    atomic: 0,
    duplicate: 0,
    overlap: 0,
    tooBig: 0,
    tooManyFragments: 0,
    tooManyDatagrams: 0,
    memoryLimit: 0,
    sourceLimit: 0,
    timeout: 0,
    inconsistent: 0,
    malformed: 0,
    afterDrop: 0,
  };
  /**
   * Called with the first fragment (as received) of a datagram that timed
   * out, so the host can send ICMP Time Exceeded, code 1 (RFC 792, RFC 8200
   * §4.5); not called when the first fragment never came.
   */
  onTimeout: ((firstFragment: Uint8Array) => void) | null = null;
  readonly #clock: Clock;
  readonly #limits: ReassemblyLimits;
  // One map per family: each has a single timeout, so insertion order is deadline order.
  readonly #v4 = new Map<string, Pending>();
  readonly #v6 = new Map<string, Pending>();
  readonly #perSource = new Map<string, number>();
  #bytes = 0;

  /** Creates an empty reassembler; `limits` override {@linkcode DEFAULT_REASSEMBLY_LIMITS}. */
  constructor(clock: Clock, limits: Partial<ReassemblyLimits> = {}) {
    this.#clock = clock;
    this.#limits = { ...DEFAULT_REASSEMBLY_LIMITS, ...limits };
    // A reassembled packet must still fit the 16-bit length fields.
    this.#limits.maxDatagram = Math.min(this.#limits.maxDatagram, 65535);
  }

  /** Fragment bytes held now. */
  get pendingBytes(): number {
    return this.#bytes;
  }

  /** Datagrams (and dropped-datagram markers) held now. */
  get pendingDatagrams(): number {
    return this.#v4.size + this.#v6.size;
  }

  /**
   * Takes one IP packet. A packet that is not a fragment comes straight back;
   * a fragment that completes its datagram returns the reassembled packet
   * (header of the first fragment, lengths and IPv4 checksum rewritten, the
   * IPv6 Fragment header removed); otherwise null (held, or dropped and
   * counted). Never throws.
   */
  push(b: Uint8Array): Uint8Array | null {
    this.expire();
    if (!isFragment(b)) return b;
    this.counters.fragments++;
    const f = view(b);
    if (f === null) {
      this.counters.malformed++;
      return null;
    }
    if (f.version === 6 && f.off === 0 && !f.more) {
      this.counters.atomic++;
      return joinV6(b.subarray(0, IPV6_HEADER_LEN), f.proto, [b.subarray(f.dataStart, f.dataEnd)]);
    }
    const map = f.version === 4 ? this.#v4 : this.#v6;
    let p = map.get(f.key);
    if (p === undefined) {
      if (this.pendingDatagrams >= this.#limits.maxDatagrams) {
        this.counters.tooManyDatagrams++;
        return null;
      }
      const timeout = f.version === 4 ? this.#limits.timeoutV4Ms : this.#limits.timeoutV6Ms;
      p = {
        version: f.version,
        source: f.source,
        deadline: this.#clock.now() + timeout,
        pieces: [],
        first: null,
        headerLen: 0,
        proto: f.proto,
        total: -1,
        have: 0,
        bytes: 0,
      };
      map.set(f.key, p);
    }
    if (p.pieces === null) {
      this.counters.afterDrop++;
      return null;
    }
    return this.#add(f.key, p, f, b);
  }

  /** Drops datagrams whose timeout has passed; {@linkcode push} calls it too. */
  expire(): void {
    const now = this.#clock.now();
    for (const map of [this.#v4, this.#v6]) {
      for (const [key, p] of map) {
        if (p.deadline > now) break;
        this.#release(p);
        map.delete(key);
        if (p.pieces === null) continue;
        this.counters.timeout++;
        if (p.first !== null) this.onTimeout?.(p.first);
      }
    }
  }

  #add(key: string, p: Pending, f: FragmentView, b: Uint8Array): Uint8Array | null {
    const pieces = p.pieces!;
    const len = f.dataEnd - f.dataStart;
    const end = f.off + len;
    if ((f.more && (len === 0 || (len & 7) !== 0)) || f.proto !== p.proto) {
      this.counters.malformed++;
      return null;
    }
    if (f.headerLen + end > this.#limits.maxDatagram) return this.#drop(p, "tooBig");
    if (p.total >= 0 && (end > p.total || (!f.more && end !== p.total))) {
      return this.#drop(p, "inconsistent");
    }
    for (const q of pieces) {
      if (q.off === f.off && q.end === end) {
        this.counters.duplicate++;
        return null;
      }
      if (f.off < q.end && q.off < end) return this.#drop(p, "overlap");
    }
    if (!f.more && pieces.some((q) => q.end > end)) return this.#drop(p, "inconsistent");
    if (pieces.length >= this.#limits.maxFragments) return this.#drop(p, "tooManyFragments");
    const cost = len + (f.off === 0 ? f.dataStart : 0);
    if (this.#bytes + cost > this.#limits.maxPendingBytes) return this.#drop(p, "memoryLimit");
    const fromSource = this.#perSource.get(p.source) ?? 0;
    if (fromSource + cost > this.#limits.maxPendingPerSource) return this.#drop(p, "sourceLimit");
    if (f.off === 0) {
      p.first = b.slice(0, f.dataEnd);
      p.headerLen = f.headerLen;
      pieces.push({ off: 0, end, data: p.first.subarray(f.dataStart) });
    } else {
      pieces.push({ off: f.off, end, data: b.slice(f.dataStart, f.dataEnd) });
    }
    if (!f.more) p.total = end;
    p.have += len;
    p.bytes += cost;
    this.#bytes += cost;
    this.#perSource.set(p.source, fromSource + cost);
    if (p.total < 0 || p.have !== p.total || p.first === null) return null;
    // No overlaps and every byte of [0, total) held: the pieces tile the datagram.
    this.#release(p);
    (p.version === 4 ? this.#v4 : this.#v6).delete(key);
    pieces.sort((x, y) => x.off - y.off);
    this.counters.reassembled++;
    const data = pieces.map((q) => q.data);
    const header = p.first.subarray(0, p.headerLen);
    return p.version === 4 ? joinV4(header, data, p.total) : joinV6(header, p.proto, data);
  }

  /** Frees a datagram's bytes and keeps it as a marker until its deadline. */
  #drop(p: Pending, why: keyof ReassemblyCounters): null {
    this.counters[why]++;
    this.#release(p);
    p.pieces = null;
    p.first = null;
    return null;
  }

  #release(p: Pending): void {
    if (p.bytes === 0) return;
    this.#bytes -= p.bytes;
    const left = (this.#perSource.get(p.source) ?? 0) - p.bytes;
    if (left > 0) this.#perSource.set(p.source, left);
    else this.#perSource.delete(p.source);
    p.bytes = 0;
  }
}

/** Reads a fragment's header; null if it is malformed. */
function view(b: Uint8Array): FragmentView | null {
  if (b[0] >> 4 === 4) {
    const ihl = (b[0] & 0x0f) << 2;
    const total = (b[2] << 8) | b[3];
    if (ihl < IPV4_HEADER_LEN || total < ihl || b.length < total) return null;
    const frag = (b[6] << 8) | b[7];
    const id = (b[4] << 8) | b[5];
    const source = toHex(b.subarray(12, 16));
    return {
      version: 4,
      key: `${source}/${toHex(b.subarray(16, 20))}/${b[9]}/${id}`,
      source,
      proto: b[9],
      off: (frag & 0x1fff) << 3,
      more: (frag & 0x2000) !== 0,
      headerLen: ihl,
      dataStart: ihl,
      dataEnd: total,
    };
  }
  const total = IPV6_HEADER_LEN + ((b[4] << 8) | b[5]);
  const fh = IPV6_HEADER_LEN;
  if (b.length < total || total < fh + 8) return null;
  const offWord = (b[fh + 2] << 8) | b[fh + 3];
  const id = toHex(b.subarray(fh + 4, fh + 8));
  const source = toHex(b.subarray(8, 24));
  return {
    version: 6,
    key: `${source}/${toHex(b.subarray(24, 40))}/${b[fh]}/${id}`,
    source,
    proto: b[fh],
    off: offWord & 0xfff8,
    more: (offWord & 1) !== 0,
    headerLen: IPV6_HEADER_LEN,
    dataStart: fh + 8,
    dataEnd: total,
  };
}

function joinV4(header: Uint8Array, data: Uint8Array[], payload: number): Uint8Array {
  const total = header.length + payload;
  const out = new Uint8Array(total);
  out.set(header);
  let at = header.length;
  for (const d of data) {
    out.set(d, at);
    at += d.length;
  }
  out[2] = total >> 8;
  out[3] = total & 0xff;
  out[6] &= 0x40; // keep DF, clear MF and the offset
  out[7] = 0;
  out[10] = out[11] = 0;
  const c = finishChecksum(sumWords(out, 0, header.length));
  out[10] = c >> 8;
  out[11] = c & 0xff;
  return out;
}

function joinV6(fixed: Uint8Array, proto: number, data: Uint8Array[]): Uint8Array {
  const payload = data.reduce((n, d) => n + d.length, 0);
  const out = new Uint8Array(IPV6_HEADER_LEN + payload);
  out.set(fixed.subarray(0, IPV6_HEADER_LEN));
  let at = IPV6_HEADER_LEN;
  for (const d of data) {
    out.set(d, at);
    at += d.length;
  }
  out[4] = payload >> 8;
  out[5] = payload & 0xff;
  out[6] = proto;
  return out;
}
