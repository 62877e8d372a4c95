/**
 * The numbers of the Zstandard format (RFC 8878): magic numbers, size limits, the baselines and
 * extra-bit counts of the sequence codes, and the predefined FSE distributions.
 *
 * @module
 */

/** Magic number of a Zstandard frame (RFC 8878 §3.1.1), read little-endian. */
export const ZSTD_MAGIC = 0xfd2fb528;

/** Skippable frames (§3.1.2) use any magic number from this one to `0x184d2a5f`. */
export const SKIPPABLE_MAGIC = 0x184d2a50;

/** Block_Maximum_Size's upper bound (§3.1.1.2.4): no block holds more, compressed or not. */
export const BLOCK_SIZE_MAX = 128 * 1024;

/**
 * The largest window accepted from a frame that does not state its content size. The RFC
 * recommends decoders support 8 MiB; a frame whose content size is known is bounded by that
 * size (and the caller's output limit) instead.
 */
export const WINDOW_SIZE_MAX = 8 << 20;

/** Largest FSE accuracy log for literal lengths and match lengths (§3.1.1.3.2.1). */
export const LL_ML_MAX_LOG = 9;
/** Largest FSE accuracy log for offsets (§3.1.1.3.2.1). */
export const OF_MAX_LOG = 8;
/** Largest FSE accuracy log for compressed Huffman weights (§4.2.1.2). */
export const WEIGHTS_MAX_LOG = 6;
/** Longest Huffman code, in bits (§4.2.1). */
export const HUFFMAN_MAX_BITS = 11;

/** Highest literal length code (§3.1.1.3.2.1.1). */
export const LL_MAX_CODE = 35;
/** Highest match length code (§3.1.1.3.2.1.1). */
export const ML_MAX_CODE = 52;
/** Highest offset code this decoder takes: the reference decoder's limit (§3.1.1.3.2.1.1). */
export const OF_MAX_CODE = 31;

/** Literal length baseline of each code (§3.1.1.3.2.1.1). */
// deno-fmt-ignore
export const LL_BASE: Uint32Array = Uint32Array.of(
  0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15,
  16, 18, 20, 22, 24, 28, 32, 40, 48, 64, 128, 256, 512, 1024, 2048, 4096,
  8192, 16384, 32768, 65536,
);
/** Extra bits read after each literal length code. */
// deno-fmt-ignore
export const LL_BITS: Uint8Array = Uint8Array.of(
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  1, 1, 1, 1, 2, 2, 3, 3, 4, 6, 7, 8, 9, 10, 11, 12,
  13, 14, 15, 16,
);

/** Match length baseline of each code (§3.1.1.3.2.1.1). */
// deno-fmt-ignore
export const ML_BASE: Uint32Array = Uint32Array.of(
  3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18,
  19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30, 31, 32, 33, 34,
  35, 37, 39, 41, 43, 47, 51, 59, 67, 83, 99, 131, 259, 515, 1027, 2051,
  4099, 8195, 16387, 32771, 65539,
);
/** Extra bits read after each match length code. */
// deno-fmt-ignore
export const ML_BITS: Uint8Array = Uint8Array.of(
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  1, 1, 1, 1, 2, 2, 3, 3, 4, 4, 5, 7, 8, 9, 10, 11,
  12, 13, 14, 15, 16,
);

/** Predefined literal length distribution, accuracy log 6 (§3.1.1.3.2.2). -1: "less than 1". */
// deno-fmt-ignore
export const LL_DEFAULT: Int16Array = Int16Array.of(
  4, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1,
  2, 2, 2, 2, 2, 2, 2, 2, 2, 3, 2, 1, 1, 1, 1, 1,
  -1, -1, -1, -1,
);
/** Accuracy log of {@link LL_DEFAULT}. */
export const LL_DEFAULT_LOG = 6;

/** Predefined match length distribution, accuracy log 6 (§3.1.1.3.2.2). */
// deno-fmt-ignore
export const ML_DEFAULT: Int16Array = Int16Array.of(
  1, 4, 3, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, -1, -1,
  -1, -1, -1, -1, -1,
);
/** Accuracy log of {@link ML_DEFAULT}. */
export const ML_DEFAULT_LOG = 6;

/** Predefined offset code distribution, accuracy log 5 (§3.1.1.3.2.2). */
// deno-fmt-ignore
export const OF_DEFAULT: Int16Array = Int16Array.of(
  1, 1, 1, 1, 1, 1, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1,
  1, 1, 1, 1, 1, 1, 1, 1, -1, -1, -1, -1, -1,
);
/** Accuracy log of {@link OF_DEFAULT}. */
export const OF_DEFAULT_LOG = 5;
