/**
 * NaCl `crypto_box` (X25519 + HSalsa20 + XSalsa20-Poly1305) as used by DERP and disco.
 *
 * Layout is the `crypto_box_easy` / TweetNaCl one: 16-byte Poly1305 tag, then the
 * ciphertext. The 24-byte nonce is carried separately (callers usually prepend it).
 *
 * @module
 */

import { allocPacketBuffer, freePacketBuffer } from "./wasm/arena.ts";
import { type CryptoWasm, cryptoWasm } from "./wasm/instance.ts";
import { x25519WasmInto } from "./x25519_wasm.ts";

/** Length of a box nonce. */
export const BOX_NONCE_LEN = 24;
/** Bytes a box adds to its plaintext (the Poly1305 tag). */
export const BOX_OVERHEAD = 16;

// X25519, HSalsa20 and secretbox run in the shared wasm module: inputs are copied
// into its scratch areas and the result copied out once, so a DERP handshake makes
// no garbage beyond its result (noble's pure-JS version made ~11 KiB per box, and
// node:crypto's X25519 a KeyObject per peer key).
// Every call is synchronous, so borrowing the AEAD's scratch areas is safe.
// Offsets into the associated-data scratch area:
const KEY = 0; // 32-byte box key (HSalsa20 output or a caller's key)
const NONCE = 32; // 24-byte nonce
const SHARED = 64; // 32-byte X25519 shared secret
const ZERO16 = 96; // 16 zero bytes: crypto_box_beforenm's HSalsa20 input
const SCRATCH_END = 112;

/**
 * Writes crypto_box_beforenm(theirPublic, myPrivate) to the key scratch and
 * returns its address. Throws for malformed keys and low-order points.
 */
function beforeNmInto(w: CryptoWasm, theirPublic: Uint8Array, myPrivate: Uint8Array): number {
  const base = w.adScratch;
  x25519WasmInto(base + SHARED, myPrivate, theirPublic);
  w.bytes.fill(0, base + ZERO16, base + ZERO16 + 16);
  w.fn.hsalsa20(base + SHARED, base + ZERO16, base + KEY);
  w.bytes.fill(0, base + SHARED, base + SHARED + 32);
  return base + KEY;
}

function wipeScratch(w: CryptoWasm): void {
  w.bytes.fill(0, w.adScratch, w.adScratch + SCRATCH_END);
}

/** Copies a caller's 32-byte box key into the key scratch and returns its address. */
function keyInto(w: CryptoWasm, key: Uint8Array): number {
  if (key.length !== 32) {
    throw new RangeError(`Box key must be 32 bytes, got ${key.length}`);
  }
  w.bytes.set(key, w.adScratch + KEY);
  return w.adScratch + KEY;
}

/**
 * Where a box of `len` bytes (tag included) is worked on in wasm memory: the
 * message scratch, or for the rare message too big for it (no DERP or disco
 * message comes near) a packet-arena buffer, zeroed and freed by `release`.
 */
function workArea(w: CryptoWasm, len: number): { at: number; release(): void } {
  if (len <= w.msgScratchSize) {
    return { at: w.msgScratch, release: () => w.bytes.fill(0, w.msgScratch, w.msgScratch + len) };
  }
  const buf = allocPacketBuffer(len);
  return { at: buf.byteOffset, release: () => freePacketBuffer(buf) };
}

/** Seals with the key at keyAddr and wipes the scratch; returns tag ‖ ciphertext. */
function sealWith(
  w: CryptoWasm,
  keyAddr: number,
  msg: Uint8Array,
  nonce: Uint8Array,
): Uint8Array {
  const len = msg.length;
  const area = workArea(w, len + BOX_OVERHEAD);
  try {
    const s = area.at;
    w.bytes.set(msg, s + BOX_OVERHEAD);
    w.bytes.set(nonce, w.adScratch + NONCE);
    w.fn.secretbox_seal(keyAddr, w.adScratch + NONCE, s + BOX_OVERHEAD, len, s);
    return w.bytes.slice(s, s + BOX_OVERHEAD + len);
  } finally {
    area.release();
    wipeScratch(w);
  }
}

/** Opens tag ‖ ciphertext with the key at keyAddr and wipes the scratch; null if it fails. */
function openWith(
  w: CryptoWasm,
  keyAddr: number,
  box: Uint8Array,
  nonce: Uint8Array,
): Uint8Array | null {
  if (box.length < BOX_OVERHEAD) {
    wipeScratch(w);
    return null;
  }
  const area = workArea(w, box.length);
  try {
    const s = area.at;
    w.bytes.set(box, s);
    w.bytes.set(nonce, w.adScratch + NONCE);
    if (w.fn.secretbox_open(keyAddr, w.adScratch + NONCE, s, box.length, s + BOX_OVERHEAD) !== 0) {
      return null;
    }
    return w.bytes.slice(s + BOX_OVERHEAD, s + box.length);
  } finally {
    area.release();
    wipeScratch(w);
  }
}

/**
 * `crypto_box_beforenm`: HSalsa20 of the X25519 shared secret with a zero nonce.
 * Cache the result when boxing many messages between one key pair.
 */
export function boxBeforeNm(theirPublic: Uint8Array, myPrivate: Uint8Array): Uint8Array {
  const w = cryptoWasm();
  try {
    const k = beforeNmInto(w, theirPublic, myPrivate);
    return w.bytes.slice(k, k + 32);
  } finally {
    wipeScratch(w);
  }
}

/** Seals with a precomputed key (see {@link boxBeforeNm}); returns tag ‖ ciphertext. */
export function boxSealAfterNm(msg: Uint8Array, nonce: Uint8Array, key: Uint8Array): Uint8Array {
  checkNonce(nonce);
  const w = cryptoWasm();
  return sealWith(w, keyInto(w, key), msg, nonce);
}

/** Opens tag ‖ ciphertext with a precomputed key; null when it does not authenticate. */
export function boxOpenAfterNm(
  box: Uint8Array,
  nonce: Uint8Array,
  key: Uint8Array,
): Uint8Array | null {
  checkNonce(nonce);
  const w = cryptoWasm();
  return openWith(w, keyInto(w, key), box, nonce);
}

/**
 * `crypto_box_easy`: seals msg from myPrivate to theirPublic; returns tag ‖ ciphertext.
 *
 * @example
 * ```ts
 * const box = boxSeal(msg, nonce, serverPublic, clientPrivate);
 * ```
 */
export function boxSeal(
  msg: Uint8Array,
  nonce: Uint8Array,
  theirPublic: Uint8Array,
  myPrivate: Uint8Array,
): Uint8Array {
  checkNonce(nonce);
  const w = cryptoWasm();
  let key: number;
  try {
    key = beforeNmInto(w, theirPublic, myPrivate);
  } catch (err) {
    wipeScratch(w);
    throw err;
  }
  return sealWith(w, key, msg, nonce);
}

/** `crypto_box_open_easy`: the plaintext, or null if the box does not open. */
export function boxOpen(
  box: Uint8Array,
  nonce: Uint8Array,
  theirPublic: Uint8Array,
  myPrivate: Uint8Array,
): Uint8Array | null {
  const w = cryptoWasm();
  let key: number;
  try {
    key = beforeNmInto(w, theirPublic, myPrivate);
  } catch {
    wipeScratch(w);
    return null; // a low-order public key makes X25519 fail: treat as "does not open"
  }
  checkNonce(nonce);
  return openWith(w, key, box, nonce);
}

/** Seals with a fresh random nonce and returns nonce ‖ tag ‖ ciphertext (Go's `SealTo`). */
export function sealTo(
  msg: Uint8Array,
  theirPublic: Uint8Array,
  myPrivate: Uint8Array,
): Uint8Array {
  const nonce = crypto.getRandomValues(new Uint8Array(BOX_NONCE_LEN));
  const box = boxSeal(msg, nonce, theirPublic, myPrivate);
  const out = new Uint8Array(BOX_NONCE_LEN + box.length);
  out.set(nonce);
  out.set(box, BOX_NONCE_LEN);
  return out;
}

/** Opens nonce ‖ tag ‖ ciphertext (Go's `OpenFrom`); null if it does not open. */
export function openFrom(
  sealed: Uint8Array,
  theirPublic: Uint8Array,
  myPrivate: Uint8Array,
): Uint8Array | null {
  if (sealed.length < BOX_NONCE_LEN + BOX_OVERHEAD) return null;
  return boxOpen(
    sealed.subarray(BOX_NONCE_LEN),
    sealed.subarray(0, BOX_NONCE_LEN),
    theirPublic,
    myPrivate,
  );
}

function checkNonce(nonce: Uint8Array): void {
  if (nonce.length !== BOX_NONCE_LEN) {
    throw new RangeError(`Box nonce must be ${BOX_NONCE_LEN} bytes, got ${nonce.length}`);
  }
}
