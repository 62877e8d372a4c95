/**
 * SHA-256 (FIPS 180-4) and HMAC-SHA256 (RFC 2104) in plain JavaScript, incremental and
 * copyable. The TLS 1.3 server runs a few dozen HMACs and hashes per handshake; through
 * node:crypto each is a native object, and a 10,000-connection burst left tens of MiB of
 * resident memory behind them. These allocate only their small state arrays.
 *
 * @module
 */

import { SHA256_IV } from "./blake2s.ts";

const K = new Uint32Array([
  0x428a2f98,
  0x71374491,
  0xb5c0fbcf,
  0xe9b5dba5,
  0x3956c25b,
  0x59f111f1,
  0x923f82a4,
  0xab1c5ed5,
  0xd807aa98,
  0x12835b01,
  0x243185be,
  0x550c7dc3,
  0x72be5d74,
  0x80deb1fe,
  0x9bdc06a7,
  0xc19bf174,
  0xe49b69c1,
  0xefbe4786,
  0x0fc19dc6,
  0x240ca1cc,
  0x2de92c6f,
  0x4a7484aa,
  0x5cb0a9dc,
  0x76f988da,
  0x983e5152,
  0xa831c66d,
  0xb00327c8,
  0xbf597fc7,
  0xc6e00bf3,
  0xd5a79147,
  0x06ca6351,
  0x14292967,
  0x27b70a85,
  0x2e1b2138,
  0x4d2c6dfc,
  0x53380d13,
  0x650a7354,
  0x766a0abb,
  0x81c2c92e,
  0x92722c85,
  0xa2bfe8a1,
  0xa81a664b,
  0xc24b8b70,
  0xc76c51a3,
  0xd192e819,
  0xd6990624,
  0xf40e3585,
  0x106aa070,
  0x19a4c116,
  0x1e376c08,
  0x2748774c,
  0x34b0bcb5,
  0x391c0cb3,
  0x4ed8aa4a,
  0x5b9cca4f,
  0x682e6ff3,
  0x748f82ee,
  0x78a5636f,
  0x84c87814,
  0x8cc70208,
  0x90befffa,
  0xa4506ceb,
  0xbef9a3f7,
  0xc67178f2,
]);
const IV = SHA256_IV;
// The message schedule, shared: compression never re-enters.
const W = new Uint32Array(64);

/**
 * An incremental SHA-256.
 *
 * @example
 * ```ts
 * const h = new Sha256().update(new TextEncoder().encode("abc"));
 * console.assert(h.copy().digest().length === 32);
 * ```
 */
export class Sha256 {
  #h = Uint32Array.from(IV);
  #block = new Uint8Array(64);
  #fill = 0;
  #bytes = 0;

  /** Starts over, as a new hash. */
  reset(): this {
    this.#h.set(IV);
    this.#fill = 0;
    this.#bytes = 0;
    return this;
  }

  /** Adds data; returns this. */
  update(data: Uint8Array): this {
    this.#bytes += data.length;
    let off = 0;
    if (this.#fill > 0) {
      const n = Math.min(64 - this.#fill, data.length);
      this.#block.set(data.subarray(0, n), this.#fill);
      this.#fill += n;
      off = n;
      if (this.#fill < 64) return this;
      compress(this.#h, this.#block, 0);
      this.#fill = 0;
    }
    for (; data.length - off >= 64; off += 64) compress(this.#h, data, off);
    if (off < data.length) {
      this.#block.set(data.subarray(off), 0);
      this.#fill = data.length - off;
    }
    return this;
  }

  /** An independent hash of the same bytes so far. */
  copy(): Sha256 {
    const c = new Sha256();
    c.#h.set(this.#h);
    c.#block.set(this.#block);
    c.#fill = this.#fill;
    c.#bytes = this.#bytes;
    return c;
  }

  /** The 32-byte digest; the object must be reset before it is used again. */
  digest(): Uint8Array {
    return this.digestInto(new Uint8Array(32));
  }

  /** Writes the digest into out[0, 32) and returns out; then as {@link digest}. */
  digestInto(out: Uint8Array): Uint8Array {
    const b = this.#block;
    b[this.#fill] = 0x80;
    b.fill(0, this.#fill + 1);
    if (this.#fill >= 56) {
      compress(this.#h, b, 0);
      b.fill(0);
    }
    // No DataView: taking .buffer of a small array would give it a native backing store.
    const bits = this.#bytes * 8;
    put32(b, 56, Math.floor(bits / 0x1_0000_0000));
    put32(b, 60, bits >>> 0);
    compress(this.#h, b, 0);
    for (let i = 0; i < 8; i++) put32(out, i * 4, this.#h[i]);
    return out;
  }
}

function put32(b: Uint8Array, off: number, v: number): void {
  b[off] = v >>> 24,
    b[off + 1] = (v >>> 16) & 0xff,
    b[off + 2] = (v >>> 8) & 0xff,
    b[off + 3] = v & 0xff;
}

function compress(h: Uint32Array, p: Uint8Array, off: number): void {
  for (let i = 0; i < 16; i++) {
    const j = off + i * 4;
    W[i] = (p[j] << 24) | (p[j + 1] << 16) | (p[j + 2] << 8) | p[j + 3];
  }
  for (let i = 16; i < 64; i++) {
    const a = W[i - 15], b = W[i - 2];
    const s0 = ((a >>> 7) | (a << 25)) ^ ((a >>> 18) | (a << 14)) ^ (a >>> 3);
    const s1 = ((b >>> 17) | (b << 15)) ^ ((b >>> 19) | (b << 13)) ^ (b >>> 10);
    W[i] = W[i - 16] + s0 + W[i - 7] + s1;
  }
  let a = h[0], b = h[1], c = h[2], d = h[3], e = h[4], f = h[5], g = h[6], hh = h[7];
  for (let i = 0; i < 64; i++) {
    const S1 = ((e >>> 6) | (e << 26)) ^ ((e >>> 11) | (e << 21)) ^ ((e >>> 25) | (e << 7));
    const t1 = (hh + S1 + ((e & f) ^ (~e & g)) + K[i] + W[i]) | 0;
    const S0 = ((a >>> 2) | (a << 30)) ^ ((a >>> 13) | (a << 19)) ^ ((a >>> 22) | (a << 10));
    const t2 = (S0 + ((a & b) ^ (a & c) ^ (b & c))) | 0;
    hh = g, g = f, f = e, e = (d + t1) | 0, d = c, c = b, b = a, a = (t1 + t2) | 0;
  }
  h[0] += a, h[1] += b, h[2] += c, h[3] += d, h[4] += e, h[5] += f, h[6] += g, h[7] += hh;
}

/** SHA-256 of the concatenated parts. */
export function sha256(...parts: Uint8Array[]): Uint8Array {
  const h = new Sha256();
  for (const p of parts) h.update(p);
  return h.digest();
}

// HMAC's state, reused: every call runs to completion before the next.
const PAD = new Uint8Array(64);
const INNER = new Sha256();
const OUTER = new Sha256();
const INNER_HASH = new Uint8Array(32);

/** HMAC-SHA256 of the concatenated parts. */
export function hmacSha256(key: Uint8Array, ...parts: Uint8Array[]): Uint8Array {
  PAD.fill(0);
  PAD.set(key.length > 64 ? sha256(key) : key);
  for (let i = 0; i < 64; i++) PAD[i] ^= 0x36;
  INNER.reset().update(PAD);
  for (const p of parts) INNER.update(p);
  INNER.digestInto(INNER_HASH);
  for (let i = 0; i < 64; i++) PAD[i] ^= 0x36 ^ 0x5c;
  const out = OUTER.reset().update(PAD).update(INNER_HASH).digest();
  PAD.fill(0);
  return out;
}
