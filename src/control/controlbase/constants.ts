/**
 * controlbase numbers (protocol doc §2.3–2.4). Every frame after the
 * initiation is `type:u8 ‖ len:u16 BE ‖ payload`; the initiation carries the
 * protocol version in front: `version:u16 BE ‖ type:u8 ‖ len:u16 BE ‖ payload`.
 *
 * @module
 */

/** Initiation frame: `version:u16 ‖ 0x01 ‖ 0x0060 ‖ e(32) ‖ enc s(48) ‖ tag(16)`. */
export const MSG_TYPE_INITIATION = 0x01;
/** Response frame: `0x02 ‖ 0x0030 ‖ e(32) ‖ tag(16)`. */
export const MSG_TYPE_RESPONSE = 0x02;
/** Error frame: `0x03 ‖ len ‖ UTF-8 text`; unauthenticated, a hint only. */
export const MSG_TYPE_ERROR = 0x03;
/** Record frame: `0x04 ‖ len ‖ ChaCha20-Poly1305(plaintext) ‖ tag(16)`. */
export const MSG_TYPE_RECORD = 0x04;

/** Header length of every frame except the initiation. */
export const HEADER_LEN = 3;
/** Header length of the initiation frame (2 extra version bytes). */
export const INITIATION_HEADER_LEN = 5;
/** Initiation payload length: ephemeral 32 + encrypted static 48 + tag 16. */
export const INITIATION_PAYLOAD_LEN = 96;
/** Whole initiation frame length. */
export const INITIATION_LEN: number = INITIATION_HEADER_LEN + INITIATION_PAYLOAD_LEN;
/** Response payload length: ephemeral 32 + tag 16. */
export const RESPONSE_PAYLOAD_LEN = 48;
/** Whole response frame length. */
export const RESPONSE_LEN: number = HEADER_LEN + RESPONSE_PAYLOAD_LEN;

/** Largest frame (header + payload) either side may send or accept. */
export const MAX_FRAME_SIZE = 4096;
/** Poly1305 tag length. */
export const TAG_LEN = 16;
/** Largest record ciphertext. */
export const MAX_CIPHERTEXT_SIZE = MAX_FRAME_SIZE - HEADER_LEN;
/** Largest record plaintext (4077); writers split larger writes. */
export const MAX_PLAINTEXT_SIZE = MAX_CIPHERTEXT_SIZE - TAG_LEN;

/** Prologue prefix; the decimal protocol (capability) version follows. */
export const PROLOGUE_PREFIX = "Tailscale Control Protocol v";
