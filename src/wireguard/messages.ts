/**
 * Codecs for the four WireGuard messages (whitepaper §5.4). Every field is
 * written once here.
 *
 * Conventions: decoders take untrusted network bytes and return `null` for a
 * wrong size or type (dropping the packet is the caller's only option);
 * decoded byte fields are zero-copy views into the input. Encoders take our
 * own values and throw RangeError when a field has the wrong size, since that
 * is a programming error. Indices are u32 and counters u64, little-endian, as
 * wireguard-go and Linux put them on the wire.
 *
 * @module
 */
import {
  COOKIE_NONCE_SIZE,
  COOKIE_SIZE,
  MAC_SIZE,
  MESSAGE_COOKIE_REPLY_SIZE,
  MESSAGE_INITIATION_SIZE,
  MESSAGE_RESPONSE_SIZE,
  MESSAGE_TRANSPORT_HEADER_SIZE,
  MESSAGE_TRANSPORT_MIN_SIZE,
  MessageType,
  TAG_SIZE,
  TIMESTAMP_SIZE,
} from "./constants.ts";

export { MessageType };

const KEY_SIZE = 32;
const TWO_32 = 0x1_0000_0000;
// Counters at or above 2^53 cannot be represented exactly; hi word limit.
const MAX_SAFE_HIGH = 0x20_0000;

/** A decoded handshake initiation (type 1). */
export interface Initiation {
  /** Initiator's session index. */
  sender: number;
  /** Initiator's ephemeral public key (32). */
  ephemeral: Uint8Array;
  /** Initiator's static public key, encrypted (32 + 16). */
  encryptedStatic: Uint8Array;
  /** TAI64N timestamp, encrypted (12 + 16). */
  encryptedTimestamp: Uint8Array;
  /** mac1 (16). */
  mac1: Uint8Array;
  /** mac2 (16), zero unless the initiator holds a cookie. */
  mac2: Uint8Array;
}

/** A decoded handshake response (type 2). */
export interface Response {
  /** Responder's session index. */
  sender: number;
  /** The initiator's index this answers. */
  receiver: number;
  /** Responder's ephemeral public key (32). */
  ephemeral: Uint8Array;
  /** Tag of the empty encrypted payload (16). */
  encryptedNothing: Uint8Array;
  /** mac1 (16). */
  mac1: Uint8Array;
  /** mac2 (16). */
  mac2: Uint8Array;
}

/** A decoded cookie reply (type 3). */
export interface CookieReply {
  /** The sender index of the message this replies to. */
  receiver: number;
  /** XChaCha20-Poly1305 nonce (24). */
  nonce: Uint8Array;
  /** Cookie encrypted with the mac1 of the triggering message as AD (16 + 16). */
  encryptedCookie: Uint8Array;
}

/** The header of a transport message (type 4). */
export interface TransportHeader {
  /** The receiver's session index. */
  receiver: number;
  /** Message counter (nonce); Infinity if it is 2^53 or more, so the caller drops it. */
  counter: number;
}

/**
 * Returns the message type of a WireGuard packet (1–4), or 0 when the packet
 * is not a well-formed WireGuard message: unknown type, non-zero reserved
 * bytes, or a size that type never has (exact for types 1–3, at least 32
 * bytes for transport).
 *
 * @example
 * ```ts
 * console.assert(parseMessageType(new Uint8Array(148).fill(0, 1).fill(1, 0, 1)) === 1);
 * console.assert(parseMessageType(new Uint8Array(3)) === 0);
 * ```
 */
export function parseMessageType(buf: Uint8Array): number {
  if (buf.length < 4 || buf[1] !== 0 || buf[2] !== 0 || buf[3] !== 0) return 0;
  const type = buf[0];
  switch (type) {
    case MessageType.Initiation:
      return buf.length === MESSAGE_INITIATION_SIZE ? type : 0;
    case MessageType.Response:
      return buf.length === MESSAGE_RESPONSE_SIZE ? type : 0;
    case MessageType.CookieReply:
      return buf.length === MESSAGE_COOKIE_REPLY_SIZE ? type : 0;
    case MessageType.Transport:
      return buf.length >= MESSAGE_TRANSPORT_MIN_SIZE ? type : 0;
    default:
      return 0;
  }
}

/**
 * Encodes an initiation into `out` (148 bytes, allocated when omitted).
 *
 * @example
 * ```ts
 * const z = (n: number) => new Uint8Array(n);
 * const m = encodeInitiation({ sender: 7, ephemeral: z(32), encryptedStatic: z(48),
 *   encryptedTimestamp: z(28), mac1: z(16), mac2: z(16) });
 * console.assert(m.length === 148 && decodeInitiation(m)!.sender === 7);
 * ```
 */
export function encodeInitiation(
  m: Initiation,
  out: Uint8Array = new Uint8Array(MESSAGE_INITIATION_SIZE),
): Uint8Array {
  checkOut("initiation", out, MESSAGE_INITIATION_SIZE);
  writeHeader(out, MessageType.Initiation);
  u32(out).setUint32(4, m.sender, true);
  put(out, 8, m.ephemeral, KEY_SIZE, "ephemeral");
  put(out, 40, m.encryptedStatic, KEY_SIZE + TAG_SIZE, "encrypted static");
  put(out, 88, m.encryptedTimestamp, TIMESTAMP_SIZE + TAG_SIZE, "encrypted timestamp");
  put(out, 116, m.mac1, MAC_SIZE, "mac1");
  put(out, 132, m.mac2, MAC_SIZE, "mac2");
  return out;
}

/** Decodes an initiation; null unless it is exactly 148 bytes of type 1. */
export function decodeInitiation(buf: Uint8Array): Initiation | null {
  if (parseMessageType(buf) !== MessageType.Initiation) return null;
  return {
    sender: u32(buf).getUint32(4, true),
    ephemeral: buf.subarray(8, 40),
    encryptedStatic: buf.subarray(40, 88),
    encryptedTimestamp: buf.subarray(88, 116),
    mac1: buf.subarray(116, 132),
    mac2: buf.subarray(132, 148),
  };
}

/**
 * Encodes a response into `out` (92 bytes, allocated when omitted).
 *
 * @example
 * ```ts
 * const z = (n: number) => new Uint8Array(n);
 * const m = encodeResponse({ sender: 1, receiver: 2, ephemeral: z(32), encryptedNothing: z(16),
 *   mac1: z(16), mac2: z(16) });
 * console.assert(decodeResponse(m)!.receiver === 2);
 * ```
 */
export function encodeResponse(
  m: Response,
  out: Uint8Array = new Uint8Array(MESSAGE_RESPONSE_SIZE),
): Uint8Array {
  checkOut("response", out, MESSAGE_RESPONSE_SIZE);
  writeHeader(out, MessageType.Response);
  const view = u32(out);
  view.setUint32(4, m.sender, true);
  view.setUint32(8, m.receiver, true);
  put(out, 12, m.ephemeral, KEY_SIZE, "ephemeral");
  put(out, 44, m.encryptedNothing, TAG_SIZE, "encrypted nothing");
  put(out, 60, m.mac1, MAC_SIZE, "mac1");
  put(out, 76, m.mac2, MAC_SIZE, "mac2");
  return out;
}

/** Decodes a response; null unless it is exactly 92 bytes of type 2. */
export function decodeResponse(buf: Uint8Array): Response | null {
  if (parseMessageType(buf) !== MessageType.Response) return null;
  const view = u32(buf);
  return {
    sender: view.getUint32(4, true),
    receiver: view.getUint32(8, true),
    ephemeral: buf.subarray(12, 44),
    encryptedNothing: buf.subarray(44, 60),
    mac1: buf.subarray(60, 76),
    mac2: buf.subarray(76, 92),
  };
}

/**
 * Encodes a cookie reply into `out` (64 bytes, allocated when omitted).
 *
 * @example
 * ```ts
 * const m = encodeCookieReply({ receiver: 9, nonce: new Uint8Array(24), encryptedCookie: new Uint8Array(32) });
 * console.assert(decodeCookieReply(m)!.receiver === 9);
 * ```
 */
export function encodeCookieReply(
  m: CookieReply,
  out: Uint8Array = new Uint8Array(MESSAGE_COOKIE_REPLY_SIZE),
): Uint8Array {
  checkOut("cookie reply", out, MESSAGE_COOKIE_REPLY_SIZE);
  writeHeader(out, MessageType.CookieReply);
  u32(out).setUint32(4, m.receiver, true);
  put(out, 8, m.nonce, COOKIE_NONCE_SIZE, "nonce");
  put(out, 32, m.encryptedCookie, COOKIE_SIZE + TAG_SIZE, "encrypted cookie");
  return out;
}

/** Decodes a cookie reply; null unless it is exactly 64 bytes of type 3. */
export function decodeCookieReply(buf: Uint8Array): CookieReply | null {
  if (parseMessageType(buf) !== MessageType.CookieReply) return null;
  return {
    receiver: u32(buf).getUint32(4, true),
    nonce: buf.subarray(8, 32),
    encryptedCookie: buf.subarray(32, 64),
  };
}

/**
 * Reads a transport header; null unless the packet is type 4 and at least
 * header + tag (32 bytes). A counter of 2^53 or more comes back as Infinity,
 * which is past every limit, so the caller drops the packet.
 *
 * @example
 * ```ts
 * const p = new Uint8Array(32);
 * writeTransportHeader(p, 5, 42);
 * console.assert(readTransportHeader(p)!.counter === 42);
 * ```
 */
export function readTransportHeader(buf: Uint8Array): TransportHeader | null {
  if (parseMessageType(buf) !== MessageType.Transport) return null;
  return { receiver: readTransportReceiver(buf), counter: readTransportCounter(buf) };
}

/** The receiver index of a packet already known to be a transport message (no checks, no allocation). */
export function readTransportReceiver(buf: Uint8Array): number {
  return (buf[4] | (buf[5] << 8) | (buf[6] << 16) | (buf[7] << 24)) >>> 0;
}

/** The counter of a packet already known to be a transport message; Infinity when ≥ 2^53. */
export function readTransportCounter(buf: Uint8Array): number {
  const lo = (buf[8] | (buf[9] << 8) | (buf[10] << 16) | (buf[11] << 24)) >>> 0;
  const hi = (buf[12] | (buf[13] << 8) | (buf[14] << 16) | (buf[15] << 24)) >>> 0;
  return hi >= MAX_SAFE_HIGH ? Infinity : hi * TWO_32 + lo;
}

/**
 * Writes the 16-byte transport header (type 4, receiver, counter) at the
 * start of `buf` (or at `offset`); the ciphertext follows at offset + 16.
 */
export function writeTransportHeader(
  buf: Uint8Array,
  receiver: number,
  counter: number,
  offset = 0,
): void {
  if (offset < 0 || offset + MESSAGE_TRANSPORT_HEADER_SIZE > buf.length) {
    throw new RangeError(
      `Cannot write transport header at offset ${offset} of a ${buf.length}-byte buffer`,
    );
  }
  if (!Number.isSafeInteger(counter) || counter < 0) {
    throw new RangeError(
      `Cannot write transport counter ${counter}: not a safe non-negative integer`,
    );
  }
  const lo = counter % TWO_32;
  const hi = (counter - lo) / TWO_32;
  buf[offset] = MessageType.Transport;
  buf[offset + 1] = buf[offset + 2] = buf[offset + 3] = 0;
  le32(buf, offset + 4, receiver >>> 0);
  le32(buf, offset + 8, lo);
  le32(buf, offset + 12, hi);
}

function le32(buf: Uint8Array, off: number, v: number): void {
  buf[off] = v & 0xff;
  buf[off + 1] = (v >>> 8) & 0xff;
  buf[off + 2] = (v >>> 16) & 0xff;
  buf[off + 3] = v >>> 24;
}

function u32(buf: Uint8Array): DataView {
  return new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
}

function writeHeader(out: Uint8Array, type: MessageType): void {
  out[0] = type;
  out[1] = out[2] = out[3] = 0;
}

function checkOut(what: string, out: Uint8Array, size: number): void {
  if (out.length !== size) {
    throw new RangeError(
      `Cannot encode ${what}: output buffer is ${out.length} bytes, expected ${size}`,
    );
  }
}

function put(out: Uint8Array, off: number, field: Uint8Array, size: number, what: string): void {
  if (field.length !== size) {
    throw new RangeError(`Cannot encode ${what}: expected ${size} bytes, got ${field.length}`);
  }
  out.set(field, off);
}
