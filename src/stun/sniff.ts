/**
 * Telling a STUN message from WireGuard and disco on magicsock's one socket by its header,
 * without the rest of the codec.
 *
 * @module
 */
import { HEADER_LEN, MAGIC_COOKIE } from "./constants.ts";

/** Reports whether b looks like a STUN message (top bits zero, magic cookie present). */
export function isStun(b: Uint8Array): boolean {
  return b.length >= HEADER_LEN && (b[0] & 0xc0) === 0 &&
    ((b[4] << 24 | b[5] << 16 | b[6] << 8 | b[7]) >>> 0) === MAGIC_COOKIE;
}

/**
 * A cheap check, before {@linkcode parseBindingResponse}, that `b` is a STUN
 * message of the binding method (low type byte 0x01) with the magic cookie:
 * how magicsock tells a STUN reply from WireGuard and disco on one socket.
 *
 * @example
 * ```ts
 * import { looksLikeStunResponse } from "./sniff.ts";
 * looksLikeStunResponse(new Uint8Array(20)); // false: no magic cookie
 * ```
 */
export function looksLikeStunResponse(b: Uint8Array): boolean {
  return isStun(b) && b[1] === 0x01;
}
