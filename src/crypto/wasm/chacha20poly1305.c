/*
 * ChaCha20-Poly1305 AEAD (RFC 8439) for a freestanding wasm32 module with
 * SIMD128, written for warren's data plane. Built by build.sh; the TypeScript
 * side (../aead_wasm.ts) owns the memory layout and passes plain addresses.
 *
 * ChaCha20 runs four blocks at once, one state word of all four blocks per
 * v128 lane group ("vertical" layout), so a 1420-byte WireGuard packet plus
 * the Poly1305 key block is exactly six 4-block steps; a run of one or two
 * blocks (small packets, short tails) takes a two-block "horizontal" path
 * with half the work. Poly1305 is scalar with 32-bit limbs (see poly_block),
 * which leaves the vector units to ChaCha20 when the two are interleaved; V8
 * lowers each i64x2.extmul to two unpacks and a pmuludq, so a SIMD Poly1305
 * would cost about as many vector instructions as this spends multiplies
 * (estimated, not built).
 *
 * The rotations by 16 and 8 bits are byte shuffles with the mask held in a
 * register: i8x16.relaxed_swizzle, which V8 lowers to a bare pshufb. All mask
 * bytes are below 16, where relaxed and plain swizzle agree, so the result is
 * deterministic. Plain i8x16.swizzle costs a paddusb more (for out-of-range
 * indices), and an i8x16.shuffle or a constant mask gets the mask rebuilt in a
 * register at each use, three instructions more; the vector ALU ports are
 * what bound ChaCha20 here. build.sh rewrites clang 14's pre-standard opcode.
 *
 * seal and open interleave the Poly1305 blocks with the ChaCha20 rounds in
 * one loop (see chacha_blocks4), so the scalar multiplier and the vector
 * units work at the same time.
 *
 * The same module carries NaCl's secretbox (XSalsa20-Poly1305, tag first) and
 * HSalsa20 for crypto_box, so DERP and disco handshakes make no JS garbage
 * beyond their results. Salsa20 is scalar: it only sees handshake-sized data.
 *
 * Memory discipline: no heap, no libc, no mutable globals; scratch
 * (keystream, one-time Poly1305 key) lives on the shadow stack in linear
 * memory, which JavaScript can read anyway, so it is not wiped. The
 * long-term key is never copied here.
 */
#include <stdint.h>
#include <wasm_simd128.h>

typedef uint8_t u8;
typedef uint32_t u32;
typedef uint64_t u64;

#define EXPORT(name) __attribute__((export_name(#name)))

static inline u32 load32(const u8 *p) {
  u32 v;
  __builtin_memcpy(&v, p, 4);
  return v;
}

static inline u64 load64(const u8 *p) {
  u64 v;
  __builtin_memcpy(&v, p, 8);
  return v;
}

static inline void store32(u8 *p, u32 v) { __builtin_memcpy(p, &v, 4); }

/* ---------------------------------------------------------------- Poly1305 */

/*
 * Radix 2^32: h = h0 + h1 2^32 + h2 2^64 + h3 2^96 + h4 2^128 with h4 small,
 * r in four 32-bit words. Clamping leaves r1..r3 divisible by 4, so a product
 * landing at 2^128 folds back exactly as 5/4 of itself (2^130 = 5 mod p):
 * s_i = r_i + r_i / 4. That is 20 multiplies a block where 26-bit limbs need
 * 25, and x86's one 64-bit multiplier port is what bounds this code; the
 * carry out of h0 is also left to the next block, which shortens the chain
 * each block waits on.
 */
typedef struct {
  u64 r0, r1, r2, r3, s1, s2, s3;
  u64 h0, h1, h2, h3, h4; /* see poly_block for their bounds */
  u32 s[4];               /* the "s" half of the one-time key */
} poly1305;

static void poly_init(poly1305 *p, const u8 key[32]) {
  p->r0 = load32(key) & 0x0fffffff;
  p->r1 = load32(key + 4) & 0x0ffffffc;
  p->r2 = load32(key + 8) & 0x0ffffffc;
  p->r3 = load32(key + 12) & 0x0ffffffc;
  p->s1 = p->r1 + (p->r1 >> 2);
  p->s2 = p->r2 + (p->r2 >> 2);
  p->s3 = p->r3 + (p->r3 >> 2);
  p->h0 = p->h1 = p->h2 = p->h3 = p->h4 = 0;
  for (int i = 0; i < 4; i++) p->s[i] = load32(key + 16 + 4 * i);
}

/*
 * h = (h + m) * r mod 2^130 - 5 for one 16-byte block at m, h in q[0..4];
 * hibit is 1 (2^128) for a whole block, 0 for a final block already padded
 * with 0x01.
 *
 * Between blocks h1..h3 < 2^32, h4 <= 3 and h0 < 2.6 * 2^32 (its carry is
 * left for the next block). m goes in without carrying, so the products see
 * h0 < 3.6 * 2^32, h1..h3 < 2^33, h4 <= 4; with r_i < 2^28 and s_i < 1.25 *
 * 2^28 every column sum stays below 11.1 * 2^60 < 2^64. d4 < 2^33, and its
 * bits from 2^130 up return to h0 as 5 * (d4 >> 2).
 */
static inline __attribute__((always_inline)) void poly_block(const poly1305 *p, u64 q[5],
                                                             const u8 *m, u64 hibit) {
  const u64 r0 = p->r0, r1 = p->r1, r2 = p->r2, r3 = p->r3;
  const u64 s1 = p->s1, s2 = p->s2, s3 = p->s3;
  const u64 lo = load64(m), hi = load64(m + 8);
  u64 h0 = q[0] + (u32)lo, h1 = q[1] + (lo >> 32);
  u64 h2 = q[2] + (u32)hi, h3 = q[3] + (hi >> 32), h4 = q[4] + hibit;

  u64 d0 = h0 * r0 + h1 * s3 + h2 * s2 + h3 * s1;
  u64 d1 = h0 * r1 + h1 * r0 + h2 * s3 + h3 * s2 + h4 * s1;
  u64 d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s3 + h4 * s2;
  u64 d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s3;
  u64 d4 = h4 * r0;

  d1 += d0 >> 32;
  d2 += d1 >> 32;
  d3 += d2 >> 32;
  d4 += d3 >> 32;
  q[0] = (u32)d0 + (d4 >> 2) * 5;
  q[1] = (u32)d1;
  q[2] = (u32)d2;
  q[3] = (u32)d3;
  q[4] = d4 & 3;
}

/* n blocks at m; see poly_block. */
static void poly_blocks(poly1305 *p, const u8 *m, u32 n, u64 hibit) {
  u64 q[5] = {p->h0, p->h1, p->h2, p->h3, p->h4};
  for (; n > 0; n--, m += 16) poly_block(p, q, m, hibit);
  p->h0 = q[0];
  p->h1 = q[1];
  p->h2 = q[2];
  p->h3 = q[3];
  p->h4 = q[4];
}

/* Absorbs len bytes zero-padded to a multiple of 16 (the AEAD's pad16). */
static void poly_padded(poly1305 *p, const u8 *m, u32 len) {
  u32 whole = len >> 4, rest = len & 15;
  if (whole > 0) poly_blocks(p, m, whole, 1);
  if (rest > 0) {
    u8 b[16] = {0};
    for (u32 i = 0; i < rest; i++) b[i] = m[16 * whole + i];
    poly_blocks(p, b, 1, 1);
  }
}

/* tag = ((h mod p) + s) mod 2^128, little-endian. */
static void poly_finish(poly1305 *p, u8 tag[16]) {
  u64 h0 = p->h0, h1 = p->h1, h2 = p->h2, h3 = p->h3, h4 = p->h4;
  /* Two carry passes, folding 2^130 back in as 5: then h < 2^130 + 2^32 < 2p. */
  for (int pass = 0; pass < 2; pass++) {
    h1 += h0 >> 32;
    h0 &= 0xffffffff;
    h2 += h1 >> 32;
    h1 &= 0xffffffff;
    h3 += h2 >> 32;
    h2 &= 0xffffffff;
    h4 += h3 >> 32;
    h3 &= 0xffffffff;
    if (pass == 0) {
      h0 += (h4 >> 2) * 5;
      h4 &= 3;
    }
  }
  /* g = h + 5 - 2^130; keep g if it did not borrow (h >= p), else h. */
  u64 g0 = h0 + 5;
  u64 g1 = h1 + (g0 >> 32);
  u64 g2 = h2 + (g1 >> 32);
  u64 g3 = h3 + (g2 >> 32);
  u64 g4 = h4 + (g3 >> 32) - 4;
  u64 keep_g = (g4 >> 63) - 1; /* all ones when no borrow */
  h0 = (h0 & ~keep_g) | (g0 & keep_g);
  h1 = (h1 & ~keep_g) | (g1 & keep_g);
  h2 = (h2 & ~keep_g) | (g2 & keep_g);
  h3 = (h3 & ~keep_g) | (g3 & keep_g);

  /* Add s; bits from 2^128 up drop. */
  u64 f = (u32)h0 + (u64)p->s[0];
  store32(tag, (u32)f);
  f = (u32)h1 + (u64)p->s[1] + (f >> 32);
  store32(tag + 4, (u32)f);
  f = (u32)h2 + (u64)p->s[2] + (f >> 32);
  store32(tag + 8, (u32)f);
  f = (u32)h3 + (u64)p->s[3] + (f >> 32);
  store32(tag + 12, (u32)f);
}

/* The AEAD's closing block: le64(adlen) | le64(ctlen). */
static void poly_lengths(poly1305 *p, u32 adlen, u32 len) {
  u8 lens[16] = {0};
  store32(lens, adlen);
  store32(lens + 8, len);
  poly_blocks(p, lens, 1, 1);
}

/* ---------------------------------------------------------------- ChaCha20 */

/* Input block (RFC 8439 §2.3): constants, key, counter, nonce. */
static inline void chacha_setup(u32 st[16], const u8 *key, u32 n0, u32 n1, u32 n2) {
  st[0] = 0x61707865; /* "expa" */
  st[1] = 0x3320646e; /* "nd 3" */
  st[2] = 0x79622d32; /* "2-by" */
  st[3] = 0x6b206574; /* "te k" */
  for (int i = 0; i < 8; i++) st[4 + i] = load32(key + 4 * i);
  st[12] = 0;
  st[13] = n0;
  st[14] = n1;
  st[15] = n2;
}

/* pshufb masks rotating each 32-bit lane left by 16 and by 8 bits. */
static const u8 ROT_MASKS[32] __attribute__((aligned(16))) = {
    2, 3, 0, 1, 6, 7, 4, 5, 10, 11, 8, 9, 14, 15, 12, 13,
    3, 0, 1, 2, 7, 4, 5, 6, 11, 8, 9, 10, 15, 12, 13, 14,
};

/*
 * Loads the rotation masks. The empty asm hides where the pointer comes from,
 * so clang keeps the masks in locals rather than a v128.const at each use.
 */
#define ROT_MASKS_LOAD                          \
  const u8 *rot_masks = ROT_MASKS;              \
  __asm__("" : "+r"(rot_masks));                \
  const v128_t m16 = wasm_v128_load(rot_masks); \
  const v128_t m8 = wasm_v128_load(rot_masks + 16);

#define ROTL(x, n) wasm_v128_or(wasm_i32x4_shl((x), (n)), wasm_u32x4_shr((x), 32 - (n)))

/*
 * pshufb of x by m, written as asm so that build.sh can compile it a second time as another
 * instruction of the same size (CRYPTO_WASM_SWIZZLE_PROBE) and get identical code around it,
 * to find exactly the opcodes it rewrites.
 */
#ifdef CRYPTO_WASM_SWIZZLE_PROBE
#define SWIZZLE_OP "i16x8.q15mulr_sat_s"
#else
#define SWIZZLE_OP "i8x16.relaxed_swizzle"
#endif
static inline v128_t swizzle(v128_t x, v128_t m) {
  v128_t r;
  __asm__("local.get %1\n\tlocal.get %2\n\t" SWIZZLE_OP "\n\tlocal.set %0"
          : "=r"(r)
          : "r"(x), "r"(m));
  return r;
}

#define QR(a, b, c, d)                        \
  a = wasm_i32x4_add(a, b);                   \
  d = swizzle(wasm_v128_xor(d, a), m16);      \
  c = wasm_i32x4_add(c, d);                   \
  b = ROTL(wasm_v128_xor(b, c), 12);          \
  a = wasm_i32x4_add(a, b);                   \
  d = swizzle(wasm_v128_xor(d, a), m8);       \
  c = wasm_i32x4_add(c, d);                        \
  b = ROTL(wasm_v128_xor(b, c), 7);

/*
 * Keystream for blocks ctr..ctr+3 into out[16], in byte order: out[4*b + g]
 * holds words 4g..4g+3 of block b, i.e. bytes 16*(4*b+g) of the 256-byte run.
 *
 * Also absorbs nb <= MAC_PER_STEP Poly1305 blocks at m into q (nb = 0 for
 * plain ChaCha20), between the half rounds: the rounds keep the vector units
 * busy and Poly1305 the scalar multiplier, and interleaved in one loop the
 * out-of-order core runs the two side by side: seal and open of 1312 and 1420
 * bytes took 1/1.17 to 1/1.24 the time of one pass after the other.
 */
#define MAC_PER_STEP 20
static inline __attribute__((always_inline)) void chacha_blocks4(const u32 st[16], u32 ctr,
                                                                  v128_t out[16],
                                                                  const poly1305 *p, u64 q[5],
                                                                  const u8 *m, u32 nb) {
  ROT_MASKS_LOAD
  const v128_t ctrs = wasm_i32x4_add(wasm_i32x4_splat((int32_t)ctr), wasm_i32x4_make(0, 1, 2, 3));
  v128_t x0 = wasm_i32x4_splat(st[0]), x1 = wasm_i32x4_splat(st[1]);
  v128_t x2 = wasm_i32x4_splat(st[2]), x3 = wasm_i32x4_splat(st[3]);
  v128_t x4 = wasm_i32x4_splat(st[4]), x5 = wasm_i32x4_splat(st[5]);
  v128_t x6 = wasm_i32x4_splat(st[6]), x7 = wasm_i32x4_splat(st[7]);
  v128_t x8 = wasm_i32x4_splat(st[8]), x9 = wasm_i32x4_splat(st[9]);
  v128_t x10 = wasm_i32x4_splat(st[10]), x11 = wasm_i32x4_splat(st[11]);
  v128_t x12 = ctrs, x13 = wasm_i32x4_splat(st[13]);
  v128_t x14 = wasm_i32x4_splat(st[14]), x15 = wasm_i32x4_splat(st[15]);

  for (int i = 0; i < 10; i++) {
    QR(x0, x4, x8, x12);
    QR(x1, x5, x9, x13);
    QR(x2, x6, x10, x14);
    QR(x3, x7, x11, x15);
    /* Up to two blocks a double round: this one while more are left than rounds to go. */
    if (nb > 9 - (u32)i) {
      poly_block(p, q, m, 1);
      m += 16;
      nb--;
    }
    QR(x0, x5, x10, x15);
    QR(x1, x6, x11, x12);
    QR(x2, x7, x8, x13);
    QR(x3, x4, x9, x14);
    if (nb > 0) {
      poly_block(p, q, m, 1);
      m += 16;
      nb--;
    }
  }

  x0 = wasm_i32x4_add(x0, wasm_i32x4_splat(st[0]));
  x1 = wasm_i32x4_add(x1, wasm_i32x4_splat(st[1]));
  x2 = wasm_i32x4_add(x2, wasm_i32x4_splat(st[2]));
  x3 = wasm_i32x4_add(x3, wasm_i32x4_splat(st[3]));
  x4 = wasm_i32x4_add(x4, wasm_i32x4_splat(st[4]));
  x5 = wasm_i32x4_add(x5, wasm_i32x4_splat(st[5]));
  x6 = wasm_i32x4_add(x6, wasm_i32x4_splat(st[6]));
  x7 = wasm_i32x4_add(x7, wasm_i32x4_splat(st[7]));
  x8 = wasm_i32x4_add(x8, wasm_i32x4_splat(st[8]));
  x9 = wasm_i32x4_add(x9, wasm_i32x4_splat(st[9]));
  x10 = wasm_i32x4_add(x10, wasm_i32x4_splat(st[10]));
  x11 = wasm_i32x4_add(x11, wasm_i32x4_splat(st[11]));
  x12 = wasm_i32x4_add(x12, ctrs);
  x13 = wasm_i32x4_add(x13, wasm_i32x4_splat(st[13]));
  x14 = wasm_i32x4_add(x14, wasm_i32x4_splat(st[14]));
  x15 = wasm_i32x4_add(x15, wasm_i32x4_splat(st[15]));

  /* Transpose each group of four words from word-major to block-major. */
#define TRANSPOSE(g, a, b, c, d)                                   \
  {                                                                \
    v128_t t0 = wasm_i32x4_shuffle(a, b, 0, 4, 1, 5);              \
    v128_t t1 = wasm_i32x4_shuffle(c, d, 0, 4, 1, 5);              \
    v128_t t2 = wasm_i32x4_shuffle(a, b, 2, 6, 3, 7);              \
    v128_t t3 = wasm_i32x4_shuffle(c, d, 2, 6, 3, 7);              \
    out[0 + g] = wasm_i64x2_shuffle(t0, t1, 0, 2);                 \
    out[4 + g] = wasm_i64x2_shuffle(t0, t1, 1, 3);                 \
    out[8 + g] = wasm_i64x2_shuffle(t2, t3, 0, 2);                 \
    out[12 + g] = wasm_i64x2_shuffle(t2, t3, 1, 3);                \
  }
  TRANSPOSE(0, x0, x1, x2, x3);
  TRANSPOSE(1, x4, x5, x6, x7);
  TRANSPOSE(2, x8, x9, x10, x11);
  TRANSPOSE(3, x12, x13, x14, x15);
#undef TRANSPOSE
}

/*
 * Keystream for blocks ctr and ctr+1 into out[8] (byte order), one block in
 * four vectors, rows of the state ("horizontal"), lanes rotated between the
 * column and diagonal rounds. Per block it does the same work as the
 * vertical layout plus six lane shuffles a double round, but only for the
 * blocks asked for: the vertical one always makes four.
 */
static void chacha_blocks2(const u32 st[16], u32 ctr, v128_t out[8]) {
  ROT_MASKS_LOAD
  const v128_t r0 = wasm_v128_load(st), r1 = wasm_v128_load(st + 4);
  const v128_t r2 = wasm_v128_load(st + 8);
  const v128_t r3a = wasm_i32x4_replace_lane(wasm_v128_load(st + 12), 0, (int32_t)ctr);
  const v128_t r3b = wasm_i32x4_replace_lane(r3a, 0, (int32_t)(ctr + 1));
  v128_t a0 = r0, b0 = r1, c0 = r2, d0 = r3a;
  v128_t a1 = r0, b1 = r1, c1 = r2, d1 = r3b;
  for (int i = 0; i < 10; i++) {
    QR(a0, b0, c0, d0);
    QR(a1, b1, c1, d1);
    /* Line the diagonals up as columns: lane j of b, c, d moves to j-1, j-2, j-3. */
    b0 = wasm_i32x4_shuffle(b0, b0, 1, 2, 3, 0);
    c0 = wasm_i32x4_shuffle(c0, c0, 2, 3, 0, 1);
    d0 = wasm_i32x4_shuffle(d0, d0, 3, 0, 1, 2);
    b1 = wasm_i32x4_shuffle(b1, b1, 1, 2, 3, 0);
    c1 = wasm_i32x4_shuffle(c1, c1, 2, 3, 0, 1);
    d1 = wasm_i32x4_shuffle(d1, d1, 3, 0, 1, 2);
    QR(a0, b0, c0, d0);
    QR(a1, b1, c1, d1);
    b0 = wasm_i32x4_shuffle(b0, b0, 3, 0, 1, 2);
    c0 = wasm_i32x4_shuffle(c0, c0, 2, 3, 0, 1);
    d0 = wasm_i32x4_shuffle(d0, d0, 1, 2, 3, 0);
    b1 = wasm_i32x4_shuffle(b1, b1, 3, 0, 1, 2);
    c1 = wasm_i32x4_shuffle(c1, c1, 2, 3, 0, 1);
    d1 = wasm_i32x4_shuffle(d1, d1, 1, 2, 3, 0);
  }
  out[0] = wasm_i32x4_add(a0, r0);
  out[1] = wasm_i32x4_add(b0, r1);
  out[2] = wasm_i32x4_add(c0, r2);
  out[3] = wasm_i32x4_add(d0, r3a);
  out[4] = wasm_i32x4_add(a1, r0);
  out[5] = wasm_i32x4_add(b1, r1);
  out[6] = wasm_i32x4_add(c1, r2);
  out[7] = wasm_i32x4_add(d1, r3b);
}

/* dst[0, len) = src[0, len) ^ ks[0, len); src may equal dst. */
static inline void xor_bytes(const u8 *ks, const u8 *src, u8 *dst, u32 len) {
  u32 i = 0;
  for (; i + 16 <= len; i += 16) {
    wasm_v128_store(dst + i, wasm_v128_xor(wasm_v128_load(src + i), wasm_v128_load(ks + i)));
  }
  for (; i < len; i++) dst[i] = src[i] ^ ks[i];
}

/* XORs the keystream starting at block `ctr` over len bytes; src may equal dst. */
static void chacha_xor(const u32 st[16], u32 ctr, const u8 *src, u8 *dst, u32 len) {
  v128_t ks[16];
  while (len >= 256) {
    chacha_blocks4(st, ctr, ks, 0, 0, 0, 0);
    for (int i = 0; i < 16; i++) {
      wasm_v128_store(dst + 16 * i, wasm_v128_xor(wasm_v128_load(src + 16 * i), ks[i]));
    }
    ctr += 4;
    src += 256;
    dst += 256;
    len -= 256;
  }
  if (len > 128) {
    chacha_blocks4(st, ctr, ks, 0, 0, 0, 0);
    xor_bytes((const u8 *)ks, src, dst, len);
  } else if (len > 0) {
    chacha_blocks2(st, ctr, ks);
    xor_bytes((const u8 *)ks, src, dst, len);
  }
}

/* ----------------------------------------------------------------- Exports */

/*
 * Sets up the state and the one-time Poly1305 key from block 0, absorbs the
 * AD, and leaves in ks the keystream of the first bytes, counting from block
 * 1: 64 bytes when len <= 64 (one two-block run), else 192 (the rest of a
 * 4-block step). Returns how many of the message's bytes that covers.
 */
static u32 aead_start(u32 st[16], v128_t ks[16], poly1305 *p, const u8 *key, u32 n0, u32 n1,
                      u32 n2, const u8 *ad, u32 adlen, u32 len) {
  chacha_setup(st, key, n0, n1, n2);
  if (len <= 64) {
    chacha_blocks2(st, 0, ks);
  } else {
    chacha_blocks4(st, 0, ks, 0, 0, 0, 0);
  }
  poly_init(p, (const u8 *)ks);
  poly_padded(p, ad, adlen);
  return len < 192 ? len : 192;
}

/* Absorbs the rest of the ciphertext, ct[0, len), and the lengths; writes the tag. */
static void aead_finish(poly1305 *p, const u64 q[5], const u8 *ct, u32 len, u32 adlen,
                        u32 ctlen, u8 tag[16]) {
  p->h0 = q[0];
  p->h1 = q[1];
  p->h2 = q[2];
  p->h3 = q[3];
  p->h4 = q[4];
  poly_padded(p, ct, len);
  poly_lengths(p, adlen, ctlen);
  poly_finish(p, tag);
}

/*
 * Seals src[0, len) into dst: ciphertext at dst[0, len), tag at dst[len, len+16).
 * src == dst encrypts in place; otherwise the ranges must not overlap.
 * The nonce is three little-endian words (bytes 0-3, 4-7, 8-11).
 *
 * One pass: while each 4-block step makes keystream it MACs the ciphertext
 * the steps before it wrote; what the last step wrote is MACed after.
 */
EXPORT(aead_seal)
void aead_seal(const u8 *key, u32 n0, u32 n1, u32 n2, const u8 *ad, u32 adlen, const u8 *src,
               u32 len, u8 *dst) {
  u32 st[16];
  v128_t ks[16];
  poly1305 p;
  u32 done = aead_start(st, ks, &p, key, n0, n1, n2, ad, adlen, len);
  xor_bytes((const u8 *)ks + 64, src, dst, done);
  u32 macd = 0;
  u64 q[5] = {p.h0, p.h1, p.h2, p.h3, p.h4};
  for (u32 ctr = 4; done < len; ctr += 4) {
    u32 n = len - done < 256 ? len - done : 256;
    if (n > 128) {
      u32 ready = (done - macd) >> 4;
      u32 nb = ready < MAC_PER_STEP ? ready : MAC_PER_STEP;
      chacha_blocks4(st, ctr, ks, &p, q, dst + macd, nb);
      macd += 16 * nb;
    } else {
      chacha_blocks2(st, ctr, ks);
    }
    xor_bytes((const u8 *)ks, src + done, dst + done, n);
    done += n;
  }
  aead_finish(&p, q, dst + macd, len - macd, adlen, len, dst + len);
}

/*
 * Longest message aead_open handles in one pass, keeping its keystream on the
 * stack until the tag checks out (the 64 KiB shadow stack holds it easily);
 * longer ones are MACed first and decrypted after.
 */
#define OPEN_ONE_PASS 4096

/*
 * Opens src[0, len) (ciphertext) with its tag at src[len, len+16) into
 * dst[0, len). Returns 0, or -1 on a tag mismatch, in which case dst is not
 * written. src == dst decrypts in place; otherwise they must not overlap.
 */
EXPORT(aead_open)
int aead_open(const u8 *key, u32 n0, u32 n1, u32 n2, const u8 *ad, u32 adlen, const u8 *src,
              u32 len, u8 *dst) {
  u32 st[16];
  poly1305 p;
  u8 tag[16];
  /* Keystream from block 0 (the Poly1305 key) on, up to len rounded up to a step. */
  v128_t ks[(64 + OPEN_ONE_PASS + 256) / 16];
  u32 head = aead_start(st, ks, &p, key, n0, n1, n2, ad, adlen, len);
  const u8 *k = (const u8 *)ks + 64;
  u32 macd = 0;
  u64 q[5] = {p.h0, p.h1, p.h2, p.h3, p.h4};
  if (len <= OPEN_ONE_PASS) {
    for (u32 done = head, ctr = 4; done < len; done += 256, ctr += 4) {
      v128_t *out = ks + (64 + done) / 16;
      if (len - done > 128) {
        u32 ready = (len - macd) >> 4;
        u32 nb = ready < MAC_PER_STEP ? ready : MAC_PER_STEP;
        chacha_blocks4(st, ctr, out, &p, q, src + macd, nb);
        macd += 16 * nb;
      } else {
        chacha_blocks2(st, ctr, out);
      }
    }
  }
  aead_finish(&p, q, src + macd, len - macd, adlen, len, tag);
  /* Constant-time compare: no early exit on the first differing byte. */
  u32 diff = 0;
  for (int i = 0; i < 16; i += 4) diff |= load32(tag + i) ^ load32(src + len + i);
  if (diff != 0) return -1;
  if (len <= OPEN_ONE_PASS) {
    xor_bytes(k, src, dst, len);
  } else {
    xor_bytes(k, src, dst, head);
    chacha_xor(st, 4, src + head, dst + head, len - head);
  }
  return 0;
}

/* Raw ChaCha20 (RFC 8439 §2.4) from block `counter`, for test vectors. */
EXPORT(chacha20_xor)
void chacha20_xor(const u8 *key, u32 counter, u32 n0, u32 n1, u32 n2, const u8 *src, u32 len,
                  u8 *dst) {
  u32 st[16];
  chacha_setup(st, key, n0, n1, n2);
  chacha_xor(st, counter, src, dst, len);
}

/* Plain Poly1305 (RFC 8439 §2.5): the last partial block is padded with 0x01. */
static void poly_mac(const u8 *key, const u8 *msg, u32 len, u8 *tag) {
  poly1305 p;
  poly_init(&p, key);
  u32 whole = len >> 4, rest = len & 15;
  if (whole > 0) poly_blocks(&p, msg, whole, 1);
  if (rest > 0) {
    u8 b[16] = {0};
    for (u32 i = 0; i < rest; i++) b[i] = msg[16 * whole + i];
    b[rest] = 1;
    poly_blocks(&p, b, 1, 0);
  }
  poly_finish(&p, tag);
}

/* Raw Poly1305 (RFC 8439 §2.5) of msg[0, len) under a 32-byte one-time key. */
EXPORT(poly1305_mac)
void poly1305_mac(const u8 *key, const u8 *msg, u32 len, u8 *tag) { poly_mac(key, msg, len, tag); }


/* ----------------------------------------------------------------- Salsa20 */

#define ROTL32(x, n) (((x) << (n)) | ((x) >> (32 - (n))))

/* The 20 Salsa20 rounds (10 column + row double rounds) over x, in place. */
static inline void salsa_rounds(u32 x[16]) {
  for (int i = 0; i < 10; i++) {
    x[4] ^= ROTL32(x[0] + x[12], 7);
    x[8] ^= ROTL32(x[4] + x[0], 9);
    x[12] ^= ROTL32(x[8] + x[4], 13);
    x[0] ^= ROTL32(x[12] + x[8], 18);
    x[9] ^= ROTL32(x[5] + x[1], 7);
    x[13] ^= ROTL32(x[9] + x[5], 9);
    x[1] ^= ROTL32(x[13] + x[9], 13);
    x[5] ^= ROTL32(x[1] + x[13], 18);
    x[14] ^= ROTL32(x[10] + x[6], 7);
    x[2] ^= ROTL32(x[14] + x[10], 9);
    x[6] ^= ROTL32(x[2] + x[14], 13);
    x[10] ^= ROTL32(x[6] + x[2], 18);
    x[3] ^= ROTL32(x[15] + x[11], 7);
    x[7] ^= ROTL32(x[3] + x[15], 9);
    x[11] ^= ROTL32(x[7] + x[3], 13);
    x[15] ^= ROTL32(x[11] + x[7], 18);

    x[1] ^= ROTL32(x[0] + x[3], 7);
    x[2] ^= ROTL32(x[1] + x[0], 9);
    x[3] ^= ROTL32(x[2] + x[1], 13);
    x[0] ^= ROTL32(x[3] + x[2], 18);
    x[6] ^= ROTL32(x[5] + x[4], 7);
    x[7] ^= ROTL32(x[6] + x[5], 9);
    x[4] ^= ROTL32(x[7] + x[6], 13);
    x[5] ^= ROTL32(x[4] + x[7], 18);
    x[11] ^= ROTL32(x[10] + x[9], 7);
    x[8] ^= ROTL32(x[11] + x[10], 9);
    x[9] ^= ROTL32(x[8] + x[11], 13);
    x[10] ^= ROTL32(x[9] + x[8], 18);
    x[12] ^= ROTL32(x[15] + x[14], 7);
    x[13] ^= ROTL32(x[12] + x[15], 9);
    x[14] ^= ROTL32(x[13] + x[12], 13);
    x[15] ^= ROTL32(x[14] + x[13], 18);
  }
}

/* Input block: constants on the diagonal, key, then 16 bytes of nonce/counter in words 6-9. */
static void salsa_setup(u32 st[16], const u8 key[32], const u8 in[16]) {
  st[0] = 0x61707865; /* "expa" */
  st[5] = 0x3320646e; /* "nd 3" */
  st[10] = 0x79622d32; /* "2-by" */
  st[15] = 0x6b206574; /* "te k" */
  for (int i = 0; i < 4; i++) {
    st[1 + i] = load32(key + 4 * i);
    st[11 + i] = load32(key + 16 + 4 * i);
    st[6 + i] = load32(in + 4 * i);
  }
}

/* HSalsa20: rounds without the feed-forward; words 0, 5, 10, 15, 6-9 form the subkey. */
static void hsalsa(const u8 key[32], const u8 nonce[16], u8 out[32]) {
  u32 x[16];
  salsa_setup(x, key, nonce);
  salsa_rounds(x);
  store32(out, x[0]);
  store32(out + 4, x[5]);
  store32(out + 8, x[10]);
  store32(out + 12, x[15]);
  for (int i = 0; i < 4; i++) store32(out + 16 + 4 * i, x[6 + i]);
}

/* One 64-byte Salsa20 keystream block for the state's words 8-9 (the block counter). */
static void salsa_block(const u32 st[16], u8 out[64]) {
  u32 x[16];
  for (int i = 0; i < 16; i++) x[i] = st[i];
  salsa_rounds(x);
  for (int i = 0; i < 16; i++) store32(out + 4 * i, x[i] + st[i]);
}

/*
 * XSalsa20 state for a 24-byte nonce: subkey HSalsa20(key, nonce[0, 16)),
 * nonce[16, 24) in words 6-7, block counter 0 in words 8-9. Block 0's
 * keystream goes to block0 (secretbox takes its first 32 bytes as the
 * Poly1305 key and encrypts with the rest).
 */
static void xsalsa_start(u32 st[16], const u8 key[32], const u8 nonce[24], u8 block0[64]) {
  u8 sub[32], in[16] = {0};
  hsalsa(key, nonce, sub);
  for (int i = 0; i < 8; i++) in[i] = nonce[16 + i];
  salsa_setup(st, sub, in);
  salsa_block(st, block0);
}

/* XORs keystream from block 1 onwards over src[0, len) into dst; src may equal dst. */
static void xsalsa_xor_from1(u32 st[16], const u8 *src, u8 *dst, u32 len) {
  u8 ks[64];
  u64 ctr = 1;
  while (len > 0) {
    st[8] = (u32)ctr;
    st[9] = (u32)(ctr >> 32);
    salsa_block(st, ks);
    u32 n = len < 64 ? len : 64;
    xor_bytes(ks, src, dst, n);
    src += n;
    dst += n;
    len -= n;
    ctr++;
  }
}

/* Encrypts or decrypts len bytes with the secretbox keystream (block 0 from byte 32). */
static void secretbox_xor(u32 st[16], const u8 block0[64], const u8 *src, u8 *dst, u32 len) {
  u32 head = len < 32 ? len : 32;
  xor_bytes(block0 + 32, src, dst, head);
  if (len > head) xsalsa_xor_from1(st, src + head, dst + head, len - head);
}

/* HSalsa20 (crypto_core_hsalsa20) of a 32-byte key and 16-byte input into out[0, 32). */
EXPORT(hsalsa20)
void hsalsa20(const u8 *key, const u8 *nonce16, u8 *out) { hsalsa(key, nonce16, out); }

/*
 * NaCl secretbox, crypto_box_easy layout: writes the Poly1305 tag to
 * out[0, 16) and the XSalsa20 ciphertext of msg[0, len) to out[16, 16+len).
 * msg == out + 16 encrypts in place; otherwise the ranges must not overlap.
 */
EXPORT(secretbox_seal)
void secretbox_seal(const u8 *key, const u8 *nonce24, const u8 *msg, u32 len, u8 *out) {
  u32 st[16];
  u8 block0[64];
  xsalsa_start(st, key, nonce24, block0);
  secretbox_xor(st, block0, msg, out + 16, len);
  poly_mac(block0, out + 16, len, out);
}

/*
 * Opens box[0, len) (tag, then ciphertext; len >= 16) into out[0, len-16).
 * Returns 0, or -1 if len < 16 or the tag does not match, in which case out
 * is not written. out == box + 16 decrypts in place; otherwise no overlap.
 */
EXPORT(secretbox_open)
int secretbox_open(const u8 *key, const u8 *nonce24, const u8 *box, u32 len, u8 *out) {
  u32 st[16];
  u8 block0[64], tag[16];
  if (len < 16) return -1;
  xsalsa_start(st, key, nonce24, block0);
  poly_mac(block0, box + 16, len - 16, tag);
  /* Constant-time compare: no early exit on the first differing byte. */
  u32 diff = 0;
  for (int i = 0; i < 16; i += 4) diff |= load32(tag + i) ^ load32(box + i);
  if (diff != 0) return -1;
  secretbox_xor(st, block0, box + 16, out, len - 16);
  return 0;
}
