/**
 * The two kinds of failure a zstd decode reports.
 *
 * @module
 */

/** A malformed frame: a SyntaxError naming the layer and what was wrong. */
export function corrupt(what: string): SyntaxError {
  return new SyntaxError(`zstd: ${what}`);
}

/** A frame that would need more memory than allowed: a RangeError. */
export function tooLarge(what: string): RangeError {
  return new RangeError(`zstd: ${what}`);
}
