/**
 * Durations on the command line as derper and Go take them ("10m", "15s", "1m30s",
 * "250ms", "0"), or a plain number of seconds as warren's other flags do.
 *
 * @module
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

/**
 * Parses a duration to milliseconds.
 *
 * @example
 * ```ts
 * import { parseDurationMs } from "./duration.ts";
 * console.assert(parseDurationMs("1m30s") === 90_000 && parseDurationMs("2.5") === 2500);
 * ```
 * @throws {SyntaxError} when text is neither
 */
export function parseDurationMs(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Number(text) * 1000;
  if (!/^(\d+(\.\d+)?(ms|s|m|h))+$/.test(text)) {
    throw new SyntaxError(`"${text}" is not a duration such as 15s, 10m, 1m30s or 250ms`);
  }
  let ms = 0;
  for (const [, n, , unit] of text.matchAll(/(\d+(\.\d+)?)(ms|s|m|h)/g)) {
    ms += Number(n) * UNIT_MS[unit];
  }
  return ms;
}
