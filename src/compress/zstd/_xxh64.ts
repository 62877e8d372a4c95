/**
 * XXH64 with seed 0, as the Zstandard content checksum uses it (RFC 8878 §3.1.1; the low 32
 * bits are stored). JavaScript has no fast 64-bit integers, so every 64-bit value is a pair of
 * unsigned 32-bit halves, and products are built from 16-bit pieces.
 *
 * @module
 */

// The five XXH64 primes as [high, low] halves.
const P1H = 0x9e3779b1, P1L = 0x85ebca87;
const P2H = 0xc2b2ae3d, P2L = 0x27d4eb4f;
const P3H = 0x165667b1, P3L = 0x9e3779f9;
const P4H = 0x85ebca77, P4L = 0xc2b2ae63;
const P5H = 0x27d4eb2f, P5L = 0x165667c5;

// Results of the helpers below (high, low): module slots instead of allocating pairs.
let rh = 0;
let rl = 0;

/** (ah:al) * (bh:bl) mod 2^64 into rh:rl. */
function mul(ah: number, al: number, bh: number, bl: number): void {
  const a0 = al & 0xffff, a1 = al >>> 16;
  const b0 = bl & 0xffff, b1 = bl >>> 16;
  const mid = a1 * b0 + a0 * b1; // < 2^33, exact in a double
  const low = a0 * b0 + (mid % 65536) * 65536; // < 2^33
  rl = low >>> 0;
  const carry = low >= 4294967296 ? 1 : 0;
  rh = (a1 * b1 + Math.floor(mid / 65536) + carry + Math.imul(ah, bl) + Math.imul(al, bh)) >>> 0;
}

/** (ah:al) + (bh:bl) mod 2^64 into rh:rl. */
function add(ah: number, al: number, bh: number, bl: number): void {
  const low = al + bl;
  rl = low >>> 0;
  rh = (ah + bh + (low >= 4294967296 ? 1 : 0)) >>> 0;
}

/** rotl(h:l, r) for 0 < r < 32 into rh:rl. */
function rotl(h: number, l: number, r: number): void {
  rh = ((h << r) | (l >>> (32 - r))) >>> 0;
  rl = ((l << r) | (h >>> (32 - r))) >>> 0;
}

/** round(acc, lane) = rotl(acc + lane * P2, 31) * P1, into rh:rl. */
function round(accH: number, accL: number, laneH: number, laneL: number): void {
  mul(laneH, laneL, P2H, P2L);
  add(accH, accL, rh, rl);
  rotl(rh, rl, 31);
  mul(rh, rl, P1H, P1L);
}

function u32(b: Uint8Array, p: number): number {
  return (b[p] | (b[p + 1] << 8) | (b[p + 2] << 16) | (b[p + 3] << 24)) >>> 0;
}

/** XXH64(buf[start, end), seed 0) as [high, low] 32-bit halves. */
export function xxh64(buf: Uint8Array, start: number, end: number): [number, number] {
  const len = end - start;
  let p = start;
  let hh: number, hl: number;
  if (len >= 32) {
    add(P1H, P1L, P2H, P2L);
    let v1h = rh, v1l = rl;
    let v2h = P2H, v2l = P2L;
    let v3h = 0, v3l = 0;
    // 0 - P1: the low half is not 0, so no borrow reaches the high half's complement.
    let v4h = ~P1H >>> 0, v4l = -P1L >>> 0;
    const stop = end - 32;
    while (p <= stop) {
      round(v1h, v1l, u32(buf, p + 4), u32(buf, p));
      v1h = rh, v1l = rl;
      round(v2h, v2l, u32(buf, p + 12), u32(buf, p + 8));
      v2h = rh, v2l = rl;
      round(v3h, v3l, u32(buf, p + 20), u32(buf, p + 16));
      v3h = rh, v3l = rl;
      round(v4h, v4l, u32(buf, p + 28), u32(buf, p + 24));
      v4h = rh, v4l = rl;
      p += 32;
    }
    rotl(v1h, v1l, 1);
    let ah = rh, al = rl;
    rotl(v2h, v2l, 7);
    add(ah, al, rh, rl);
    ah = rh, al = rl;
    rotl(v3h, v3l, 12);
    add(ah, al, rh, rl);
    ah = rh, al = rl;
    rotl(v4h, v4l, 18);
    add(ah, al, rh, rl);
    hh = rh, hl = rl;
    const lanes = [v1h, v1l, v2h, v2l, v3h, v3l, v4h, v4l];
    for (let i = 0; i < 8; i += 2) {
      // merge: h = (h ^ round(0, v)) * P1 + P4
      round(0, 0, lanes[i], lanes[i + 1]);
      mul((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, P1H, P1L);
      add(rh, rl, P4H, P4L);
      hh = rh, hl = rl;
    }
  } else {
    hh = P5H, hl = P5L;
  }
  // h += len (len < 2^32 here: a frame is bounded by the output limit)
  add(hh, hl, Math.floor(len / 4294967296), len >>> 0);
  hh = rh, hl = rl;
  while (p + 8 <= end) {
    round(0, 0, u32(buf, p + 4), u32(buf, p));
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 27);
    mul(rh, rl, P1H, P1L);
    add(rh, rl, P4H, P4L);
    hh = rh, hl = rl;
    p += 8;
  }
  if (p + 4 <= end) {
    mul(0, u32(buf, p), P1H, P1L);
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 23);
    mul(rh, rl, P2H, P2L);
    add(rh, rl, P3H, P3L);
    hh = rh, hl = rl;
    p += 4;
  }
  while (p < end) {
    mul(0, buf[p], P5H, P5L);
    rotl((hh ^ rh) >>> 0, (hl ^ rl) >>> 0, 11);
    mul(rh, rl, P1H, P1L);
    hh = rh, hl = rl;
    p++;
  }
  // Avalanche.
  hl = (hl ^ (hh >>> 1)) >>> 0; // h ^= h >> 33
  mul(hh, hl, P2H, P2L);
  hh = rh, hl = rl;
  hl = (hl ^ ((hl >>> 29) | (hh << 3))) >>> 0; // h ^= h >> 29
  hh = (hh ^ (hh >>> 29)) >>> 0;
  mul(hh, hl, P3H, P3L);
  hh = rh, hl = rl;
  hl = (hl ^ hh) >>> 0; // h ^= h >> 32
  return [hh, hl];
}

/** The low 32 bits of XXH64(buf[start, end)): the Zstandard content checksum. */
export function xxh64Low32(buf: Uint8Array, start: number, end: number): number {
  return xxh64(buf, start, end)[1];
}
