/**
 * TUN offloads in user space: splitting the TCP "super packets" a TUN opened with
 * `IFF_VNET_HDR` and `TUN_F_TSO*` hands out (segmentation, as a NIC would do for TSO), finishing
 * partial checksums, and coalescing in-order TCP segments of one flow into one super packet for
 * writing (GRO). Pure byte work over caller buffers; the syscalls live in `ffi/tun.ts`.
 *
 * Every TUN read and write in this mode carries a `struct virtio_net_hdr` (10 bytes, host byte
 * order) in front of the IP packet.
 *
 * @module
 */

/** `sizeof(struct virtio_net_hdr)`: flags u8, gso_type u8, then five u16 fields. */
export const VNET_HDR_LEN = 10;
/** virtio_net_hdr flag: the checksum from `csum_start` on must be finished (CHECKSUM_PARTIAL). */
export const VNET_F_NEEDS_CSUM = 1;
/** virtio_net_hdr gso_type: not a GSO packet. */
export const VNET_GSO_NONE = 0;
/** virtio_net_hdr gso_type: TCP over IPv4. */
export const VNET_GSO_TCPV4 = 1;
/** virtio_net_hdr gso_type: TCP over IPv6. */
export const VNET_GSO_TCPV6 = 4;
/** virtio_net_hdr gso_type bit: the TCP stream uses ECN (CWR goes on the first segment only). */
export const VNET_GSO_ECN = 0x80;

/** Largest IP packet, and so the largest super packet, in either direction. */
export const MAX_SUPER_PACKET = 65535;

const TCP_FIN = 0x01;
const TCP_PSH = 0x08;
const TCP_ACK = 0x10;
const TCP_CWR = 0x80;
const PROTO_TCP = 6;

let sumBuffer: ArrayBufferLike | null = null;
let sumView: DataView = new DataView(new ArrayBuffer(0));

/** A DataView over all of `b`'s memory, reused while `b` shares it (one wasm arena, typically). */
function viewOf(b: Uint8Array): DataView {
  if (b.buffer !== sumBuffer) {
    sumBuffer = b.buffer;
    sumView = new DataView(b.buffer);
  }
  return sumView;
}

/**
 * The one's-complement sum of `b[start, end)` as 16-bit big-endian words added to `acc`,
 * unfolded (an odd last byte is padded with zero). Same result as `sumWords` in `packet.ts`
 * once folded, but reads 32 bits at a time, for whole segments on the hot path.
 *
 * @example
 * ```ts
 * import { foldSum, sumBytes } from "./offload.ts";
 * // RFC 1071 §3: 0001 f203 f4f5 f6f7 sums to ddf2 once folded.
 * foldSum(sumBytes(new Uint8Array([0, 1, 0xf2, 3, 0xf4, 0xf5, 0xf6, 0xf7]), 0, 8)); // 0xddf2
 * ```
 */
export function sumBytes(b: Uint8Array, start: number, end: number, acc = 0): number {
  const v = viewOf(b);
  let i = b.byteOffset + start;
  const stop = b.byteOffset + end;
  // Words of 2^32 are congruent to hi + lo modulo 0xffff, so 32-bit reads sum the same.
  let s = 0;
  for (; i + 16 <= stop; i += 16) {
    s += v.getUint32(i) + v.getUint32(i + 4) + v.getUint32(i + 8) + v.getUint32(i + 12);
  }
  for (; i + 4 <= stop; i += 4) s += v.getUint32(i);
  if (i + 2 <= stop) {
    s += v.getUint16(i);
    i += 2;
  }
  if (i < stop) s += v.getUint8(i) << 8;
  return acc + s;
}

/**
 * Folds an unfolded sum to 16 bits (not complemented).
 *
 * @example
 * ```ts
 * import { foldSum } from "./offload.ts";
 * foldSum(0x1ddf0); // 0xddf1
 * ```
 */
export function foldSum(acc: number): number {
  while (acc > 0xffff) acc = (acc % 0x10000) + Math.floor(acc / 0x10000);
  return acc;
}

/** Sum of the pseudo-header's addresses and protocol (the length is added per segment). */
function addressSum(b: Uint8Array, ip: number, v6: boolean, proto: number): number {
  return v6 ? sumBytes(b, ip + 8, ip + 40, proto) : sumBytes(b, ip + 12, ip + 20, proto);
}

/** Writes the IPv4 header checksum of the header at `b[ip, ip + ihl)`. */
function writeIpv4Checksum(b: Uint8Array, ip: number, ihl: number): void {
  b[ip + 10] = b[ip + 11] = 0;
  const c = ~foldSum(sumBytes(b, ip, ip + ihl)) & 0xffff;
  b[ip + 10] = c >> 8;
  b[ip + 11] = c & 0xff;
}

function get16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

function get32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}

/** The fields of a `struct virtio_net_hdr`. */
export interface VnetHdr {
  /** VNET_F_* bits. */
  flags: number;
  /** VNET_GSO_* value, possibly with VNET_GSO_ECN. */
  gsoType: number;
  /** Length of the headers up to and including the transport header. */
  hdrLen: number;
  /** Payload bytes per segment. */
  gsoSize: number;
  /** Where the checksummed region starts (the transport header). */
  csumStart: number;
  /** Where the checksum field is, from `csumStart`. */
  csumOffset: number;
}

/**
 * Reads a virtio_net_hdr at `b[at]` (host byte order is little-endian on every platform warren
 * runs on; the kernel uses it for a TUN without TUNSETVNETBE).
 *
 * @example
 * ```ts
 * import { decodeVnetHdr } from "./offload.ts";
 * decodeVnetHdr(new Uint8Array([1, 1, 52, 0, 0x5c, 5, 20, 0, 16, 0]), 0).gsoSize; // 1372
 * ```
 */
export function decodeVnetHdr(b: Uint8Array, at: number): VnetHdr {
  return {
    flags: b[at],
    gsoType: b[at + 1],
    hdrLen: b[at + 2] | (b[at + 3] << 8),
    gsoSize: b[at + 4] | (b[at + 5] << 8),
    csumStart: b[at + 6] | (b[at + 7] << 8),
    csumOffset: b[at + 8] | (b[at + 9] << 8),
  };
}

/**
 * Writes a virtio_net_hdr at `b[at]`.
 *
 * @example
 * ```ts
 * import { encodeVnetHdr, VNET_GSO_TCPV4 } from "./offload.ts";
 * const b = new Uint8Array(10);
 * encodeVnetHdr(b, 0, {
 *   flags: 1, gsoType: VNET_GSO_TCPV4, hdrLen: 52, gsoSize: 1372, csumStart: 20, csumOffset: 16,
 * });
 * b[4] | (b[5] << 8); // 1372
 * ```
 */
export function encodeVnetHdr(b: Uint8Array, at: number, h: VnetHdr): void {
  b[at] = h.flags;
  b[at + 1] = h.gsoType;
  b[at + 2] = h.hdrLen & 0xff;
  b[at + 3] = h.hdrLen >> 8;
  b[at + 4] = h.gsoSize & 0xff;
  b[at + 5] = h.gsoSize >> 8;
  b[at + 6] = h.csumStart & 0xff;
  b[at + 7] = h.csumStart >> 8;
  b[at + 8] = h.csumOffset & 0xff;
  b[at + 9] = h.csumOffset >> 8;
}

/**
 * Turns one TUN read in offload mode (a virtio_net_hdr and an IP packet) into plain IP packets
 * with complete checksums, as many per call as the caller has buffers for: `load` a read, then
 * `emit` until `pending` is 0. A packet too large for the caller's buffers is split into MSS-sized
 * segments exactly as the kernel's TCP segmentation would: per segment the IPv4 length, id and
 * header checksum (or the IPv6 payload length), the sequence number, FIN and PSH on the last
 * segment only, CWR on the first only, and the full TCP checksum.
 *
 * @example
 * ```ts ignore
 * const seg = new GsoSplitter();
 * if (seg.load(readBuf, n) > 0) {
 *   while (seg.pending > 0) count += seg.emit(bufs, sizes, 16, count, bufs.length);
 * }
 * ```
 */
export class GsoSplitter {
  #src: Uint8Array = new Uint8Array(0);
  #len = 0;
  #gso = false;
  #csumStart = 0;
  #csumAt = -1;
  #hdrLen = 0;
  #gsoSize = 0;
  #v6 = false;
  #segments = 0;
  #next = 0;
  #seq = 0;
  #id = 0;
  #addrSum = 0;
  #ecn = false;
  /** Why the last `load` returned 0, for counters and tests; null after a good load. */
  problem: string | null = null;

  /** Segments of the loaded packet not yet emitted. */
  get pending(): number {
    return this.#segments - this.#next;
  }

  /**
   * Takes the read `src[0, len)` (virtio_net_hdr first). Returns how many packets it will emit,
   * or 0 if the read is malformed (then `problem` says why and the read is to be dropped). `src`
   * must not change until every segment is emitted. The packet bytes are modified in place (the
   * checksum fields are cleared).
   */
  load(src: Uint8Array, len: number): number {
    this.#src = src;
    this.#len = len;
    this.#next = 0;
    this.#segments = 0;
    const fail = (why: string) => {
      this.problem = why;
      return 0;
    };
    if (len <= VNET_HDR_LEN) {
      return fail(`read of ${len} bytes has no packet after the vnet header`);
    }
    const flags = src[0];
    const gsoType = src[1];
    const gsoSize = src[4] | (src[5] << 8);
    const csumStart = src[6] | (src[7] << 8);
    const csumOffset = src[8] | (src[9] << 8);
    const ip = VNET_HDR_LEN;
    const pktLen = len - ip;
    const version = src[ip] >> 4;
    this.#csumAt = -1;
    if ((gsoType & ~VNET_GSO_ECN) === VNET_GSO_NONE) {
      if (flags & VNET_F_NEEDS_CSUM) {
        if (csumStart + csumOffset + 2 > pktLen) {
          return fail(`checksum at ${csumStart}+${csumOffset} is past the ${pktLen}-byte packet`);
        }
        this.#csumStart = csumStart;
        this.#csumAt = csumStart + csumOffset;
      }
      this.#gso = false;
      this.#segments = 1;
      this.problem = null;
      return 1;
    }
    const type = gsoType & ~VNET_GSO_ECN;
    if (type !== VNET_GSO_TCPV4 && type !== VNET_GSO_TCPV6) {
      return fail(`unsupported GSO type ${gsoType}`);
    }
    const v6 = type === VNET_GSO_TCPV6;
    if (version !== (v6 ? 6 : 4)) return fail(`GSO type ${gsoType} on an IPv${version} packet`);
    if (v6 ? csumStart < 40 : csumStart !== (src[ip] & 0xf) * 4 || csumStart < 20) {
      return fail(`GSO packet's transport header at ${csumStart} does not follow its IP header`);
    }
    if (csumOffset !== 16) return fail(`TCP GSO packet with checksum offset ${csumOffset}`);
    if (pktLen < csumStart + 20) return fail(`GSO packet of ${pktLen} bytes has no TCP header`);
    if ((v6 ? src[ip + 6] : src[ip + 9]) !== PROTO_TCP && !(v6 && csumStart > 40)) {
      return fail("TCP GSO packet whose IP header names another protocol");
    }
    // The kernel's hdr_len can cover more than the headers on the forwarding path; the TCP
    // header's own data offset is the truth.
    const tcphLen = (src[ip + csumStart + 12] >> 4) * 4;
    if (tcphLen < 20) return fail(`TCP header length ${tcphLen}`);
    const hdrLen = csumStart + tcphLen;
    if (hdrLen >= pktLen) return fail(`GSO packet of ${pktLen} bytes has no payload`);
    if (gsoSize === 0) return fail("GSO packet with gso_size 0");
    this.#gso = true;
    this.#v6 = v6;
    this.#csumStart = csumStart;
    this.#hdrLen = hdrLen;
    this.#gsoSize = gsoSize;
    this.#ecn = (gsoType & VNET_GSO_ECN) !== 0;
    this.#segments = Math.ceil((pktLen - hdrLen) / gsoSize);
    this.#seq = get32(src, ip + csumStart + 4);
    this.#id = v6 ? 0 : get16(src, ip + 4);
    src[ip + csumStart + 16] = src[ip + csumStart + 17] = 0;
    this.#addrSum = addressSum(src, ip, v6, PROTO_TCP);
    this.problem = null;
    return this.#segments;
  }

  /**
   * Writes up to `max - start` pending packets into `bufs[start…]` at `offset`, setting
   * `sizes[…]`; returns how many. Each buffer needs room for the headers plus one segment
   * (for a non-GSO packet, the whole packet); a packet that does not fit is dropped (counted in
   * `dropped`).
   */
  emit(bufs: Uint8Array[], sizes: number[], offset: number, start: number, max: number): number {
    const src = this.#src;
    const ip = VNET_HDR_LEN;
    const pktLen = this.#len - ip;
    let out = start;
    if (!this.#gso) {
      if (this.#next >= this.#segments || out >= max) return 0;
      this.#next = 1;
      const dst = bufs[out];
      if (offset + pktLen > dst.byteLength) {
        this.dropped++;
        return 0;
      }
      dst.set(src.subarray(ip, ip + pktLen), offset);
      if (this.#csumAt >= 0) {
        // CHECKSUM_PARTIAL: the field holds the pseudo-header sum; add the rest and complement.
        const at = offset + this.#csumAt;
        const c = ~foldSum(sumBytes(dst, offset + this.#csumStart, offset + pktLen)) & 0xffff;
        put16(dst, at, c);
      }
      sizes[out] = pktLen;
      return 1;
    }
    const hdrLen = this.#hdrLen, gsoSize = this.#gsoSize, cs = this.#csumStart;
    const last = this.#segments - 1;
    while (this.#next < this.#segments && out < max) {
      const i = this.#next++;
      const dataAt = ip + hdrLen + i * gsoSize;
      const dataLen = Math.min(gsoSize, ip + pktLen - dataAt);
      const total = hdrLen + dataLen;
      const dst = bufs[out];
      if (offset + total > dst.byteLength) {
        this.dropped++;
        continue;
      }
      dst.set(src.subarray(ip, ip + hdrLen), offset);
      dst.set(src.subarray(dataAt, dataAt + dataLen), offset + hdrLen);
      if (this.#v6) {
        put16(dst, offset + 4, total - 40);
      } else {
        put16(dst, offset + 2, total);
        put16(dst, offset + 4, (this.#id + i) & 0xffff);
        writeIpv4Checksum(dst, offset, cs);
      }
      const tcp = offset + cs;
      put32(dst, tcp + 4, (this.#seq + i * gsoSize) >>> 0);
      if (i !== last) dst[tcp + 13] &= ~(TCP_FIN | TCP_PSH);
      if (i !== 0) dst[tcp + 13] &= ~TCP_CWR;
      const l4Len = total - cs;
      const c = ~foldSum(sumBytes(dst, tcp, offset + total, this.#addrSum + l4Len)) & 0xffff;
      put16(dst, tcp + 16, c);
      sizes[out++] = total;
    }
    return out - start;
  }

  /** Packets dropped because a caller buffer was too small. */
  dropped = 0;
}

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
 * they are merged, since the kernel trusts a merged packet's. Order within a flow is kept.
 *
 * @example
 * ```ts ignore
 * const plan = coalescer.plan(bufs, sizes, 16, n);
 * for (let k = 0; k < plan.count; k++) writeOne(plan, k); // writev: vnet, head, chained payloads
 * ```
 */
export class GroCoalescer {
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
            if (!verified[k]) {
              verified[k] = 1;
              if (!tcpChecksumOk(hb, offset, sizes[head[k]], iph, v6)) open[k] = 0;
            }
            if (open[k] && tcpChecksumOk(b, offset, len, iph, v6)) {
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
      put16(b, tcp + 16, foldSum(addressSum(b, offset, v6, PROTO_TCP) + total - iph));
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
    if (b[off] !== 0x45 || b[off + 9] !== PROTO_TCP || get16(b, off + 2) !== len) return NOT_TCP;
    if ((b[off + 6] & 0x3f) !== 0 || b[off + 7] !== 0) return NOT_TCP; // MF or an offset
    iph = 20;
  } else if (v === 6) {
    if (len < 60 || b[off + 6] !== PROTO_TCP || get16(b, off + 4) !== len - 40) return NOT_TCP;
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
  const acc = sumBytes(b, off + iph, off + len, addressSum(b, off, v6, PROTO_TCP) + len - iph);
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
