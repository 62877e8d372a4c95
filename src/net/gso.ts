/**
 * Splitting the TCP "super packets" a TUN in offload mode hands out (as a
 * NIC does for TSO) into MSS-sized segments with their own headers and
 * checksums, and finishing partial checksums of ordinary packets.
 *
 * @module
 */
import { foldSum, sumBytes } from "./checksum.ts";
import {
  VNET_F_NEEDS_CSUM,
  VNET_GSO_ECN,
  VNET_GSO_NONE,
  VNET_GSO_TCPV4,
  VNET_GSO_TCPV6,
  VNET_HDR_LEN,
} from "./vnet_hdr.ts";
import { addressSum, get16, get32, put16, put32, TCP_CWR, writeIpv4Checksum } from "./_tcp_seg.ts";
import { IPPROTO_TCP, TCP_FIN, TCP_PSH } from "./packet_constants.ts";

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
    if ((v6 ? src[ip + 6] : src[ip + 9]) !== IPPROTO_TCP && !(v6 && csumStart > 40)) {
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
    this.#addrSum = addressSum(src, ip, v6, IPPROTO_TCP);
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
