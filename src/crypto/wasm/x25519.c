/*
 * X25519 (RFC 7748) for the same freestanding wasm32 module as the AEADs.
 *
 * Why here and not node:crypto: every node:crypto X25519 goes through KeyObjects
 * (parse a DER key, make a native handle, collect it later). A DERP server that
 * takes 10,000 handshakes in a burst kept ~15 MiB of that as resident memory;
 * this version allocates nothing and reads and writes only the caller's buffers.
 *
 * Field elements are ten limbs of alternately 26 and 25 bits (radix 2^25.5),
 * held in int64 so a limb product plus the 19x of the wrap-around fits without
 * a 128-bit multiply, which wasm does not have. Limb i weighs 2^ceil(25.5 i),
 * so the product of two odd limbs lands one bit above limb i+j: it is doubled.
 *
 * Invariant: every function leaves its output "carried" (each limb below
 * 2^26, plus a few bits of slack in limb 1), and fe_add/fe_sub carry too, so
 * every multiply sees limbs below ~2^26 and its sums stay far below 2^63.
 * All limbs stay non-negative (fe_sub adds 2p first), so shifts are plain.
 *
 * Constant time: no branch or index depends on the scalar or the point; the
 * ladder swaps with a mask (RFC 7748 §5).
 */
#include <stdint.h>

typedef uint8_t u8;
typedef int64_t i64;
typedef uint64_t u64;
typedef i64 fe[10];

#define EXPORT(name) __attribute__((export_name(#name)))

static const int LIMB_BITS[10] = {26, 25, 26, 25, 26, 25, 26, 25, 26, 25};
static const int LIMB_SHIFT[10] = {0, 26, 51, 77, 102, 128, 153, 179, 204, 230};

/* Propagates carries so each limb fits its width; the top carry wraps as x19. */
static void fe_carry(fe h) {
  for (int i = 0; i < 10; i++) {
    i64 c = h[i] >> LIMB_BITS[i];
    h[i] -= c << LIMB_BITS[i];
    if (i < 9) {
      h[i + 1] += c;
    } else {
      h[0] += 19 * c;
    }
  }
  i64 c = h[0] >> 26;
  h[0] -= c << 26;
  h[1] += c;
}

static void fe_copy(fe h, const fe f) {
  for (int i = 0; i < 10; i++) h[i] = f[i];
}

static void fe_set(fe h, i64 v) {
  h[0] = v;
  for (int i = 1; i < 10; i++) h[i] = 0;
}

static void fe_add(fe h, const fe f, const fe g) {
  for (int i = 0; i < 10; i++) h[i] = f[i] + g[i];
  fe_carry(h);
}

/* 2p in limb form: every limb of p doubled, so f + 2p - g stays non-negative. */
static const i64 TWO_P[10] = {
    0x7ffffda, 0x3fffffe, 0x7fffffe, 0x3fffffe, 0x7fffffe,
    0x3fffffe, 0x7fffffe, 0x3fffffe, 0x7fffffe, 0x3fffffe,
};

static void fe_sub(fe h, const fe f, const fe g) {
  for (int i = 0; i < 10; i++) h[i] = f[i] + TWO_P[i] - g[i];
  fe_carry(h);
}

/* Reduces a 19-term product (t[k] weighs limb k's weight, k >= 10 wraps x19). */
static void fe_reduce_product(fe h, i64 t[19]) {
  for (int k = 0; k < 9; k++) t[k] += 19 * t[k + 10];
  for (int k = 0; k < 10; k++) h[k] = t[k];
  fe_carry(h);
}

/* The loops are fully unrolled: left rolled, t[] stayed in memory and this ran 2.5x slower. */
static void fe_mul(fe h, const fe f, const fe g) {
  i64 t[19] = {0};
#pragma clang loop unroll(full)
  for (int i = 0; i < 10; i++) {
#pragma clang loop unroll(full)
    for (int j = 0; j < 10; j++) {
      i64 p = f[i] * g[j];
      t[i + j] += (i & j & 1) ? 2 * p : p;
    }
  }
  fe_reduce_product(h, t);
}

/* Squaring: each cross product once, doubled (about half the multiplies). */
static void fe_sq(fe h, const fe f) {
  i64 t[19] = {0};
#pragma clang loop unroll(full)
  for (int i = 0; i < 10; i++) {
    i64 d = f[i] * f[i];
    t[2 * i] += (i & 1) ? 2 * d : d;
#pragma clang loop unroll(full)
    for (int j = i + 1; j < 10; j++) {
      i64 p = 2 * f[i] * f[j];
      t[i + j] += (i & j & 1) ? 2 * p : p;
    }
  }
  fe_reduce_product(h, t);
}

static void fe_sq_n(fe h, const fe f, int n) {
  fe_sq(h, f);
  for (int i = 1; i < n; i++) fe_sq(h, h);
}

/* h = f * k for a small constant k (< 2^17). */
static void fe_mul_small(fe h, const fe f, i64 k) {
  for (int i = 0; i < 10; i++) h[i] = f[i] * k;
  fe_carry(h);
}

/* h = z^(p-2) = 1/z (0 for z = 0), by a fixed addition chain: 254 squarings, 11 multiplies. */
static void fe_invert(fe h, const fe z) {
  fe z2, z9, z11, a, b, c;
  fe_sq(z2, z);             /* z^2 */
  fe_sq_n(a, z2, 2);        /* z^8 */
  fe_mul(z9, a, z);         /* z^9 */
  fe_mul(z11, z9, z2);      /* z^11 */
  fe_sq(a, z11);            /* z^22 */
  fe_mul(a, a, z9);         /* z^(2^5 - 1) */
  fe_sq_n(b, a, 5);
  fe_mul(b, b, a);          /* z^(2^10 - 1) */
  fe_sq_n(c, b, 10);
  fe_mul(c, c, b);          /* z^(2^20 - 1) */
  fe_sq_n(h, c, 20);
  fe_mul(h, h, c);          /* z^(2^40 - 1) */
  fe_sq_n(h, h, 10);
  fe_mul(a, h, b);          /* z^(2^50 - 1) */
  fe_sq_n(b, a, 50);
  fe_mul(b, b, a);          /* z^(2^100 - 1) */
  fe_sq_n(c, b, 100);
  fe_mul(c, c, b);          /* z^(2^200 - 1) */
  fe_sq_n(c, c, 50);
  fe_mul(c, c, a);          /* z^(2^250 - 1) */
  fe_sq_n(c, c, 5);         /* z^(2^255 - 2^5) */
  fe_mul(h, c, z11);        /* z^(2^255 - 21) */
}

/* Reads a u-coordinate: 255 bits little-endian, the top bit ignored (RFC 7748 §5). */
static void fe_frombytes(fe h, const u8 s[32]) {
  u8 pad[40] = {0};
  for (int i = 0; i < 32; i++) pad[i] = s[i];
  pad[31] &= 0x7f;
  for (int i = 0; i < 10; i++) {
    int at = LIMB_SHIFT[i];
    u64 w = 0;
    for (int b = 7; b >= 0; b--) w = (w << 8) | pad[(at >> 3) + b];
    h[i] = (i64)((w >> (at & 7)) & ((1ull << LIMB_BITS[i]) - 1));
  }
  /* A non-canonical input (>= p) is reduced by the arithmetic, as the RFC allows. */
}

/* Writes the unique representative in [0, p), little-endian. */
static void fe_tobytes(u8 s[32], const fe f) {
  fe h;
  fe_copy(h, f);
  fe_carry(h);
  /* h < 2p now; q = 1 exactly when h >= p, found by carrying h + 19 past bit 255. */
  i64 q = (h[0] + 19) >> 26;
  for (int i = 1; i < 10; i++) q = (h[i] + q) >> LIMB_BITS[i];
  h[0] += 19 * q;
  for (int i = 0; i < 9; i++) {
    i64 c = h[i] >> LIMB_BITS[i];
    h[i] -= c << LIMB_BITS[i];
    h[i + 1] += c;
  }
  h[9] &= (1 << 25) - 1; /* drops the 2^255 that q's 19 pushed up */
  u64 acc = 0;
  int bits = 0, out = 0;
  for (int i = 0; i < 10; i++) {
    acc |= (u64)h[i] << bits;
    bits += LIMB_BITS[i];
    while (bits >= 8) {
      s[out++] = (u8)acc;
      acc >>= 8;
      bits -= 8;
    }
  }
  s[out] = (u8)acc; /* the last 7 bits: 255 = 31 * 8 + 7 */
}

/* Swaps f and g when bit is 1, in constant time. */
static void fe_cswap(fe f, fe g, i64 bit) {
  i64 mask = -bit;
  for (int i = 0; i < 10; i++) {
    i64 x = (f[i] ^ g[i]) & mask;
    f[i] ^= x;
    g[i] ^= x;
  }
}

/*
 * out = X25519(scalar, point) (RFC 7748 §5: scalar clamped here, Montgomery
 * ladder over all 255 bits). Returns 0, or -1 when the result is all zero (a
 * low-order point, §6.1), in which case out holds the zeros.
 */
EXPORT(x25519)
int x25519(u8 out[32], const u8 scalar[32], const u8 point[32]) {
  u8 k[32];
  for (int i = 0; i < 32; i++) k[i] = scalar[i];
  k[0] &= 248;
  k[31] = (k[31] & 127) | 64;

  fe x1, x2, z2, x3, z3, a, aa, b, bb, e, c, d, da, cb;
  fe_frombytes(x1, point);
  fe_set(x2, 1);
  fe_set(z2, 0);
  fe_copy(x3, x1);
  fe_set(z3, 1);
  i64 swap = 0;
  for (int t = 254; t >= 0; t--) {
    i64 bit = (k[t >> 3] >> (t & 7)) & 1;
    swap ^= bit;
    fe_cswap(x2, x3, swap);
    fe_cswap(z2, z3, swap);
    swap = bit;
    fe_add(a, x2, z2);
    fe_sq(aa, a);
    fe_sub(b, x2, z2);
    fe_sq(bb, b);
    fe_sub(e, aa, bb);
    fe_add(c, x3, z3);
    fe_sub(d, x3, z3);
    fe_mul(da, d, a);
    fe_mul(cb, c, b);
    fe_add(x3, da, cb);
    fe_sq(x3, x3);
    fe_sub(z3, da, cb);
    fe_sq(z3, z3);
    fe_mul(z3, z3, x1);
    fe_mul(x2, aa, bb);
    fe_mul_small(z2, e, 121665);
    fe_add(z2, z2, aa);
    fe_mul(z2, z2, e);
  }
  fe_cswap(x2, x3, swap);
  fe_cswap(z2, z3, swap);
  fe_invert(z2, z2);
  fe_mul(x2, x2, z2);
  fe_tobytes(out, x2);

  for (int i = 0; i < 32; i++) k[i] = 0;
  u8 any = 0;
  for (int i = 0; i < 32; i++) any |= out[i];
  return any == 0 ? -1 : 0;
}
