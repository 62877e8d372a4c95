/**
 * STUN constants (RFC 5389; protocol doc §7).
 *
 * @module
 */

/** RFC 5389 magic cookie, bytes 4..8 of every modern STUN message. */
export const MAGIC_COOKIE = 0x2112a442;
/** STUN header length. */
export const HEADER_LEN = 20;
/** Transaction ID length (RFC 5389). */
export const TX_ID_LEN = 12;
/** Binding request message type. */
export const BINDING_REQUEST = 0x0001;
/** Binding success response message type. */
export const BINDING_SUCCESS = 0x0101;
/** MAPPED-ADDRESS attribute (RFC 3489 servers). */
export const ATTR_MAPPED_ADDRESS = 0x0001;
/** XOR-MAPPED-ADDRESS attribute. */
export const ATTR_XOR_MAPPED_ADDRESS = 0x0020;
/** XOR-MAPPED-ADDRESS in the comprehension-optional range; some servers send it. */
export const ATTR_XOR_MAPPED_ADDRESS_ALT = 0x8020;
/** RFC 3489 CHANGE-REQUEST attribute (ask for a reply from another address/port). */
export const ATTR_CHANGE_REQUEST = 0x0003;
/** SOFTWARE attribute. */
export const ATTR_SOFTWARE = 0x8022;
/** FINGERPRINT attribute. */
export const ATTR_FINGERPRINT = 0x8028;
/** Value XORed into the CRC-32 of a FINGERPRINT. */
export const FINGERPRINT_XOR = 0x5354554e;
/** SOFTWARE value Tailscale clients send (8 bytes: no padding). */
export const TAILNODE_SOFTWARE = "tailnode";
/** Default STUN port. */
export const DEFAULT_STUN_PORT = 3478;
/** How long the client waits for a response by default. */
export const STUN_TIMEOUT_MS = 3000;
