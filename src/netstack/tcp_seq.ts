/**
 * TCP sequence-number arithmetic modulo 2^32 (RFC 9293 §3.4): comparisons
 * hold as long as the two numbers are less than 2^31 apart, which the
 * window limits guarantee.
 *
 * The stack holds sequence numbers and timestamps as int32s (the 32 bits of
 * the wire value, read signed): V8 keeps every int32 a small integer, while a
 * uint32 at or above 2^31 — half of all random ISNs, and every timestamp of a
 * host up a few weeks — is a heap number, boxed on each sum and a different
 * kind of field, which sent the hot TCP functions back through the optimising
 * compilers on each new connection. Encoding writes the same bits either way.
 *
 * @module
 */

/** `a + n` modulo 2^32, as an int32. */
export function seqAdd(a: number, n: number): number {
  return (a + n) | 0;
}

/** The signed distance `a - b` modulo 2^32, in [-2^31, 2^31). */
export function seqDiff(a: number, b: number): number {
  return (a - b) | 0;
}

/** Whether `a` comes before `b`. */
export function seqLt(a: number, b: number): boolean {
  return seqDiff(a, b) < 0;
}

/** Whether `a` comes before `b` or is `b`. */
export function seqLe(a: number, b: number): boolean {
  return seqDiff(a, b) <= 0;
}

/** Whether `a` comes after `b`. */
export function seqGt(a: number, b: number): boolean {
  return seqDiff(a, b) > 0;
}

/** Whether `a` comes after `b` or is `b`. */
export function seqGe(a: number, b: number): boolean {
  return seqDiff(a, b) >= 0;
}

/** Whether `lo <= x < hi` in sequence space. */
export function seqInRange(x: number, lo: number, hi: number): boolean {
  return seqLe(lo, x) && seqLt(x, hi);
}

/** The later of two sequence numbers. */
export function seqMax(a: number, b: number): number {
  return seqGt(a, b) ? a : b;
}

/** The earlier of two sequence numbers. */
export function seqMin(a: number, b: number): number {
  return seqLt(a, b) ? a : b;
}
