/**
 * Joining byte strings.
 *
 * @module
 */

/**
 * A new array holding `parts` one after the other (always a copy, even of one part).
 *
 * @example
 * ```ts
 * import { concatBytes } from "./concat.ts";
 * concatBytes([Uint8Array.of(1, 2), Uint8Array.of(3)]); // Uint8Array [1, 2, 3]
 * ```
 */
export function concatBytes(parts: readonly Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}
