/**
 * Runs a decoder check over {@linkcode fuzzCases} and turns the first failure
 * into an error that names the PRNG seed, the case index, the mutations and
 * the input as hex, so the case can be replayed and pasted into a regression
 * test. Also judges what a decoder threw: only its documented error types,
 * never an engine error such as reading a property of `undefined`.
 *
 * @module
 */

import { toHex } from "../bytes/hex.ts";
import type { FuzzCase } from "./mutate.ts";

/** What a fuzz run did. */
export interface FuzzReport {
  /** Cases run. */
  cases: number;
  /** How many of them the decoder rejected (threw its documented error or returned its "no"). */
  rejected: number;
  /** Wall time, in milliseconds. */
  ms: number;
}

/** Options for {@linkcode runFuzz} and {@linkcode runFuzzAsync}. */
export interface RunFuzzOptions {
  /** A single case slower than this fails as a hang or super-linear work; default 1000 ms. */
  caseBudgetMs?: number;
}

/**
 * What a check returns: true when the decoder rejected the input (counted),
 * anything else when it accepted it. It throws to report a violation.
 */
export type FuzzCheck = (input: Uint8Array, c: FuzzCase) => boolean | void;

/** The async form of {@linkcode FuzzCheck}. */
export type AsyncFuzzCheck = (input: Uint8Array, c: FuzzCase) => Promise<boolean | void>;

/** An error constructor a decoder documents (`SyntaxError`, `RangeError`, a subclass…). */
// deno-lint-ignore no-explicit-any
export type ErrorClass = abstract new (...args: any[]) => Error;

// Messages V8 and the web platform put on errors a decoder did not mean to throw.
const ENGINE_MESSAGE =
  /Cannot read properties of|is not a function|is not iterable|outside the bounds|Invalid typed array length|Invalid array length|Maximum call stack|Invalid URL|Start offset|is not defined/;

/** The PRNG seed and case-count multiplier of a fuzz run (see {@linkcode fuzzSettings}). */
export interface FuzzSettings {
  /** PRNG seed for {@linkcode fuzzCases}. */
  seed: number;
  /** Multiplier for case counts: 1 in CI, more for a long hunt. */
  scale: number;
}

/**
 * The seed and scale of a fuzz run: `defaultSeed` and 1, unless the
 * environment sets `WARREN_FUZZ_SEED` (a number) or `WARREN_FUZZ_SCALE`
 * (a positive number), for hunting with other seeds or more cases.
 * `WARREN_FUZZ_VERBOSE=1` makes every run print its case count and time.
 *
 * @example
 * ```ts
 * import { fuzzSettings } from "./fuzz.ts";
 * const { seed, scale } = fuzzSettings(42);
 * console.assert(Number.isInteger(seed) && scale > 0);
 * ```
 */
export function fuzzSettings(defaultSeed: number): FuzzSettings {
  const read = (name: string): number | undefined => {
    let v: string | undefined;
    try {
      v = Deno.env.get(name);
    } catch {
      return undefined; // no --allow-env: the defaults
    }
    const n = v === undefined || v === "" ? NaN : Number(v);
    return Number.isFinite(n) ? n : undefined;
  };
  const seed = read("WARREN_FUZZ_SEED");
  const scale = read("WARREN_FUZZ_SCALE");
  return {
    seed: seed !== undefined ? seed >>> 0 : defaultSeed,
    scale: scale !== undefined && scale > 0 ? scale : 1,
  };
}

/**
 * Runs `check` on every case; throws on the first failure with everything
 * needed to reproduce it.
 *
 * @example
 * ```ts
 * import { runFuzz } from "./fuzz.ts";
 * import { fuzzCases } from "./mutate.ts";
 * const r = runFuzz("len", 9, fuzzCases([new Uint8Array(4)], { seed: 9, count: 50 }), (b) => {
 *   if (b.length > 1000) throw new Error("too long");
 * });
 * console.assert(r.cases === 51);
 * ```
 * @throws {Error} naming the case when `check` throws or a case overruns its time budget
 */
export function runFuzz(
  name: string,
  seed: number,
  cases: Iterable<FuzzCase>,
  check: FuzzCheck,
  opts: RunFuzzOptions = {},
): FuzzReport {
  const budget = opts.caseBudgetMs ?? 1000;
  const t0 = performance.now();
  let n = 0, rejected = 0;
  for (const c of cases) {
    const original = c.input.slice();
    const start = performance.now();
    try {
      if (check(c.input, c) === true) rejected++;
    } catch (e) {
      throw failure(name, seed, c, original, e);
    }
    const took = performance.now() - start;
    if (took > budget) throw failure(name, seed, c, original, new Error(`took ${took} ms`));
    n++;
  }
  return done(name, { cases: n, rejected, ms: performance.now() - t0 });
}

/**
 * {@linkcode runFuzz} for decoders that read from a stream (async checks).
 *
 * @example
 * ```ts
 * import { runFuzzAsync } from "./fuzz.ts";
 * import { fuzzCases } from "./mutate.ts";
 * const r = await runFuzzAsync("x", 3, fuzzCases([new Uint8Array(2)], { seed: 3, count: 5 }),
 *   async () => {});
 * console.assert(r.cases === 6);
 * ```
 * @throws {Error} naming the case when `check` rejects or a case overruns its time budget
 */
export async function runFuzzAsync(
  name: string,
  seed: number,
  cases: Iterable<FuzzCase>,
  check: AsyncFuzzCheck,
  opts: RunFuzzOptions = {},
): Promise<FuzzReport> {
  const budget = opts.caseBudgetMs ?? 1000;
  const t0 = performance.now();
  let n = 0, rejected = 0;
  for (const c of cases) {
    const original = c.input.slice();
    const start = performance.now();
    try {
      if ((await check(c.input, c)) === true) rejected++;
    } catch (e) {
      throw failure(name, seed, c, original, e);
    }
    const took = performance.now() - start;
    if (took > budget) throw failure(name, seed, c, original, new Error(`took ${took} ms`));
    n++;
  }
  return done(name, { cases: n, rejected, ms: performance.now() - t0 });
}

/**
 * Checks that `e`, caught from a decoder, is one of the error types its
 * documentation names, and not an engine error (a TypeError from reading
 * past an array, an invalid DataView offset…). Returns true so a check can
 * `return documentedError(e, SyntaxError)` to count a rejection.
 *
 * @example
 * ```ts
 * import { documentedError } from "./fuzz.ts";
 * console.assert(documentedError(new SyntaxError("bad frame"), [SyntaxError]));
 * let threw = false;
 * try {
 *   documentedError(new TypeError("Cannot read properties of undefined"), [Error]);
 * } catch {
 *   threw = true;
 * }
 * console.assert(threw);
 * ```
 * @throws {Error} describing the undocumented error, with it as the cause
 */
export function documentedError(e: unknown, allowed: readonly ErrorClass[]): true {
  if (!(e instanceof Error)) {
    throw new Error(`threw a non-Error value ${String(e)}`, { cause: e });
  }
  const engine = (e.constructor === TypeError && !allowed.includes(TypeError)) ||
    (e.constructor === ReferenceError && !allowed.includes(ReferenceError)) ||
    ENGINE_MESSAGE.test(e.message);
  if (engine || !allowed.some((c) => e instanceof c)) {
    throw new Error(
      `threw an undocumented ${e.name}: ${e.message}; documented: ${
        allowed.map((c) => c.name).join(", ")
      }`,
      { cause: e },
    );
  }
  return true;
}

/**
 * Runs a decoder call: `{ value }` when it returns, null when it throws one
 * of its documented errors (see {@linkcode documentedError}), so that a
 * check's invariants run outside any `try` that could swallow them.
 *
 * @example
 * ```ts
 * import { attempt } from "./fuzz.ts";
 * const r = attempt(() => JSON.parse("{"), [SyntaxError]);
 * console.assert(r === null);
 * console.assert(attempt(() => 7, [SyntaxError])?.value === 7);
 * ```
 * @throws {Error} when the call throws anything else
 */
export function attempt<T>(fn: () => T, allowed: readonly ErrorClass[]): { value: T } | null {
  try {
    return { value: fn() };
  } catch (e) {
    documentedError(e, allowed);
    return null;
  }
}

/**
 * {@linkcode attempt} for async decoder calls.
 *
 * @example
 * ```ts
 * import { attemptAsync } from "./fuzz.ts";
 * const r = await attemptAsync(() => Promise.reject(new RangeError("big")), [RangeError]);
 * console.assert(r === null);
 * ```
 * @throws {Error} when the call rejects with anything else
 */
export async function attemptAsync<T>(
  fn: () => Promise<T>,
  allowed: readonly ErrorClass[],
): Promise<{ value: T } | null> {
  try {
    return { value: await fn() };
  } catch (e) {
    documentedError(e, allowed);
    return null;
  }
}

/**
 * Throws `message` unless `ok`: the invariant checks of a fuzz check.
 *
 * @example
 * ```ts
 * import { invariant } from "./fuzz.ts";
 * invariant(1 + 1 === 2, "arithmetic");
 * ```
 * @throws {Error} when `ok` is false
 */
export function invariant(ok: boolean, message: string): asserts ok {
  if (!ok) throw new Error(`invariant broken: ${message}`);
}

/** Prints the report when `WARREN_FUZZ_VERBOSE` is set, for measuring a run. */
function done(name: string, r: FuzzReport): FuzzReport {
  let verbose = false;
  try {
    verbose = (Deno.env.get("WARREN_FUZZ_VERBOSE") ?? "") !== "";
  } catch {
    // no --allow-env
  }
  if (verbose) {
    console.error(`${name}: ${r.cases} cases, ${r.rejected} rejected, ${Math.round(r.ms)} ms`);
  }
  return r;
}

function failure(name: string, seed: number, c: FuzzCase, input: Uint8Array, e: unknown): Error {
  const why = e instanceof Error ? `${e.name}: ${e.message}` : String(e);
  const shown = input.length > 4096
    ? `${toHex(input.subarray(0, 4096))}… (first 4096 bytes)`
    : toHex(input);
  return new Error(
    `${name}: fuzz case ${c.index} of PRNG seed ${seed} failed (seed input ${c.seedIndex}, ${c.ops}): ${why}\n` +
      `input (${input.length} bytes): ${shown}`,
    { cause: e },
  );
}
