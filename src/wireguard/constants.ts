/**
 * Every WireGuard protocol number in one place: message types and sizes,
 * handshake strings, and the timer/counter limits of the whitepaper §6.
 * Times are in milliseconds.
 *
 * @module
 */

/** Noise protocol name hashed into the initial chaining key (whitepaper §5.4: "Construction"). */
export const CONSTRUCTION = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s";
/** Noise prologue that separates WireGuard v1 from other uses of the same construction ("Identifier"). */
export const IDENTIFIER = "WireGuard v1 zx2c4 Jason@zx2c4.com";
/** Label hashed with the receiver's static public key to key mac1 (§5.4.4). */
export const LABEL_MAC1 = "mac1----";
/** Label hashed with the cookie sender's static public key to key cookie-reply encryption (§5.4.7). */
export const LABEL_COOKIE = "cookie--";

/** Message type byte, followed by three zero bytes on the wire (§5.4.2–5.4.6). */
export enum MessageType {
  /** Handshake initiation: sender, ephemeral, encrypted static, encrypted timestamp, macs. */
  Initiation = 1,
  /** Handshake response: sender, receiver, ephemeral, encrypted empty payload, macs. */
  Response = 2,
  /** Cookie reply sent under load instead of a response: receiver, nonce, encrypted cookie. */
  CookieReply = 3,
  /** Transport data: receiver, counter, encrypted packet. */
  Transport = 4,
}

/** Initiation size: 4 type + 4 sender + 32 ephemeral + 48 static + 28 timestamp + 16 mac1 + 16 mac2. */
export const MESSAGE_INITIATION_SIZE = 148;
/** Response size: 4 type + 4 sender + 4 receiver + 32 ephemeral + 16 empty + 16 mac1 + 16 mac2. */
export const MESSAGE_RESPONSE_SIZE = 92;
/** Cookie reply size: 4 type + 4 receiver + 24 nonce + 32 encrypted cookie. */
export const MESSAGE_COOKIE_REPLY_SIZE = 64;
/** Transport header: 4 type + 4 receiver + 8 counter, before the ciphertext. */
export const MESSAGE_TRANSPORT_HEADER_SIZE = 16;
/** Poly1305 tag appended to every AEAD ciphertext. */
export const TAG_SIZE = 16;
/** Smallest transport message (a keepalive): header plus the tag of an empty payload. */
export const MESSAGE_TRANSPORT_MIN_SIZE: number = MESSAGE_TRANSPORT_HEADER_SIZE + TAG_SIZE;
/** Size of mac1 and mac2, keyed 128-bit BLAKE2s (§5.4.4). */
export const MAC_SIZE = 16;
/** Size of the TAI64N timestamp in an initiation (§5.4.2). */
export const TIMESTAMP_SIZE = 12;
/** Size of a cookie, a keyed 128-bit BLAKE2s of the source address (§5.4.7). */
export const COOKIE_SIZE = 16;
/** XChaCha20-Poly1305 nonce in a cookie reply, random per reply (§5.4.7). */
export const COOKIE_NONCE_SIZE = 24;

/** Transport message offsets: receiver index (u32 LE), counter (u64 LE), then ciphertext. */
export const TRANSPORT_OFFSET_RECEIVER = 4;
/** Offset of the 64-bit little-endian counter in a transport message. */
export const TRANSPORT_OFFSET_COUNTER = 8;
/** Offset of the ciphertext in a transport message. */
export const TRANSPORT_OFFSET_CONTENT = 16;

/** Plaintext packets are zero-padded to a multiple of this before encryption (§5.4.6), capped at the MTU. */
export const PADDING_MULTIPLE = 16;

/** After this many messages on a session the initiator starts a new handshake (§6.2: 2^60). */
export const REKEY_AFTER_MESSAGES = 2 ** 60;
/**
 * Hard limit on messages per session (§6.2: 2^64 − 2^13 − 1). JS numbers lose
 * integer precision above 2^53, so this constant is not exact; no real
 * session gets near it (REJECT_AFTER_TIME ends a session long before), so
 * code compares counters against {@link REJECT_AFTER_MESSAGES_SAFE} instead.
 */
export const REJECT_AFTER_MESSAGES: number = 2 ** 64 - 2 ** 13 - 1;
/** The message limit actually enforced: Number.MAX_SAFE_INTEGER (2^53 − 1) is below 2^64 − 2^13 − 1 and exact. */
export const REJECT_AFTER_MESSAGES_SAFE: number = Number.MAX_SAFE_INTEGER;

/** A session older than this triggers a new handshake by its initiator when sending (§6.2). */
export const REKEY_AFTER_TIME = 120_000;
/** A session older than this is never used to send or receive (§6.2). */
export const REJECT_AFTER_TIME = 180_000;
/** Give up retrying a handshake after this long and drop queued packets (§6.4). */
export const REKEY_ATTEMPT_TIME = 90_000;
/** Retransmit an unanswered initiation after this long, plus jitter (§6.4). */
export const REKEY_TIMEOUT = 5_000;
/** Maximum random jitter added to REKEY_TIMEOUT (§6.4: up to 333 ms; wireguard-go draws 0..333). */
export const REKEY_TIMEOUT_JITTER_MAX = 333;
/** Initiations per REKEY_ATTEMPT_TIME: 90 s / 5 s (wireguard-go's MaxTimerHandshakes). */
export const MAX_TIMER_HANDSHAKES = REKEY_ATTEMPT_TIME / REKEY_TIMEOUT;
/** Send a keepalive if we received data but sent nothing for this long (§6.5, passive keepalive). */
export const KEEPALIVE_TIMEOUT = 10_000;
/** A received cookie is used for mac2 only this long; the cookie secret rotates on the same period (§5.4.7). */
export const COOKIE_REFRESH_TIME = 120_000;
/**
 * Minimum spacing of initiations accepted from one peer: 1 s / 50, i.e. 20 ms.
 * This is what wireguard-go (HandshakeInitationRate) and Linux
 * (INITIATIONS_PER_SECOND = 50) enforce; an initiation closer than this to
 * the last one consumed is treated as a flood and dropped.
 */
export const HANDSHAKE_INITIATION_RATE = 20;
