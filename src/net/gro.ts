/**
 * Coalescing in-order TCP segments of one flow into one super packet for a
 * TUN write in offload mode (GRO), so one write carries many segments.
 *
 * @module
 */
import { foldSum, sumBytes } from "./checksum.ts";
import {
  encodeVnetHdr,
  MAX_SUPER_PACKET,
  VNET_F_NEEDS_CSUM,
  VNET_GSO_TCPV4,
  VNET_GSO_TCPV6,
  VNET_HDR_LEN,
} from "./vnet_hdr.ts";
import { addressSum, get16, get32, put16, writeIpv4Checksum } from "./_tcp_seg.ts";
import { IPPROTO_TCP, TCP_ACK, TCP_PSH } from "./packet_constants.ts";

/**
 * The plan for writing one batch of IP packets to a TUN in offload mode: which packets go out
 * as one write, and the virtio_net_hdr of each. Output `k` is `head[k]`'s whole packet followed
 * by the payload (past `hdrLen[k]` bytes of headers) of each packet on the chain
 * `next[head[k]]`, `next[next[head[k]]]`, … until -1.
 */
export interface GroPlan {
  /** Number of writes. */
  count: number;
  /** The batch index of each write's first packet. */
  head: Int32Array;
  /** Bytes of IP + TCP header on the chained packets of each write (skipped when appending). */
  hdrLen: Int32Array;
  /** Total bytes of each write, without the virtio_net_hdr. */
  length: Int32Array;
  /** Per batch index: the next packet whose payload is appended, or -1. */
  next: Int32Array;
  /** `VNET_HDR_LEN` bytes per write. */
  vnet: Uint8Array;
}

/**
 * Coalesces the TCP segments of a batch about to be written to a TUN (GRO): a segment that
 * continues the latest pending segment of its flow (same addresses, ports, ACK, window, options
 * and IP header fields; sequence number right after; ACK or ACK|PSH only; nothing after a PSH or
 * a short segment) is appended to it, and the first segment's headers become those of a super
 * packet with a TCPV4/TCPV6 virtio_net_hdr and a partial checksum for the kernel to finish.
 * Everything else goes out alone with a zero header. Checksums of segments are verified before
 * they are merged, since the kernel trusts a merged packet's (unless `verifyChecksums` is false:
 * for a reader that trusts them anyway). Order within a flow is kept.
 *
 * @example
 * ```ts ignore
 * const plan = coalescer.plan(bufs, sizes, 16, n);
 * for (let k = 0; k < plan.count; k++) writeOne(plan, k); // writev: vnet, head, chained payloads
 * ```
 */
export class GroCoalescer {
  readonly #verify: boolean;
  #cap = 0;
  #plan: GroPlan = {
    count: 0,
    head: new Int32Array(0),
    hdrLen: new Int32Array(0),
    length: new Int32Array(0),
    next: new Int32Array(0),
    vnet: new Uint8Array(0),
  };
  // Per write: last chained index, the segment size, next expected sequence number, whether it
  // can still grow, whether its head's checksum was verified, IP header length.
  #tail = new Int32Array(0);
  #gsoSize = new Int32Array(0);
  #nextSeq = new Float64Array(0);
  #open = new Uint8Array(0);
  #verified = new Uint8Array(0);
  #iph = new Int32Array(0);
  // Writes that are TCP flows, newest last, for the flow search.
  #flows = new Int32Array(0);

  /**
   * `verifyChecksums: false` merges segments without checking their TCP checksums, for a
   * reader that does not check them either (warren's stack behind WireGuard, whose tag covers
   * every byte); merged packets still carry a partial checksum. Default true.
   */
  constructor(opts: { verifyChecksums?: boolean } = {}) {
    this.#verify = opts.verifyChecksums ?? true;
  }

  #grow(n: number): void {
    if (n <= this.#cap) return;
    const cap = Math.max(n, 64);
    this.#cap = cap;
    this.#plan = {
      count: 0,
      head: new Int32Array(cap),
      hdrLen: new Int32Array(cap),
      length: new Int32Array(cap),
      next: new Int32Array(cap),
      vnet: new Uint8Array(cap * VNET_HDR_LEN),
    };
    this.#tail = new Int32Array(cap);
    this.#gsoSize = new Int32Array(cap);
    this.#nextSeq = new Float64Array(cap);
    this.#open = new Uint8Array(cap);
    this.#verified = new Uint8Array(cap);
    this.#iph = new Int32Array(cap);
    this.#flows = new Int32Array(cap);
  }

  /**
   * Plans the writes for `bufs[i][offset, offset + sizes[i])`, `i < count`. Rewrites the IP and
   * TCP headers of each merged write's first packet in place. The plan is reused by the next
   * call.
   */
  plan(bufs: Uint8Array[], sizes: number[], offset: number, count: number): GroPlan {
    this.#grow(count);
    const p = this.#plan;
    const { head, hdrLen, length, next, vnet } = p;
    const tail = this.#tail, gso = this.#gsoSize, nextSeq = this.#nextSeq;
    const open = this.#open, verified = this.#verified, iphOf = this.#iph, flows = this.#flows;
    let out = 0, nFlows = 0;
    for (let i = 0; i < count; i++) {
      next[i] = -1;
      const b = bufs[i];
      const len = sizes[i];
      const c = tcpCandidate(b, offset, len);
      if (c !== NOT_TCP) {
        const iph = c === IS_TCP_OR_SEGMENT_V6 || c === NOT_SEGMENT_V6 ? 40 : 20;
        const v6 = iph === 40;
        const tcp = offset + iph;
        // The latest write of this flow, if any.
        let k = -1;
        for (let f = nFlows - 1; f >= 0; f--) {
          const w = flows[f];
          const hb = bufs[head[w]];
          if (iphOf[w] === iph && sameFlow(hb, b, offset, tcp, v6)) {
            k = w;
            break;
          }
        }
        if (c === IS_TCP_OR_SEGMENT_V4 || c === IS_TCP_OR_SEGMENT_V6) {
          const tcphLen = (b[tcp + 12] >> 4) * 4;
          const payload = len - iph - tcphLen;
          const seq = get32(b, tcp + 4);
          if (
            k >= 0 && open[k] && seq === nextSeq[k] && payload <= gso[k] &&
            length[k] + payload <= MAX_SUPER_PACKET &&
            canAppend(bufs[head[k]], b, offset, iph, tcphLen, v6)
          ) {
            const hb = bufs[head[k]];
            const verify = this.#verify;
            if (!verified[k]) {
              verified[k] = 1;
              if (verify && !tcpChecksumOk(hb, offset, sizes[head[k]], iph, v6)) open[k] = 0;
            }
            if (open[k] && (!verify || tcpChecksumOk(b, offset, len, iph, v6))) {
              next[tail[k]] = i;
              tail[k] = i;
              length[k] += payload;
              nextSeq[k] = (seq + payload) >>> 0;
              if (payload < gso[k] || (b[tcp + 13] & TCP_PSH)) {
                open[k] = 0;
                if (b[tcp + 13] & TCP_PSH) hb[tcp + 13] |= TCP_PSH;
              }
              continue;
            }
          }
          // A new write that later segments of the flow may join.
          head[out] = i;
          tail[out] = i;
          hdrLen[out] = iph + tcphLen;
          length[out] = len;
          iphOf[out] = iph;
          gso[out] = payload;
          nextSeq[out] = (seq + payload) >>> 0;
          open[out] = (b[tcp + 13] & TCP_PSH) ? 0 : 1;
          verified[out] = 0;
          flows[nFlows++] = out;
          out++;
          continue;
        }
        // Another TCP packet of the flow (SYN, FIN, RST, a pure ACK…): later segments must not
        // overtake it, so the flow's pending write stops growing.
        if (k >= 0) open[k] = 0;
      }
      head[out] = i;
      tail[out] = i;
      hdrLen[out] = 0;
      length[out] = len;
      iphOf[out] = 0;
      out++;
    }
    p.count = out;
    for (let k = 0; k < out; k++) {
      const at = k * VNET_HDR_LEN;
      vnet.fill(0, at, at + VNET_HDR_LEN);
      const h = head[k];
      if (next[h] < 0) continue;
      const b = bufs[h];
      const iph = iphOf[k];
      const v6 = iph === 40;
      const total = length[k];
      if (v6) {
        put16(b, offset + 4, total - 40);
      } else {
        put16(b, offset + 2, total);
        writeIpv4Checksum(b, offset, 20);
      }
      // The checksum field holds the folded pseudo-header sum; the kernel adds the rest.
      const tcp = offset + iph;
      put16(b, tcp + 16, foldSum(addressSum(b, offset, v6, IPPROTO_TCP) + total - iph));
      encodeVnetHdr(vnet, at, {
        flags: VNET_F_NEEDS_CSUM,
        gsoType: v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4,
        hdrLen: hdrLen[k],
        gsoSize: gso[k],
        csumStart: iph,
        csumOffset: 16,
      });
    }
    return p;
  }
}

const NOT_TCP = 0;
const IS_TCP_OR_SEGMENT_V4 = 1;
const IS_TCP_OR_SEGMENT_V6 = 2;
const NOT_SEGMENT_V4 = 3;
const NOT_SEGMENT_V6 = 4;

/**
 * Whether the packet is TCP with a plain header we can coalesce on (IPv4 without options or
 * fragmentation, IPv6 with TCP right after the fixed header, lengths consistent), and if so
 * whether it is a data segment that may merge (ACK or ACK|PSH, non-empty payload).
 */
function tcpCandidate(b: Uint8Array, off: number, len: number): number {
  if (len < 40) return NOT_TCP;
  const v = b[off] >> 4;
  let iph: number;
  if (v === 4) {
    if (b[off] !== 0x45 || b[off + 9] !== IPPROTO_TCP || get16(b, off + 2) !== len) return NOT_TCP;
    if ((b[off + 6] & 0x3f) !== 0 || b[off + 7] !== 0) return NOT_TCP; // MF or an offset
    iph = 20;
  } else if (v === 6) {
    if (len < 60 || b[off + 6] !== IPPROTO_TCP || get16(b, off + 4) !== len - 40) return NOT_TCP;
    iph = 40;
  } else {
    return NOT_TCP;
  }
  const tcphLen = (b[off + iph + 12] >> 4) * 4;
  const flags = b[off + iph + 13];
  if (
    tcphLen < 20 || iph + tcphLen >= len || (flags !== TCP_ACK && flags !== (TCP_ACK | TCP_PSH))
  ) {
    return iph + tcphLen > len ? NOT_TCP : v === 4 ? NOT_SEGMENT_V4 : NOT_SEGMENT_V6;
  }
  return v === 4 ? IS_TCP_OR_SEGMENT_V4 : IS_TCP_OR_SEGMENT_V6;
}

/** Same addresses and ports (the TCP 4-tuple) at the same offsets. */
function sameFlow(a: Uint8Array, b: Uint8Array, off: number, tcp: number, v6: boolean): boolean {
  if (a[tcp] !== b[tcp] || a[tcp + 1] !== b[tcp + 1]) return false;
  if (a[tcp + 2] !== b[tcp + 2] || a[tcp + 3] !== b[tcp + 3]) return false;
  const from = off + (v6 ? 8 : 12), to = off + (v6 ? 40 : 20);
  for (let j = from; j < to; j++) if (a[j] !== b[j]) return false;
  return true;
}

/** The header fields that must match for `b` to continue `a`'s super packet. */
function canAppend(
  a: Uint8Array,
  b: Uint8Array,
  off: number,
  iph: number,
  tcphLen: number,
  v6: boolean,
): boolean {
  const tcp = off + iph;
  if ((a[tcp + 12] >> 4) * 4 !== tcphLen) return false;
  // ACK number, then data offset, flags apart from PSH, and window.
  for (let j = 8; j < 12; j++) if (a[tcp + j] !== b[tcp + j]) return false;
  if ((a[tcp + 13] & ~TCP_PSH) !== (b[tcp + 13] & ~TCP_PSH)) return false;
  if (a[tcp + 14] !== b[tcp + 14] || a[tcp + 15] !== b[tcp + 15]) return false;
  for (let j = 20; j < tcphLen; j++) if (a[tcp + j] !== b[tcp + j]) return false;
  if (v6) {
    // Version and traffic class, hop limit.
    return a[off] === b[off] && (a[off + 1] >> 4) === (b[off + 1] >> 4) &&
      a[off + 7] === b[off + 7];
  }
  // TOS, DF and reserved bits, TTL.
  return a[off + 1] === b[off + 1] && (a[off + 6] >> 5) === (b[off + 6] >> 5) &&
    a[off + 8] === b[off + 8];
}

function tcpChecksumOk(b: Uint8Array, off: number, len: number, iph: number, v6: boolean): boolean {
  const acc = sumBytes(b, off + iph, off + len, addressSum(b, off, v6, IPPROTO_TCP) + len - iph);
  return foldSum(acc) === 0xffff;
}

/**
 * Concatenates write `k` of a plan into one buffer: the virtio_net_hdr then the packet, exactly
 * the bytes a write to the TUN carries (for tests, and for a writer without `writev`).
 *
 * @example
 * ```ts ignore
 * const bytes = joinWrite(plan, 0, bufs, sizes, 16); // vnet header + super packet
 * ```
 */
export function joinWrite(
  plan: GroPlan,
  k: number,
  bufs: Uint8Array[],
  sizes: number[],
  offset: number,
): Uint8Array {
  const out = new Uint8Array(VNET_HDR_LEN + plan.length[k]);
  out.set(plan.vnet.subarray(k * VNET_HDR_LEN, (k + 1) * VNET_HDR_LEN), 0);
  let i = plan.head[k];
  out.set(bufs[i].subarray(offset, offset + sizes[i]), VNET_HDR_LEN);
  let at = VNET_HDR_LEN + sizes[i];
  const skip = plan.hdrLen[k];
  for (i = plan.next[i]; i >= 0; i = plan.next[i]) {
    out.set(bufs[i].subarray(offset + skip, offset + sizes[i]), at);
    at += sizes[i] - skip;
  }
  return out;
}
