/**
 * Telling a disco datagram from WireGuard and STUN on magicsock's one socket by its first
 * bytes, without the codec and its NaCl box: what a data plane that only sorts datagrams needs.
 *
 * @module
 */
import { DISCO_HEADER_LEN, DISCO_MAGIC } from "./constants.ts";

/**
 * Whether `packet` is framed as disco (long enough and starts with the magic).
 *
 * @example
 * ```ts
 * import { looksLikeDisco } from "./frame.ts";
 * looksLikeDisco(new Uint8Array(10)); // false
 * ```
 */
export function looksLikeDisco(packet: Uint8Array): boolean {
  if (packet.length < DISCO_HEADER_LEN) return false;
  for (let i = 0; i < DISCO_MAGIC.length; i++) if (packet[i] !== DISCO_MAGIC[i]) return false;
  return true;
}
