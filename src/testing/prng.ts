/**
 * A tiny seeded PRNG for tests and benchmarks, so a randomised test's failure
 * reproduces and two benchmark runs measure the same inputs. Not for keys,
 * nonces or anything an attacker may predict: use `crypto.getRandomValues`.
 *
 * @module
 */

/**
 * Mulberry32: a 32-bit-state generator returning floats in [0, 1), the same
 * sequence for the same seed on every run.
 *
 * @example
 * ```ts
 * import { mulberry32 } from "./prng.ts";
 * const rand = mulberry32(7);
 * const byte = Math.floor(rand() * 256);
 * ```
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}
