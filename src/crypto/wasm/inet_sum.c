/*
 * The Internet checksum's one's-complement sum (RFC 1071) over packet bytes in
 * this module's memory, with SIMD128: the TCP checksums of every segment the
 * data plane splits from a TUN super packet (../../net/gso.ts) or checks before
 * it coalesces (../../net/gro.ts) read the whole payload, which the JavaScript
 * sum did at 1.6 bytes per nanosecond, 8-10% of the data plane's CPU in a bulk
 * transfer (this: 7.6 at 1228 bytes, bench/_checksum.ts). It is here rather than in a module of its own because the packet
 * buffers live in this memory (arena.ts).
 *
 * RFC 1071 §2(B): the sum is independent of byte order up to a swap of its
 * two bytes, so the lanes load little-endian and the folded result is swapped
 * once at the end.
 */
#include <stdint.h>
#include <wasm_simd128.h>

typedef uint8_t u8;
typedef uint32_t u32;
typedef uint64_t u64;

#define EXPORT(name) __attribute__((export_name(#name)))

/*
 * Bytes summed into the 32-bit lanes before they are widened: each 64-byte
 * step adds at most 2 * 0xffff to a lane of each of the four accumulators, so
 * 2^15 steps (2 MiB) cannot overflow one; 1 MiB leaves a factor of two.
 */
#define LANE_RUN (1u << 20)

static inline u64 lanes(v128_t v) {
  return (u64)(u32)wasm_i32x4_extract_lane(v, 0) + (u32)wasm_i32x4_extract_lane(v, 1) +
         (u32)wasm_i32x4_extract_lane(v, 2) + (u32)wasm_i32x4_extract_lane(v, 3);
}

/* The sum of p[0, len) as little-endian 16-bit words, unfolded; an odd last byte is its own word. */
static u64 sum_le(const u8 *p, u32 len) {
  u64 s = 0;
  while (len >= 64) {
    u32 run = len < LANE_RUN ? len & ~63u : LANE_RUN;
    v128_t a0 = wasm_i32x4_splat(0), a1 = a0, a2 = a0, a3 = a0;
    for (const u8 *end = p + run; p < end; p += 64) {
      a0 = wasm_i32x4_add(a0, wasm_u32x4_extadd_pairwise_u16x8(wasm_v128_load(p)));
      a1 = wasm_i32x4_add(a1, wasm_u32x4_extadd_pairwise_u16x8(wasm_v128_load(p + 16)));
      a2 = wasm_i32x4_add(a2, wasm_u32x4_extadd_pairwise_u16x8(wasm_v128_load(p + 32)));
      a3 = wasm_i32x4_add(a3, wasm_u32x4_extadd_pairwise_u16x8(wasm_v128_load(p + 48)));
    }
    s += lanes(a0) + lanes(a1) + lanes(a2) + lanes(a3);
    len -= run;
  }
  for (; len >= 16; p += 16, len -= 16) {
    s += lanes(wasm_u32x4_extadd_pairwise_u16x8(wasm_v128_load(p)));
  }
  for (; len >= 2; p += 2, len -= 2) s += (u32)p[0] | ((u32)p[1] << 8);
  if (len > 0) s += p[0];
  return s;
}

/*
 * The one's-complement sum of p[0, len) as big-endian 16-bit words (an odd
 * last byte padded with zero), folded to 16 bits and not complemented: zero
 * only when every byte is.
 */
EXPORT(inet_sum)
u32 inet_sum(const u8 *p, u32 len) {
  u64 s = sum_le(p, len);
  while (s >> 16) s = (s & 0xffff) + (s >> 16);
  return ((s & 0xff) << 8) | (s >> 8);
}
