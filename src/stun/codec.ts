/**
 * STUN binding request/response codec (RFC 5389, with RFC 3489 compatibility for
 * classic requests that lack the magic cookie).
 *
 * @module
 */

import {
  ATTR_CHANGE_REQUEST,
  ATTR_FINGERPRINT,
  ATTR_MAPPED_ADDRESS,
  ATTR_SOFTWARE,
  ATTR_XOR_MAPPED_ADDRESS,
  ATTR_XOR_MAPPED_ADDRESS_ALT,
  BINDING_REQUEST,
  BINDING_SUCCESS,
  FINGERPRINT_XOR,
  HEADER_LEN,
  MAGIC_COOKIE,
  TAILNODE_SOFTWARE,
  TX_ID_LEN,
} from "./constants.ts";
import { unmap } from "../net/ip.ts";
import { isStun, looksLikeStunResponse } from "./sniff.ts";

export { isStun, looksLikeStunResponse };

/** A parsed binding request. */
export interface BindingRequest {
  /** Header bytes 4..20: cookie ‖ 12-byte ID (RFC 5389) or a 16-byte ID (RFC 3489). */
  transaction: Uint8Array;
  /** Whether the request carries the RFC 5389 magic cookie. */
  modern: boolean;
  /** SOFTWARE attribute, if present. */
  software?: string;
  /** Whether a FINGERPRINT was present (it was valid, or parsing would have failed). */
  fingerprint: boolean;
  /** RFC 3489 CHANGE-REQUEST flags (0 when absent). */
  changeRequest: number;
}

/** A parsed binding success response. */
export interface BindingResponse {
  /** The 12-byte transaction ID. */
  txId: Uint8Array;
  /** Mapped address, 4 or 16 bytes (v4-mapped IPv6 is unmapped to 4). */
  ip: Uint8Array;
  /** Mapped port. */
  port: number;
}

let crcTable: Uint32Array | null = null;

/** CRC-32 (IEEE), as used by the FINGERPRINT attribute. */
export function crc32(b: Uint8Array): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let i = 0; i < 256; i++) {
      let c = i;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[i] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = 0; i < b.length; i++) c = crcTable[(c ^ b[i]) & 255] ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

/** The FINGERPRINT value of the message bytes before the attribute. */
export function fingerprint(b: Uint8Array): number {
  return (crc32(b) ^ FINGERPRINT_XOR) >>> 0;
}

/** Makes a random 12-byte transaction ID. */
export function newTxId(): Uint8Array {
  return crypto.getRandomValues(new Uint8Array(TX_ID_LEN));
}

/**
 * Encodes a binding request with SOFTWARE and FINGERPRINT: 40 bytes for "tailnode".
 *
 * @example
 * ```ts
 * const req = encodeBindingRequest(newTxId()); // what tailscaled sends
 * ```
 */
export function encodeBindingRequest(
  txId: Uint8Array,
  software: string = TAILNODE_SOFTWARE,
): Uint8Array {
  checkTx(txId);
  const sw = new TextEncoder().encode(software);
  const swPadded = (sw.length + 3) & ~3;
  const attrsLen = 4 + swPadded + 8;
  const b = new Uint8Array(HEADER_LEN + attrsLen);
  const v = new DataView(b.buffer);
  v.setUint16(0, BINDING_REQUEST);
  v.setUint16(2, attrsLen);
  v.setUint32(4, MAGIC_COOKIE);
  b.set(txId, 8);
  v.setUint16(20, ATTR_SOFTWARE);
  v.setUint16(22, sw.length);
  b.set(sw, 24);
  const fpOff = 24 + swPadded;
  v.setUint16(fpOff, ATTR_FINGERPRINT);
  v.setUint16(fpOff + 2, 4);
  v.setUint32(fpOff + 4, fingerprint(b.subarray(0, fpOff)));
  return b;
}

/** Calls fn for each attribute; false if the attribute area is malformed. */
function forEachAttr(
  b: Uint8Array,
  fn: (type: number, value: Uint8Array, offset: number) => void,
): boolean {
  let off = 0;
  while (off < b.length) {
    if (b.length - off < 4) return false;
    const type = (b[off] << 8) | b[off + 1];
    const len = (b[off + 2] << 8) | b[off + 3];
    const padded = (len + 3) & ~3;
    if (off + 4 + len > b.length) return false;
    fn(type, b.subarray(off + 4, off + 4 + len), off);
    off += 4 + padded;
    if (off > b.length) off = b.length; // last attribute may omit its padding
  }
  return true;
}

/**
 * Parses a binding request. Accepts RFC 5389 requests (a FINGERPRINT, if present,
 * must be valid and last) and RFC 3489 classic ones. With tailnodeOnly it insists,
 * as derper does, on SOFTWARE "tailnode" and a trailing valid FINGERPRINT.
 *
 * @throws {SyntaxError} naming what is wrong with the message
 */
export function parseBindingRequest(b: Uint8Array, tailnodeOnly = false): BindingRequest {
  if (b.length < HEADER_LEN || (b[0] & 0xc0) !== 0) throw new SyntaxError("Not a STUN message");
  const type = (b[0] << 8) | b[1];
  if (type !== BINDING_REQUEST) {
    throw new SyntaxError(`STUN message type 0x${type.toString(16)} is not a binding request`);
  }
  const len = (b[2] << 8) | b[3];
  if (len % 4 !== 0 || HEADER_LEN + len > b.length) {
    throw new SyntaxError(`STUN length ${len} does not fit the ${b.length}-byte message`);
  }
  const modern = readU32(b, 4) === MAGIC_COOKIE;
  const msg = b.subarray(0, HEADER_LEN + len);
  const req: BindingRequest = {
    transaction: msg.slice(4, HEADER_LEN),
    modern,
    fingerprint: false,
    changeRequest: 0,
  };
  let lastType = -1;
  let fpError = false;
  const ok = forEachAttr(msg.subarray(HEADER_LEN), (t, value, off) => {
    lastType = t;
    if (t === ATTR_SOFTWARE) req.software = new TextDecoder().decode(value);
    if (t === ATTR_CHANGE_REQUEST && value.length === 4) req.changeRequest = readU32(value, 0);
    if (t === ATTR_FINGERPRINT && modern) {
      const want = fingerprint(msg.subarray(0, HEADER_LEN + off));
      if (value.length !== 4 || readU32(value, 0) !== want) fpError = true;
      req.fingerprint = true;
    }
  });
  if (!ok) throw new SyntaxError("STUN request has malformed attributes");
  if (fpError) throw new SyntaxError("STUN request has a bogus fingerprint");
  if (req.fingerprint && lastType !== ATTR_FINGERPRINT) {
    throw new SyntaxError("STUN FINGERPRINT is not the last attribute");
  }
  if (tailnodeOnly) {
    if (!modern) throw new SyntaxError("STUN request lacks the magic cookie");
    if (req.software !== TAILNODE_SOFTWARE) {
      throw new SyntaxError("STUN request came from non-Tailscale software");
    }
    if (!req.fingerprint) throw new SyntaxError("STUN request did not end in a fingerprint");
  }
  return req;
}

/**
 * Encodes a binding success response for a request's transaction: XOR-MAPPED-ADDRESS
 * only (as derper) for RFC 5389, MAPPED-ADDRESS for RFC 3489 classic requests.
 *
 * @param transaction header bytes 4..20 of the request
 * @param ip 4 or 16 address bytes
 */
export function encodeBindingResponse(
  transaction: Uint8Array,
  ip: Uint8Array,
  port: number,
): Uint8Array {
  if (transaction.length !== 16) {
    throw new RangeError(`STUN transaction must be 16 bytes, got ${transaction.length}`);
  }
  if (ip.length !== 4 && ip.length !== 16) {
    throw new RangeError(`STUN address must be 4 or 16 bytes, got ${ip.length}`);
  }
  const modern = readU32(transaction, 0) === MAGIC_COOKIE;
  const attrLen = 4 + ip.length;
  const b = new Uint8Array(HEADER_LEN + 4 + attrLen);
  const v = new DataView(b.buffer);
  v.setUint16(0, BINDING_SUCCESS);
  v.setUint16(2, 4 + attrLen);
  b.set(transaction, 4);
  v.setUint16(20, modern ? ATTR_XOR_MAPPED_ADDRESS : ATTR_MAPPED_ADDRESS);
  v.setUint16(22, attrLen);
  b[24] = 0;
  b[25] = ip.length === 4 ? 1 : 2;
  if (modern) {
    v.setUint16(26, port ^ (MAGIC_COOKIE >>> 16));
    for (let i = 0; i < ip.length; i++) b[28 + i] = ip[i] ^ transaction[i];
  } else {
    v.setUint16(26, port);
    b.set(ip, 28);
  }
  return b;
}

/**
 * Parses a binding success response, taking XOR-MAPPED-ADDRESS (0x0020 or 0x8020)
 * and falling back to MAPPED-ADDRESS.
 *
 * @throws {SyntaxError} if it is not a well-formed success response with an address
 */
export function parseBindingResponse(b: Uint8Array): BindingResponse {
  if (!isStun(b)) throw new SyntaxError("Not a STUN message");
  if (b[0] !== 0x01 || b[1] !== 0x01) {
    throw new SyntaxError("STUN packet is not a success response");
  }
  const txId = b.slice(8, HEADER_LEN);
  const len = (b[2] << 8) | b[3];
  if (HEADER_LEN + len > b.length) throw new SyntaxError("STUN response has malformed attributes");
  const attrs = b.subarray(HEADER_LEN, HEADER_LEN + len);
  let xor: { ip: Uint8Array; port: number } | null = null;
  let plain: { ip: Uint8Array; port: number } | null = null;
  let bad = false;
  const ok = forEachAttr(attrs, (t, value) => {
    if (t === ATTR_XOR_MAPPED_ADDRESS || t === ATTR_XOR_MAPPED_ADDRESS_ALT) {
      const a = readAddress(value);
      if (!a) {
        bad = true;
        return;
      }
      a.port ^= MAGIC_COOKIE >>> 16;
      for (let i = 0; i < a.ip.length; i++) a.ip[i] ^= b[4 + i];
      xor = a;
    } else if (t === ATTR_MAPPED_ADDRESS) {
      const a = readAddress(value);
      if (!a) bad = true;
      else plain = a;
    }
  });
  if (!ok || bad) throw new SyntaxError("STUN response has malformed attributes");
  const got = (xor ?? plain) as { ip: Uint8Array; port: number } | null;
  if (!got) throw new SyntaxError("STUN response has no mapped address");
  return { txId, ip: unmap(got.ip), port: got.port };
}

function readAddress(v: Uint8Array): { ip: Uint8Array; port: number } | null {
  if (v.length < 4) return null;
  const n = v[1] === 1 ? 4 : v[1] === 2 ? 16 : 0;
  if (n === 0 || v.length < 4 + n) return null;
  return { ip: v.slice(4, 4 + n), port: (v[2] << 8) | v[3] };
}

function readU32(b: Uint8Array, off: number): number {
  return ((b[off] << 24) >>> 0) + (b[off + 1] << 16) + (b[off + 2] << 8) + b[off + 3];
}

function checkTx(txId: Uint8Array): void {
  if (txId.length !== TX_ID_LEN) {
    throw new RangeError(`STUN transaction ID must be 12 bytes, got ${txId.length}`);
  }
}
