/**
 * TLS 1.3 record protection (RFC 8446 §5.2–5.3) for TLS_CHACHA20_POLY1305_SHA256 (warren's
 * WebAssembly ChaCha20-Poly1305) and TLS_AES_128_GCM_SHA256 (node:crypto). A direction's
 * key material is one small array, [key | iv | traffic secret], so a connection holds two
 * of them and a sequence number each, nothing else.
 *
 * @module
 */

import { createCipheriv, createDecipheriv } from "node:crypto";
import { cryptoWasm } from "../crypto/wasm/instance.ts";
import { nextTrafficSecret, trafficKey } from "./key_schedule.ts";

/** TLS_AES_128_GCM_SHA256. */
export const TLS_AES_128_GCM_SHA256 = 0x1301;
/** TLS_CHACHA20_POLY1305_SHA256. */
export const TLS_CHACHA20_POLY1305_SHA256 = 0x1303;
/** A cipher suite this server speaks. */
export type CipherSuite = typeof TLS_AES_128_GCM_SHA256 | typeof TLS_CHACHA20_POLY1305_SHA256;

/** Record header length. */
export const HEADER_LEN = 5;
/** AEAD tag length of both suites. */
export const TAG_LEN = 16;
/** Largest plaintext fragment (RFC 8446 §5.1). */
export const MAX_PLAINTEXT = 16384;
/** Largest TLSCiphertext.length (RFC 8446 §5.2). */
export const MAX_CIPHERTEXT: number = MAX_PLAINTEXT + 256;

/** Record content types. */
export const ContentType = {
  ChangeCipherSpec: 20,
  Alert: 21,
  Handshake: 22,
  ApplicationData: 23,
} as const;

const KEY_MAX = 32;
const IV_OFF = KEY_MAX;
const SECRET_OFF = IV_OFF + 12;
/** Length of one direction's key material array. */
export const DIRECTION_LEN: number = SECRET_OFF + 32;

/** Key length of a suite. */
export function keyLength(suite: CipherSuite): number {
  return suite === TLS_AES_128_GCM_SHA256 ? 16 : 32;
}

/** One direction's key material from its traffic secret, into d (default a new array). */
export function directionKeys(
  suite: CipherSuite,
  secret: Uint8Array,
  d: Uint8Array = new Uint8Array(DIRECTION_LEN),
): Uint8Array {
  const { key, iv } = trafficKey(secret, keyLength(suite));
  d.fill(0, 0, KEY_MAX);
  d.set(key, 0);
  d.set(iv, IV_OFF);
  d.set(secret, SECRET_OFF);
  return d;
}

/** Moves d on to the key material after a KeyUpdate (RFC 8446 §7.2). */
export function updateKeys(suite: CipherSuite, d: Uint8Array): void {
  directionKeys(suite, nextTrafficSecret(d.subarray(SECRET_OFF, SECRET_OFF + 32)), d);
}

/** The per-record nonce: the IV XOR the 64-bit sequence number, right-aligned. */
function nonce(d: Uint8Array, seq: number): Uint8Array {
  const n = d.slice(IV_OFF, IV_OFF + 12);
  const hi = Math.floor(seq / 0x1_0000_0000), lo = seq >>> 0;
  n[4] ^= hi >>> 24, n[5] ^= (hi >>> 16) & 0xff, n[6] ^= (hi >>> 8) & 0xff, n[7] ^= hi & 0xff;
  n[8] ^= lo >>> 24, n[9] ^= (lo >>> 16) & 0xff, n[10] ^= (lo >>> 8) & 0xff, n[11] ^= lo & 0xff;
  return n;
}

function word(n: Uint8Array, i: number): number {
  return n[i] | (n[i + 1] << 8) | (n[i + 2] << 16) | (n[i + 3] << 24);
}

/**
 * ChaCha20-Poly1305 in place on the wasm message scratch (len bytes of plaintext or
 * ciphertext, the tag after them), the key in the shared key slot for the call only.
 */
function chachaInScratch(
  op: "seal" | "open",
  d: Uint8Array,
  n: Uint8Array,
  header: Uint8Array,
  len: number,
): number {
  const w = cryptoWasm();
  w.bytes.set(header, w.adScratch);
  w.bytes.set(d.subarray(0, 32), w.keySlots);
  const s = w.msgScratch;
  const [n0, n1, n2] = [word(n, 0), word(n, 4), word(n, 8)];
  let rc = 0;
  if (op === "seal") w.fn.aead_seal(w.keySlots, n0, n1, n2, w.adScratch, HEADER_LEN, s, len, s);
  else rc = w.fn.aead_open(w.keySlots, n0, n1, n2, w.adScratch, HEADER_LEN, s, len, s);
  w.bytes.fill(0, w.keySlots, w.keySlots + 32);
  return rc;
}

/** Bytes a record of `len` plaintext bytes takes on the wire. */
export function sealedLength(len: number): number {
  return HEADER_LEN + len + 1 + TAG_LEN;
}

/**
 * Seals one record of content type `type` carrying `plain` (at most {@link MAX_PLAINTEXT}
 * bytes) into out at outOff; returns the bytes written ({@link sealedLength}).
 */
export function sealRecord(
  suite: CipherSuite,
  d: Uint8Array,
  seq: number,
  type: number,
  plain: Uint8Array,
  out: Uint8Array,
  outOff: number,
): number {
  const len = plain.length + 1 + TAG_LEN;
  const header = out.subarray(outOff, outOff + HEADER_LEN);
  header[0] = ContentType.ApplicationData;
  header[1] = 3, header[2] = 3, header[3] = len >> 8, header[4] = len & 0xff;
  const n = nonce(d, seq);
  const body = outOff + HEADER_LEN;
  if (suite === TLS_CHACHA20_POLY1305_SHA256) {
    const w = cryptoWasm();
    const s = w.msgScratch;
    w.bytes.set(plain, s);
    w.bytes[s + plain.length] = type;
    chachaInScratch("seal", d, n, header, plain.length + 1);
    out.set(w.bytes.subarray(s, s + len), body);
  } else {
    const c = createCipheriv("aes-128-gcm", d.subarray(0, 16), n);
    c.setAAD(header);
    const a = c.update(plain);
    const b = c.update(Uint8Array.of(type));
    out.set(a, body);
    out.set(b, body + a.length);
    c.final();
    out.set(c.getAuthTag(), body + plain.length + 1);
  }
  return HEADER_LEN + len;
}

/**
 * Opens the record rec (header and body, exactly one record) in place. Returns the inner
 * content type and the plaintext length, the plaintext then being rec[5, 5 + length);
 * null if it does not authenticate or has no content type.
 */
export function openRecord(
  suite: CipherSuite,
  d: Uint8Array,
  seq: number,
  rec: Uint8Array,
): { type: number; length: number } | null {
  const sealed = rec.length - HEADER_LEN;
  const len = sealed - TAG_LEN;
  if (len < 1) return null;
  const n = nonce(d, seq);
  const header = rec.subarray(0, HEADER_LEN);
  if (suite === TLS_CHACHA20_POLY1305_SHA256) {
    const w = cryptoWasm();
    const s = w.msgScratch;
    w.bytes.set(rec.subarray(HEADER_LEN), s);
    const rc = chachaInScratch("open", d, n, header, len);
    if (rc !== 0) return null;
    rec.set(w.bytes.subarray(s, s + len), HEADER_LEN);
  } else {
    const c = createDecipheriv("aes-128-gcm", d.subarray(0, 16), n);
    c.setAAD(header);
    c.setAuthTag(rec.subarray(HEADER_LEN + len));
    try {
      const a = c.update(rec.subarray(HEADER_LEN, HEADER_LEN + len));
      c.final();
      rec.set(a, HEADER_LEN);
    } catch {
      return null;
    }
  }
  // The content type is the last non-zero byte; zeros after it are padding.
  let end = HEADER_LEN + len;
  while (end > HEADER_LEN && rec[end - 1] === 0) end--;
  if (end === HEADER_LEN) return null;
  return { type: rec[end - 1], length: end - 1 - HEADER_LEN };
}
