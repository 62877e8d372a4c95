/**
 * TCP segments into IP packets for the userspace stack's output.
 *
 * @module
 */

import { finishChecksum, sumWords } from "../net/packet.ts";
import { encodeTcpSegment, type TcpSegment } from "./tcp_segment.ts";

/**
 * The IP packet carrying `seg` from `src` to `dst` (IPv4 with DF, or IPv6; TTL 64).
 *
 * @example
 * ```ts
 * import { packetFor } from "./tcp_packet.ts";
 * import { TCP_SYN } from "./tcp_segment.ts";
 * const p = packetFor({ srcPort: 1, dstPort: 2, seq: 0, ack: 0, flags: TCP_SYN, window: 100,
 *   urgent: 0, options: {}, payload: new Uint8Array() }, new Uint8Array(4), new Uint8Array(4));
 * p.length; // 40
 * ```
 */
export function packetFor(seg: TcpSegment, src: Uint8Array, dst: Uint8Array): Uint8Array {
  const v4 = src.length === 4;
  // The segment is encoded behind room for the IP header: one buffer, no copy.
  const b = encodeTcpSegment(seg, src, dst, v4 ? 20 : 40);
  if (v4) {
    b[0] = 0x45;
    b[2] = b.length >> 8;
    b[3] = b.length & 0xff;
    b[6] = 0x40; // DF: the MSS keeps segments within the MTU
    b[8] = 64;
    b[9] = 6;
    b.set(src, 12);
    b.set(dst, 16);
    const c = finishChecksum(sumWords(b, 0, 20));
    b[10] = c >> 8;
    b[11] = c & 0xff;
    return b;
  }
  const len = b.length - 40;
  b[0] = 0x60;
  b[4] = len >> 8;
  b[5] = len & 0xff;
  b[6] = 6;
  b[7] = 64;
  b.set(src, 8);
  b.set(dst, 24);
  return b;
}
