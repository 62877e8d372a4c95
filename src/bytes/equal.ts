/**
 * Byte-string equality: the ordinary kind, and the constant-time kind for
 * MACs and secrets.
 *
 * @module
 */

/**
 * Whether two byte strings are the same length and hold the same bytes.
 * Stops at the first difference, so it must not compare MACs or secrets
 * (use {@linkcode constantTimeEqual}).
 *
 * @example
 * ```ts
 * import { bytesEqual } from "./equal.ts";
 * bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1, 2)); // true
 * bytesEqual(Uint8Array.of(1, 2), Uint8Array.of(1)); // false
 * ```
 */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/**
 * Whether two byte strings are equal, taking the same time wherever they
 * differ: for comparing a received MAC or key with the expected one, where an
 * early exit would tell an attacker how many leading bytes were right. Only
 * the length is allowed to leak.
 *
 * @example
 * ```ts
 * import { constantTimeEqual } from "./equal.ts";
 * constantTimeEqual(Uint8Array.of(9, 9), Uint8Array.of(9, 9)); // true
 * ```
 */
export function constantTimeEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  let d = 0;
  for (let i = 0; i < a.length; i++) d |= a[i] ^ b[i];
  return d === 0;
}
