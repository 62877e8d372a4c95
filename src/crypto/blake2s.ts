/**
 * BLAKE2s (RFC 7693) and HMAC-BLAKE2s, the hash and MAC of WireGuard's Noise
 * construction, mac1/mac2 and cookies, in TypeScript.
 *
 * `node:crypto`'s blake2s256 was used for the unkeyed digest and the HMAC, but
 * loading `node:crypto` costs every WireGuard process ~3 MB of its own memory
 * and ~1.5 MB of binary pages (its polyfill's heap and code, `deno task
 * bench:memory`), and node's Hmac objects are slower than this for WireGuard's
 * short inputs: HMAC of 32 bytes 4.6 against 8.3 µs, the three-output Noise KDF
 * 24 against 60 µs; only the plain digest of a 148-byte message is slower, 4.1
 * against 3.1 µs (`deno run -A bench/_blake2s.ts`). One state in
 * module scope, so hashing allocates only its result.
 * Results are plain `Uint8Array` copies so callers can compare them and use
 * `.buffer` safely.
 *
 * @module
 */

/**
 * Hashes `data` with BLAKE2s, optionally keyed (BLAKE2s MAC mode, not HMAC) and
 * with a digest of 1–32 bytes. WireGuard uses keyed 16-byte digests for
 * mac1/mac2 and the 32-byte unkeyed digest everywhere else.
 *
 * @example
 * ```ts
 * const d = blake2s(new TextEncoder().encode("abc"));
 * console.assert(d[0] === 0x50 && d.length === 32);
 * ```
 */
export function blake2s(data: Uint8Array, outLen = 32, key?: Uint8Array): Uint8Array {
  if (!Number.isInteger(outLen) || outLen < 1 || outLen > 32) {
    throw new RangeError(`Cannot compute BLAKE2s: output length ${outLen} is not in 1..32`);
  }
  if (key !== undefined && (key.length < 1 || key.length > 32)) {
    throw new RangeError(`Cannot compute BLAKE2s: key length ${key.length} is not in 1..32`);
  }
  init(outLen, key?.length ?? 0);
  if (key !== undefined && key.length > 0) {
    // A key is hashed as a first block of its own, zero-padded.
    update(key);
    fill = 64;
  }
  update(data);
  return final(outLen);
}

/** BLAKE2s's IV, which is SHA-256's initial hash value (RFC 7693 §2.6). */
export const SHA256_IV: Uint32Array = new Uint32Array([
  0x6a09e667,
  0xbb67ae85,
  0x3c6ef372,
  0xa54ff53a,
  0x510e527f,
  0x9b05688c,
  0x1f83d9ab,
  0x5be0cd19,
]);
const IV = SHA256_IV;
// RFC 7693 §2.7: the message word schedule of each of the 10 rounds.
const SIGMA = Uint8Array.from([
  [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15],
  [14, 10, 4, 8, 9, 15, 13, 6, 1, 12, 0, 2, 11, 7, 5, 3],
  [11, 8, 12, 0, 5, 2, 15, 13, 10, 14, 3, 6, 7, 1, 9, 4],
  [7, 9, 3, 1, 13, 12, 11, 14, 2, 6, 5, 10, 4, 0, 15, 8],
  [9, 0, 5, 7, 2, 4, 10, 15, 14, 1, 11, 12, 6, 8, 3, 13],
  [2, 12, 6, 10, 0, 11, 8, 3, 4, 13, 7, 5, 15, 14, 1, 9],
  [12, 5, 1, 15, 14, 13, 4, 10, 0, 7, 6, 3, 9, 2, 8, 11],
  [13, 11, 7, 14, 12, 1, 3, 9, 5, 0, 15, 4, 8, 6, 2, 10],
  [6, 15, 14, 9, 11, 3, 0, 8, 12, 2, 13, 7, 1, 4, 10, 5],
  [10, 2, 8, 4, 7, 6, 1, 5, 15, 11, 9, 14, 3, 12, 13, 0],
].flat());

const BLOCK = 64;
// The one hashing state: every call runs to completion before another starts.
const h = new Uint32Array(8);
const v = new Uint32Array(16);
const m = new Uint32Array(16);
const block = new Uint8Array(BLOCK);
let fill = 0; // bytes in block
let total = 0; // bytes compressed before block; a double is exact far beyond any input here

function init(outLen: number, keyLen: number): void {
  h.set(IV);
  h[0] ^= 0x01010000 ^ (keyLen << 8) ^ outLen;
  block.fill(0);
  fill = 0;
  total = 0;
}

function update(data: Uint8Array): void {
  let off = 0;
  while (off < data.length) {
    // The last block is kept back: it must be compressed with the final flag.
    if (fill === BLOCK) {
      total += BLOCK;
      compress(false);
      fill = 0;
    }
    const n = Math.min(BLOCK - fill, data.length - off);
    block.set(data.subarray(off, off + n), fill);
    fill += n;
    off += n;
  }
}

function final(outLen: number): Uint8Array {
  total += fill;
  block.fill(0, fill);
  compress(true);
  const out = new Uint8Array(outLen);
  for (let i = 0; i < outLen; i++) out[i] = h[i >> 2] >>> (8 * (i & 3));
  return out;
}

function compress(last: boolean): void {
  for (let i = 0; i < 16; i++) {
    m[i] = block[4 * i] | block[4 * i + 1] << 8 | block[4 * i + 2] << 16 | block[4 * i + 3] << 24;
  }
  v.set(h);
  v.set(IV, 8);
  v[12] ^= total >>> 0;
  v[13] ^= Math.floor(total / 0x100000000);
  if (last) v[14] = ~v[14];
  for (let r = 0; r < 10; r++) {
    const s = r * 16;
    mix(0, 4, 8, 12, m[SIGMA[s]], m[SIGMA[s + 1]]);
    mix(1, 5, 9, 13, m[SIGMA[s + 2]], m[SIGMA[s + 3]]);
    mix(2, 6, 10, 14, m[SIGMA[s + 4]], m[SIGMA[s + 5]]);
    mix(3, 7, 11, 15, m[SIGMA[s + 6]], m[SIGMA[s + 7]]);
    mix(0, 5, 10, 15, m[SIGMA[s + 8]], m[SIGMA[s + 9]]);
    mix(1, 6, 11, 12, m[SIGMA[s + 10]], m[SIGMA[s + 11]]);
    mix(2, 7, 8, 13, m[SIGMA[s + 12]], m[SIGMA[s + 13]]);
    mix(3, 4, 9, 14, m[SIGMA[s + 14]], m[SIGMA[s + 15]]);
  }
  for (let i = 0; i < 8; i++) h[i] ^= v[i] ^ v[i + 8];
}

/** The G function (RFC 7693 §3.1) with BLAKE2s's rotations 16, 12, 8, 7. */
function mix(a: number, b: number, c: number, d: number, x: number, y: number): void {
  v[a] = v[a] + v[b] + x;
  v[d] = rotr(v[d] ^ v[a], 16);
  v[c] = v[c] + v[d];
  v[b] = rotr(v[b] ^ v[c], 12);
  v[a] = v[a] + v[b] + y;
  v[d] = rotr(v[d] ^ v[a], 8);
  v[c] = v[c] + v[d];
  v[b] = rotr(v[b] ^ v[c], 7);
}

function rotr(x: number, n: number): number {
  return (x >>> n) | (x << (32 - n));
}

const ipad = new Uint8Array(BLOCK);
const opad = new Uint8Array(BLOCK);

/**
 * Computes HMAC-BLAKE2s (RFC 2104 over BLAKE2s-256) of the concatenation of
 * `parts`, the PRF under Noise's HKDF.
 *
 * @example
 * ```ts
 * const mac = hmacBlake2s(new Uint8Array(32), new Uint8Array([1]));
 * console.assert(mac.length === 32);
 * ```
 */
export function hmacBlake2s(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  const k = key.length > BLOCK ? blake2s(key) : key;
  ipad.fill(0x36);
  opad.fill(0x5c);
  for (let i = 0; i < k.length; i++) {
    ipad[i] ^= k[i];
    opad[i] ^= k[i];
  }
  init(32, 0);
  update(ipad);
  for (const part of parts) update(part);
  const inner = final(32);
  init(32, 0);
  update(opad);
  update(inner);
  ipad.fill(0);
  opad.fill(0);
  inner.fill(0);
  return final(32);
}
