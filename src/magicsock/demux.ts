/**
 * Telling apart what arrives on magicsock's paths: disco messages start with
 * a 6-byte magic; WireGuard messages with a type byte 1–4 and three zeros;
 * STUN responses carry the RFC 5389 magic cookie.
 *
 * @module
 */

/** "TS💬": the disco magic. */
export const DISCO_MAGIC = new Uint8Array([0x54, 0x53, 0xf0, 0x9f, 0x92, 0xac]);
/** Magic + sender disco key + nonce: the smallest disco packet header. */
export const DISCO_HEADER_LEN = 6 + 32 + 24;

/** Whether `b` is framed as a disco message. */
export function looksLikeDisco(b: Uint8Array): boolean {
  if (b.length < DISCO_HEADER_LEN) return false;
  for (let i = 0; i < 6; i++) if (b[i] !== DISCO_MAGIC[i]) return false;
  return true;
}

/** Whether `b` looks like a STUN binding response (RFC 5389 header with the magic cookie). */
export function looksLikeStunResponse(b: Uint8Array): boolean {
  return b.length >= 20 && (b[0] & 0xc0) === 0 && b[1] === 0x01 && b[4] === 0x21 &&
    b[5] === 0x12 && b[6] === 0xa4 && b[7] === 0x42;
}
