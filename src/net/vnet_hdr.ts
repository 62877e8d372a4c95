/**
 * The `struct virtio_net_hdr` a TUN opened with `IFF_VNET_HDR` puts in front
 * of every packet (10 bytes, host byte order): its constants and codec.
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
