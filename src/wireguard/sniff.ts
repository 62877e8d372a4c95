/**
 * Telling a WireGuard message from disco and STUN on magicsock's one socket by its first four
 * bytes, without the codecs.
 *
 * @module
 */

/**
 * Whether `b` starts as a WireGuard message does: a type of 1–4 (initiation, response, cookie
 * reply, transport) and three reserved zero bytes.
 *
 * @example
 * ```ts
 * import { looksLikeWireGuard } from "./sniff.ts";
 * looksLikeWireGuard(Uint8Array.of(4, 0, 0, 0, 1)); // true: a transport message
 * looksLikeWireGuard(Uint8Array.of(0x54, 0x53, 0xf0, 0x9f)); // false: disco's magic
 * ```
 */
export function looksLikeWireGuard(b: Uint8Array): boolean {
  const type = b[0];
  return type >= 1 && type <= 4 && b[1] === 0 && b[2] === 0 && b[3] === 0;
}
