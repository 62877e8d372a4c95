/**
 * Byte helpers shared by TCP segmentation (GSO) and coalescing (GRO): TCP
 * flags, big-endian field access and the checksum pieces both need.
 *
 * @module
 */
import { foldSum, sumBytes } from "./checksum.ts";

/** TCP CWR flag (congestion window reduced): goes on the first segment of a split only. */
export const TCP_CWR = 0x80;

/** Sum of the pseudo-header's addresses and protocol (the length is added per segment). */
export function addressSum(b: Uint8Array, ip: number, v6: boolean, proto: number): number {
  return v6 ? sumBytes(b, ip + 8, ip + 40, proto) : sumBytes(b, ip + 12, ip + 20, proto);
}

/** Writes the IPv4 header checksum of the header at `b[ip, ip + ihl)`. */
export function writeIpv4Checksum(b: Uint8Array, ip: number, ihl: number): void {
  b[ip + 10] = b[ip + 11] = 0;
  const c = ~foldSum(sumBytes(b, ip, ip + ihl)) & 0xffff;
  b[ip + 10] = c >> 8;
  b[ip + 11] = c & 0xff;
}

/** The big-endian u16 at `b[at]`. */
export function get16(b: Uint8Array, at: number): number {
  return (b[at] << 8) | b[at + 1];
}

/** Stores `v` as a big-endian u16 at `b[at]`. */
export function put16(b: Uint8Array, at: number, v: number): void {
  b[at] = (v >> 8) & 0xff;
  b[at + 1] = v & 0xff;
}

/** The big-endian u32 at `b[at]`. */
export function get32(b: Uint8Array, at: number): number {
  return ((b[at] << 24) | (b[at + 1] << 16) | (b[at + 2] << 8) | b[at + 3]) >>> 0;
}

/** Stores `v` as a big-endian u32 at `b[at]`. */
export function put32(b: Uint8Array, at: number, v: number): void {
  b[at] = v >>> 24;
  b[at + 1] = (v >>> 16) & 0xff;
  b[at + 2] = (v >>> 8) & 0xff;
  b[at + 3] = v & 0xff;
}
