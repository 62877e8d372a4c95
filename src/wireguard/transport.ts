/**
 * The transport data message (type 4) on the hot path: header, padding,
 * sealing and opening in place, and the few IP header reads cryptokey
 * routing needs. Nothing here allocates except the views node:crypto needs.
 *
 * @module
 */
import type { Keypair } from "./keypair.ts";

/** Bytes before the ciphertext: type, reserved, receiver index, counter. */
export const TRANSPORT_HEADER_SIZE = 16;
/** Poly1305 tag length. */
export const TAG_SIZE = 16;
/** Room a packet buffer needs beyond the packet: padding (≤ 15) and the tag. */
export const TRANSPORT_OVERHEAD: number = 16 + TAG_SIZE;

const TYPE_TRANSPORT = 4;
const TWO_32 = 0x1_0000_0000;

/**
 * Seals the plaintext at `buf[offset, offset+len)` in place into a transport
 * message starting at `offset - 16`, padding to a multiple of 16 but not past
 * `mtu`. Returns the message size. `buf` needs `TRANSPORT_OVERHEAD` spare bytes.
 */
export function sealTransport(
  kp: Keypair,
  counter: number,
  buf: Uint8Array,
  offset: number,
  len: number,
  mtu: number,
): number {
  let padded = (len + 15) & ~15;
  if (padded > mtu) padded = len > mtu ? len : mtu;
  if (padded > len) buf.fill(0, offset + len, offset + padded);
  const h = offset - TRANSPORT_HEADER_SIZE;
  buf[h] = TYPE_TRANSPORT;
  buf[h + 1] = 0;
  buf[h + 2] = 0;
  buf[h + 3] = 0;
  writeU32le(buf, h + 4, kp.remoteIndex);
  writeU32le(buf, h + 8, counter >>> 0);
  writeU32le(buf, h + 12, Math.floor(counter / TWO_32));
  return TRANSPORT_HEADER_SIZE + kp.send.sealInPlace(counter, buf, offset, padded);
}

/** The receiver index of a transport message. */
export function transportReceiver(buf: Uint8Array): number {
  return readU32le(buf, 4);
}

/**
 * The counter of a transport message, or Infinity when it does not fit a
 * double exactly (such a counter is past any session's life and is dropped).
 */
export function transportCounter(buf: Uint8Array): number {
  const hi = readU32le(buf, 12);
  if (hi >= 0x20_0000) return Infinity;
  return hi * TWO_32 + readU32le(buf, 8);
}

/**
 * Opens the transport message `buf[0, size)` in place: the plaintext lands at
 * `buf[16, 16+n)`. Returns n, or -1 if authentication fails.
 */
export function openTransport(kp: Keypair, counter: number, buf: Uint8Array, size: number): number {
  return kp.recv.openInPlace(counter, buf, TRANSPORT_HEADER_SIZE, size - TRANSPORT_HEADER_SIZE);
}

/**
 * The real length of the IP packet at `buf[off, off+n)` from its own header
 * (which strips WireGuard padding), or -1 if it is not a well-formed IPv4/IPv6
 * packet that fits.
 */
export function ipPacketLength(buf: Uint8Array, off: number, n: number): number {
  const version = buf[off] >> 4;
  if (version === 4) {
    if (n < 20) return -1;
    const total = (buf[off + 2] << 8) | buf[off + 3];
    return total >= 20 && total <= n ? total : -1;
  }
  if (version === 6) {
    if (n < 40) return -1;
    const total = 40 + ((buf[off + 4] << 8) | buf[off + 5]);
    return total <= n ? total : -1;
  }
  return -1;
}

/** Offset of the source address within an IP header of `version` 4 or 6. */
export function sourceOffset(version: number): number {
  return version === 4 ? 12 : 8;
}

/** Offset of the destination address within an IP header of `version` 4 or 6. */
export function destinationOffset(version: number): number {
  return version === 4 ? 16 : 24;
}

function readU32le(b: Uint8Array, o: number): number {
  return (b[o] | (b[o + 1] << 8) | (b[o + 2] << 16) | (b[o + 3] << 24)) >>> 0;
}

function writeU32le(b: Uint8Array, o: number, v: number): void {
  b[o] = v;
  b[o + 1] = v >>> 8;
  b[o + 2] = v >>> 16;
  b[o + 3] = v >>> 24;
}
