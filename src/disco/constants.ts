/**
 * Disco wire constants (protocol doc §6; tailscale `disco/disco.go`).
 *
 * @module
 */

/** "TS💬": the 6 bytes every disco packet starts with. */
export const DISCO_MAGIC: Uint8Array = new Uint8Array([0x54, 0x53, 0xf0, 0x9f, 0x92, 0xac]);
/** Length of a disco public key. */
export const DISCO_KEY_LEN = 32;
/** Length of the NaCl box nonce that follows the sender key. */
export const DISCO_NONCE_LEN = 24;
/** magic(6) ‖ sender disco public key(32) ‖ nonce(24): what precedes the box. */
export const DISCO_HEADER_LEN: number = 6 + DISCO_KEY_LEN + DISCO_NONCE_LEN;
/** Poly1305 tag the box adds (tag first, `crypto_box_easy` layout). */
export const DISCO_BOX_OVERHEAD = 16;
/** type(1) ‖ version(1): the header of a message inside the box. */
export const MESSAGE_HEADER_LEN = 2;
/** The only message version; receivers ignore bytes past what they understand. */
export const MESSAGE_VERSION = 0;

/** Ping: TxID(12) ‖ sender node key(32, absent from very old clients) ‖ zero padding. */
export const TYPE_PING = 0x01;
/** Pong: TxID(12) ‖ observed source IP(16, IPv4 as ::ffff:a.b.c.d) ‖ port u16 BE. */
export const TYPE_PONG = 0x02;
/** CallMeMaybe: N × (IP(16) ‖ port u16 BE); only honoured when it arrives via DERP. */
export const TYPE_CALL_ME_MAYBE = 0x03;
// 0x04–0x09 are peer-relay messages (capver ≥ 120); warren ignores them.

/** Transaction ID length in Ping and Pong. */
export const TX_ID_LEN = 12;
/** Length of a node public key inside a Ping. */
export const NODE_KEY_LEN = 32;
/** Pong body: TxID(12) ‖ IP(16) ‖ port(2). */
export const PONG_BODY_LEN: number = TX_ID_LEN + 16 + 2;
/** One CallMeMaybe endpoint: IP(16) ‖ port(2). */
export const CALL_ME_MAYBE_ENTRY_LEN: number = 16 + 2;

/** The source address a pong reports for a ping that came over DERP: 127.3.3.40:<region>. */
export const DERP_MAGIC_IP: Uint8Array = new Uint8Array([127, 3, 3, 40]);

/** Candidate endpoints kept per peer before stale ping-learned ones are pruned. */
export const MAX_CANDIDATES = 100;
