/**
 * A seeded byte-string mutator for fuzzing the decoders that read network
 * bytes: AFL-style bit flips, byte replacements, truncation, insertion and
 * deletion, "interesting" integers over length fields, chunk duplication and
 * random tails, all driven by {@linkcode mulberry32} so that a failing case
 * is reproduced by its seed and index alone.
 *
 * @module
 */

import { mulberry32 } from "./prng.ts";

/** Where a length (or count) field sits in a seed, so mutations can aim at it. */
export interface LengthField {
  /** Byte offset of the field. */
  offset: number;
  /** Width in bytes: 1, 2 or 4. */
  size: 1 | 2 | 4;
  /** Byte order; big-endian (network order) when omitted. */
  littleEndian?: boolean;
}

/** Options for {@linkcode fuzzCases}. */
export interface FuzzCaseOptions {
  /** PRNG seed; the same seed gives the same cases. */
  seed: number;
  /** How many mutated cases to make (after the prefixes). */
  count: number;
  /**
   * Also yield every prefix (lengths 0 to n - 1) of each seed no longer than
   * this many bytes, before the mutated cases; default 0 (none).
   */
  prefixesUpTo?: number;
  /** Length fields per seed (same index as `seeds`); others get generic integer mutations. */
  lengthFields?: readonly (readonly LengthField[])[];
  /** Largest input produced; longer results are cut. Default 70,000 bytes. */
  maxLength?: number;
}

/** One generated input. */
export interface FuzzCase {
  /** Position in the sequence (the number to reproduce it with). */
  index: number;
  /** Which seed it came from. */
  seedIndex: number;
  /** What was done to the seed, e.g. `"flip(3.5) tail(12)"`. */
  ops: string;
  /** The input bytes (a fresh array the checker may modify). */
  input: Uint8Array;
}

// Boundary values, and the bytes text formats treat specially (escapes, separators, line ends).
const INTERESTING_8 = [0, 1, 0x7f, 0x80, 0xff, 0x5c, 0x2e, 0x0d, 0x0a, 0x3a, 0x20, 0x25, 0x22];
const MAX_OPS = 3;

/**
 * Yields fuzz inputs: the seeds themselves, their prefixes (if asked), then
 * `count` mutated copies of randomly chosen seeds, each with one to three
 * stacked mutations.
 *
 * @example
 * ```ts
 * import { fuzzCases } from "./mutate.ts";
 * const seeds = [new Uint8Array([6, 0, 0, 0, 0])];
 * let n = 0;
 * for (const _ of fuzzCases(seeds, { seed: 1, count: 100, prefixesUpTo: 64 })) n++;
 * console.assert(n === 1 + 5 + 100);
 * ```
 * @throws {RangeError} if there are no seeds
 */
export function* fuzzCases(
  seeds: readonly Uint8Array[],
  opts: FuzzCaseOptions,
): Generator<FuzzCase> {
  if (seeds.length === 0) throw new RangeError("Cannot fuzz without seeds");
  let index = 0;
  for (let s = 0; s < seeds.length; s++) {
    yield { index: index++, seedIndex: s, ops: "seed", input: seeds[s].slice() };
  }
  const upTo = opts.prefixesUpTo ?? 0;
  for (let s = 0; s < seeds.length; s++) {
    if (seeds[s].length > upTo) continue;
    for (let n = 0; n < seeds[s].length; n++) {
      yield { index: index++, seedIndex: s, ops: `prefix(${n})`, input: seeds[s].slice(0, n) };
    }
  }
  const rand = mulberry32(opts.seed);
  const max = opts.maxLength ?? 70_000;
  for (let i = 0; i < opts.count; i++) {
    const s = Math.floor(rand() * seeds.length);
    const { bytes, ops } = mutate(rand, seeds[s], opts.lengthFields?.[s] ?? [], seeds);
    yield {
      index: index++,
      seedIndex: s,
      ops,
      input: bytes.length > max ? bytes.slice(0, max) : bytes,
    };
  }
}

/**
 * Applies one to three random mutations to a copy of `seed`.
 *
 * @example
 * ```ts
 * import { mutate } from "./mutate.ts";
 * import { mulberry32 } from "./prng.ts";
 * const { bytes, ops } = mutate(mulberry32(5), new Uint8Array(8));
 * console.assert(bytes instanceof Uint8Array && ops.length > 0);
 * ```
 */
export function mutate(
  rand: () => number,
  seed: Uint8Array,
  lengthFields: readonly LengthField[] = [],
  others: readonly Uint8Array[] = [],
): { bytes: Uint8Array; ops: string } {
  let b: Uint8Array = seed.slice();
  const names: string[] = [];
  const n = 1 + Math.floor(rand() * rand() * MAX_OPS);
  for (let k = 0; k < n; k++) {
    const r = mutateOnce(rand, b, lengthFields, others);
    b = r.bytes;
    names.push(r.op);
  }
  return { bytes: b, ops: names.join(" ") };
}

function int(rand: () => number, n: number): number {
  return Math.floor(rand() * n);
}

function mutateOnce(
  rand: () => number,
  b: Uint8Array,
  fields: readonly LengthField[],
  others: readonly Uint8Array[],
): { bytes: Uint8Array; op: string } {
  const kind = int(rand, 10);
  if (b.length === 0 && kind < 7) return tail(rand, b);
  switch (kind) {
    case 0:
    case 1: {
      const flips = 1 + int(rand, 4);
      const at: string[] = [];
      for (let i = 0; i < flips; i++) {
        const p = int(rand, b.length), bit = int(rand, 8);
        b[p] ^= 1 << bit;
        at.push(`${p}.${bit}`);
      }
      return { bytes: b, op: `flip(${at.join(",")})` };
    }
    case 2: {
      const p = int(rand, b.length);
      b[p] = rand() < 0.5 ? INTERESTING_8[int(rand, INTERESTING_8.length)] : int(rand, 256);
      return { bytes: b, op: `set(${p}=${b[p]})` };
    }
    case 3: {
      const len = int(rand, b.length);
      return { bytes: b.slice(0, len), op: `cut(${len})` };
    }
    case 4: {
      const p = int(rand, b.length + 1), k = 1 + int(rand, 8);
      const out = new Uint8Array(b.length + k);
      out.set(b.subarray(0, p));
      for (let i = 0; i < k; i++) out[p + i] = int(rand, 256);
      out.set(b.subarray(p), p + k);
      return { bytes: out, op: `insert(${p},${k})` };
    }
    case 5: {
      const p = int(rand, b.length), k = 1 + int(rand, Math.min(8, b.length - p));
      const out = new Uint8Array(b.length - k);
      out.set(b.subarray(0, p));
      out.set(b.subarray(p + k), p);
      return { bytes: out, op: `delete(${p},${k})` };
    }
    case 6:
    case 7:
      return lengthField(rand, b, fields);
    case 8:
      return tail(rand, b);
    default: {
      // Duplicate a chunk of this seed or another one at a random place.
      const src = others.length > 0 && rand() < 0.3 ? others[int(rand, others.length)] : b;
      if (src.length === 0) return tail(rand, b);
      const from = int(rand, src.length), k = 1 + int(rand, Math.min(32, src.length - from));
      const p = int(rand, b.length + 1);
      const out = new Uint8Array(b.length + k);
      out.set(b.subarray(0, p));
      out.set(src.subarray(from, from + k), p);
      out.set(b.subarray(p), p + k);
      return { bytes: out, op: `splice(${p},${k})` };
    }
  }
}

function tail(rand: () => number, b: Uint8Array): { bytes: Uint8Array; op: string } {
  const k = 1 + int(rand, 64);
  const out = new Uint8Array(b.length + k);
  out.set(b);
  for (let i = b.length; i < out.length; i++) out[i] = int(rand, 256);
  return { bytes: out, op: `tail(${k})` };
}

/** Sets a known length field (or a random 1/2/4-byte spot) to 0, max, its value ± 1 or the rest's length. */
function lengthField(
  rand: () => number,
  b: Uint8Array,
  fields: readonly LengthField[],
): { bytes: Uint8Array; op: string } {
  const usable = fields.filter((f) => f.offset + f.size <= b.length);
  let f: LengthField;
  if (usable.length > 0 && rand() < 0.8) f = usable[int(rand, usable.length)];
  else {
    const size = ([1, 2, 4] as const)[int(rand, 3)];
    if (b.length < size) return tail(rand, b);
    f = { offset: int(rand, b.length - size + 1), size, littleEndian: rand() < 0.3 };
  }
  const max = f.size === 4 ? 0xffffffff : (1 << (8 * f.size)) - 1;
  const cur = readField(b, f);
  const rest = b.length - f.offset - f.size;
  const choices = [0, 1, max, cur - 1, cur + 1, rest, rest - 1, rest + 1, max >>> 1, 0x80];
  const v = Math.min(max, Math.max(0, choices[int(rand, choices.length)]));
  writeField(b, f, v);
  return { bytes: b, op: `len(${f.offset}/${f.size}=${v})` };
}

function readField(b: Uint8Array, f: LengthField): number {
  let v = 0;
  for (let i = 0; i < f.size; i++) {
    const byte = b[f.offset + (f.littleEndian ? f.size - 1 - i : i)];
    v = v * 256 + byte;
  }
  return v;
}

function writeField(b: Uint8Array, f: LengthField, v: number): void {
  for (let i = f.size - 1; i >= 0; i--) {
    b[f.offset + (f.littleEndian ? f.size - 1 - i : i)] = v % 256;
    v = Math.floor(v / 256);
  }
}
