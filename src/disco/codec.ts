/**
 * Disco packets: the NaCl-boxed envelope and the Ping, Pong and CallMeMaybe
 * messages inside it (protocol doc §6.1).
 *
 * ```
 * packet  = magic "TS💬"(6) ‖ sender disco public key(32) ‖ nonce(24) ‖ box
 * box     = crypto_box(payload, nonce, recipientDiscoPub, senderDiscoPriv)  (tag first)
 * payload = type(1) ‖ version(1) = 0 ‖ body
 * ```
 *
 * Receivers ignore trailing bytes and drop unknown types (a newer peer's
 * messages) without complaint, as tailscaled does.
 *
 * @module
 */

import { BOX_OVERHEAD, boxBeforeNm, boxOpenAfterNm, boxSealAfterNm } from "../crypto/nacl_box.ts";
import { toHex } from "../bytes/hex.ts";
import { type AddrPort, addrPort } from "./addr.ts";
import { to16 } from "../net/ip.ts";
import { looksLikeDisco } from "./frame.ts";

export { looksLikeDisco };
import {
  CALL_ME_MAYBE_ENTRY_LEN,
  DISCO_HEADER_LEN,
  DISCO_KEY_LEN,
  DISCO_MAGIC,
  DISCO_NONCE_LEN,
  MESSAGE_HEADER_LEN,
  MESSAGE_VERSION,
  NODE_KEY_LEN,
  PONG_BODY_LEN,
  TX_ID_LEN,
  TYPE_CALL_ME_MAYBE,
  TYPE_PING,
  TYPE_PONG,
} from "./constants.ts";

/** A disco Ping: "are you there on this path?". */
export interface DiscoPing {
  /** Discriminant for {@link DiscoMessage}; wire type {@link TYPE_PING}. */
  readonly type: "ping";
  /** 12 random bytes echoed by the pong. */
  readonly txId: Uint8Array;
  /** The sender's node (WireGuard) public key; null when absent (clients before 1.16) or zero. */
  readonly nodeKey: Uint8Array | null;
  /** Zero bytes after the body (path-MTU probing); 0 normally. */
  readonly padding: number;
}

/** A disco Pong: the answer to a Ping, carrying the source address the ping came from. */
export interface DiscoPong {
  /** Discriminant for {@link DiscoMessage}; wire type {@link TYPE_PONG}. */
  readonly type: "pong";
  /** The TxID of the ping answered. */
  readonly txId: Uint8Array;
  /** Where the ping came from as the replier saw it (127.3.3.40:<region> over DERP). */
  readonly src: AddrPort;
}

/** A disco CallMeMaybe: "I just pinged you; ping me back at these endpoints". */
export interface DiscoCallMeMaybe {
  /** Discriminant for {@link DiscoMessage}; wire type {@link TYPE_CALL_ME_MAYBE}. */
  readonly type: "call-me-maybe";
  /** The sender's own endpoints; empty for a malformed list (odd length or version ≠ 0). */
  readonly endpoints: readonly AddrPort[];
}

/** Every disco message warren understands. */
export type DiscoMessage = DiscoPing | DiscoPong | DiscoCallMeMaybe;

/** A packet that opened: who sent it and what it says. */
export interface OpenedDisco {
  /** The sender's disco public key (a copy). */
  sender: Uint8Array;
  /** The decoded message. */
  msg: DiscoMessage;
}

/** The sender disco key of a disco-framed packet (a view into it), or null if not disco. */
export function discoSender(packet: Uint8Array): Uint8Array | null {
  if (!looksLikeDisco(packet)) return null;
  return packet.subarray(DISCO_MAGIC.length, DISCO_MAGIC.length + DISCO_KEY_LEN);
}

/**
 * Encodes a message as the payload that goes inside the box (type ‖ version ‖ body).
 *
 * @example
 * ```ts
 * import { encodeDiscoMessage } from "./codec.ts";
 * encodeDiscoMessage({ type: "call-me-maybe", endpoints: [] }); // Uint8Array [3, 0]
 * ```
 * @throws {RangeError} for a TxID that is not 12 bytes, a node key that is not
 *   32 bytes, a negative padding, or a port out of range
 * @throws {TypeError} for an address that is not 4 or 16 bytes
 */
export function encodeDiscoMessage(msg: DiscoMessage): Uint8Array {
  switch (msg.type) {
    case "ping": {
      checkTxId(msg.txId);
      const key = msg.nodeKey !== null && !isZero(msg.nodeKey) ? msg.nodeKey : null;
      if (key !== null && key.length !== NODE_KEY_LEN) {
        throw new RangeError(`Ping node key must be ${NODE_KEY_LEN} bytes, got ${key.length}`);
      }
      if (!Number.isInteger(msg.padding) || msg.padding < 0) {
        throw new RangeError(`Ping padding must be a non-negative integer, got ${msg.padding}`);
      }
      const out = header(TYPE_PING, TX_ID_LEN + (key ? NODE_KEY_LEN : 0) + msg.padding);
      out.set(msg.txId, MESSAGE_HEADER_LEN);
      if (key) out.set(key, MESSAGE_HEADER_LEN + TX_ID_LEN);
      return out;
    }
    case "pong": {
      checkTxId(msg.txId);
      const out = header(TYPE_PONG, PONG_BODY_LEN);
      out.set(msg.txId, MESSAGE_HEADER_LEN);
      putAddrPort(out, MESSAGE_HEADER_LEN + TX_ID_LEN, msg.src);
      return out;
    }
    case "call-me-maybe": {
      const out = header(TYPE_CALL_ME_MAYBE, CALL_ME_MAYBE_ENTRY_LEN * msg.endpoints.length);
      let at = MESSAGE_HEADER_LEN;
      for (const ep of msg.endpoints) {
        putAddrPort(out, at, ep);
        at += CALL_ME_MAYBE_ENTRY_LEN;
      }
      return out;
    }
  }
}

/**
 * Decodes a payload opened from a box. Returns null for a payload shorter than
 * its type needs and for unknown types; trailing bytes are ignored.
 *
 * @example
 * ```ts
 * import { parseDiscoMessage } from "./codec.ts";
 * parseDiscoMessage(new Uint8Array([3, 0]))?.type; // "call-me-maybe"
 * ```
 */
export function parseDiscoMessage(payload: Uint8Array): DiscoMessage | null {
  if (payload.length < MESSAGE_HEADER_LEN) return null;
  const version = payload[1];
  const body = payload.subarray(MESSAGE_HEADER_LEN);
  switch (payload[0]) {
    case TYPE_PING: {
      if (body.length < TX_ID_LEN) return null;
      const txId = body.slice(0, TX_ID_LEN);
      const rest = body.length - TX_ID_LEN;
      // Pings are lax about length so future fields fit: a key only if 32 bytes follow.
      if (rest >= NODE_KEY_LEN) {
        const key = body.slice(TX_ID_LEN, TX_ID_LEN + NODE_KEY_LEN);
        return {
          type: "ping",
          txId,
          nodeKey: isZero(key) ? null : key,
          padding: rest - NODE_KEY_LEN,
        };
      }
      return { type: "ping", txId, nodeKey: null, padding: rest };
    }
    case TYPE_PONG: {
      if (body.length < PONG_BODY_LEN) return null;
      return { type: "pong", txId: body.slice(0, TX_ID_LEN), src: getAddrPort(body, TX_ID_LEN) };
    }
    case TYPE_CALL_ME_MAYBE: {
      // tailscaled treats a malformed list as "no endpoints", not as a bad message.
      const n = body.length / CALL_ME_MAYBE_ENTRY_LEN;
      if (version !== MESSAGE_VERSION || body.length === 0 || !Number.isInteger(n)) {
        return { type: "call-me-maybe", endpoints: [] };
      }
      const endpoints: AddrPort[] = [];
      for (let i = 0; i < n; i++) endpoints.push(getAddrPort(body, i * CALL_ME_MAYBE_ENTRY_LEN));
      return { type: "call-me-maybe", endpoints };
    }
    default:
      return null;
  }
}

/** Options for {@linkcode sealDisco} and {@linkcode sealDiscoPayload}. */
export interface SealOptions {
  /** A fixed 24-byte nonce, for tests and vectors only; default fresh random bytes. */
  nonce?: Uint8Array;
}

/**
 * Seals `msg` from us to a peer: magic ‖ senderPub ‖ nonce ‖ box.
 *
 * @example
 * ```ts
 * import { sealDisco } from "./codec.ts";
 * import { generateNodePrivate, publicFromPrivate } from "../key/node_key.ts";
 * const me = generateNodePrivate(), peer = publicFromPrivate(generateNodePrivate());
 * const pkt = sealDisco(me, publicFromPrivate(me), peer, { type: "call-me-maybe", endpoints: [] });
 * pkt.length; // 6 + 32 + 24 + 16 + 2
 * ```
 * @throws {RangeError} for keys that are not 32 bytes or a peer key X25519 rejects
 */
export function sealDisco(
  senderPriv: Uint8Array,
  senderPub: Uint8Array,
  recipientPub: Uint8Array,
  msg: DiscoMessage,
  opts?: SealOptions,
): Uint8Array {
  return sealDiscoPayload(senderPriv, senderPub, recipientPub, encodeDiscoMessage(msg), opts);
}

/** Like {@linkcode sealDisco} for an already encoded payload (type ‖ version ‖ body). */
export function sealDiscoPayload(
  senderPriv: Uint8Array,
  senderPub: Uint8Array,
  recipientPub: Uint8Array,
  payload: Uint8Array,
  opts?: SealOptions,
): Uint8Array {
  if (senderPub.length !== DISCO_KEY_LEN) {
    throw new RangeError(
      `Disco public key must be ${DISCO_KEY_LEN} bytes, got ${senderPub.length}`,
    );
  }
  const nonce = opts?.nonce ?? crypto.getRandomValues(new Uint8Array(DISCO_NONCE_LEN));
  if (nonce.length !== DISCO_NONCE_LEN) {
    throw new RangeError(`Disco nonce must be ${DISCO_NONCE_LEN} bytes, got ${nonce.length}`);
  }
  const key = sharedKey(senderPriv, recipientPub);
  if (key === null) {
    throw new RangeError(`Cannot seal disco message to key ${toHex(recipientPub)}: X25519 failed`);
  }
  const box = boxSealAfterNm(payload, nonce, key);
  const out = new Uint8Array(DISCO_HEADER_LEN + box.length);
  out.set(DISCO_MAGIC, 0);
  out.set(senderPub, DISCO_MAGIC.length);
  out.set(nonce, DISCO_MAGIC.length + DISCO_KEY_LEN);
  out.set(box, DISCO_HEADER_LEN);
  return out;
}

/**
 * Opens a disco packet addressed to us. Returns null — never throws — when the
 * packet is not disco, the sender is not one `lookupSenderKnown` accepts (checked
 * before any crypto, so strangers cost nothing), the box does not open (for
 * example a peer's previous disco key), or the message is unknown or short.
 *
 * @example
 * ```ts
 * import { openDisco } from "./codec.ts";
 * openDisco(new Uint8Array(100), new Uint8Array(32), () => true); // null
 * ```
 */
export function openDisco(
  packet: Uint8Array,
  recipientPriv: Uint8Array,
  lookupSenderKnown: (senderDiscoPub: Uint8Array) => boolean,
): OpenedDisco | null {
  const opened = openDiscoPayload(packet, recipientPriv, lookupSenderKnown);
  if (opened === null) return null;
  const msg = parseDiscoMessage(opened.payload);
  return msg === null ? null : { sender: opened.sender, msg };
}

/** Like {@linkcode openDisco} but returns the raw payload (type ‖ version ‖ body). */
export function openDiscoPayload(
  packet: Uint8Array,
  recipientPriv: Uint8Array,
  lookupSenderKnown: (senderDiscoPub: Uint8Array) => boolean,
): { sender: Uint8Array; payload: Uint8Array } | null {
  const senderView = discoSender(packet);
  if (senderView === null) return null;
  if (packet.length < DISCO_HEADER_LEN + BOX_OVERHEAD) return null;
  if (!lookupSenderKnown(senderView)) return null;
  const sender = senderView.slice();
  const key = sharedKey(recipientPriv, sender);
  if (key === null) return null;
  const nonce = packet.subarray(DISCO_MAGIC.length + DISCO_KEY_LEN, DISCO_HEADER_LEN);
  const payload = boxOpenAfterNm(packet.subarray(DISCO_HEADER_LEN), nonce, key);
  return payload === null ? null : { sender, payload };
}

/** Forgets every cached shared key (call after rotating the disco key, or in tests). */
export function clearDiscoKeyCache(): void {
  keyCache.clear();
}

// --- internals ---

// boxBeforeNm costs an X25519 per call; disco talks to the same few peers over
// and over, so the precomputed key is kept per (our private, their public) pair.
const KEY_CACHE_MAX = 1024;
const keyCache = new Map<string, Uint8Array | null>();

function sharedKey(myPriv: Uint8Array, theirPub: Uint8Array): Uint8Array | null {
  if (myPriv.length !== DISCO_KEY_LEN || theirPub.length !== DISCO_KEY_LEN) {
    throw new RangeError(
      `Disco keys must be ${DISCO_KEY_LEN} bytes, got ${myPriv.length} and ${theirPub.length}`,
    );
  }
  const id = toHex(myPriv) + toHex(theirPub);
  const hit = keyCache.get(id);
  if (hit !== undefined) return hit;
  let key: Uint8Array | null;
  try {
    key = boxBeforeNm(theirPub, myPriv);
  } catch {
    key = null; // low-order point: nothing opens, nothing can be sealed
  }
  if (keyCache.size >= KEY_CACHE_MAX) keyCache.delete(keyCache.keys().next().value!);
  keyCache.set(id, key);
  return key;
}

function header(type: number, bodyLen: number): Uint8Array {
  const out = new Uint8Array(MESSAGE_HEADER_LEN + bodyLen);
  out[0] = type;
  out[1] = MESSAGE_VERSION;
  return out;
}

function putAddrPort(out: Uint8Array, at: number, ap: AddrPort): void {
  if (ap.ip.length !== 4 && ap.ip.length !== 16) {
    throw new TypeError(`IP address must be 4 or 16 bytes, got ${ap.ip.length}`);
  }
  if (!Number.isInteger(ap.port) || ap.port < 0 || ap.port > 65535) {
    throw new RangeError(`Port ${ap.port} out of range 0-65535`);
  }
  out.set(to16(ap.ip), at);
  out[at + 16] = ap.port >> 8;
  out[at + 17] = ap.port & 0xff;
}

function getAddrPort(b: Uint8Array, at: number): AddrPort {
  return addrPort(b.subarray(at, at + 16), (b[at + 16] << 8) | b[at + 17]);
}

function checkTxId(txId: Uint8Array): void {
  if (txId.length !== TX_ID_LEN) {
    throw new RangeError(`Disco TxID must be ${TX_ID_LEN} bytes, got ${txId.length}`);
  }
}

function isZero(b: Uint8Array): boolean {
  let d = 0;
  for (const x of b) d |= x;
  return d === 0;
}
