/**
 * Typed reads of one JSON object's keys that report, rather than throw, each unknown key and
 * each value of the wrong type or out of range, so one pass over a file finds every mistake.
 *
 * @module
 */
import { parseDurationMs } from "../cli/duration.ts";
import { joinPath, type ProblemList } from "./problems.ts";

/** How {@link Fields} matches and reads keys. */
export interface FieldsOptions {
  /**
   * Match key names ignoring case, as Go's encoding/json does (tailscaled's config file);
   * the default is exact names.
   */
  foldCase?: boolean;
  /** Read `null` as an absent key (Go's pointers and opt.Bool); the default calls it a wrong type. */
  nullIsUnset?: boolean;
}

/** A short, quoted rendering of a JSON value for a message. */
export function show(v: unknown): string {
  const s = v === undefined ? "nothing" : JSON.stringify(v);
  return s.length > 40 ? `${s.slice(0, 37)}...` : s;
}

/** Whether `v` is a JSON object (not an array, not null). */
export function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === "object" && v !== null && !Array.isArray(v);
}

/** "authKey" for "auth-key", so a flag's name in a file gets a hint. */
function camel(key: string): string {
  return key.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());
}

/** The keys of one object, read with their types checked; problems go to the list. */
export class Fields {
  readonly #obj: Record<string, unknown>;
  readonly #path: string;
  readonly #out: ProblemList;
  readonly #opts: FieldsOptions;
  /** Known key name → the key as written in the object. */
  readonly #present = new Map<string, string>();

  /**
   * Reads `obj` at `path`, reporting every key not in `known` (with a hint when it differs
   * from a known one only in case or is a flag's kebab-case name).
   */
  constructor(
    obj: Record<string, unknown>,
    path: string,
    out: ProblemList,
    known: readonly string[],
    opts: FieldsOptions = {},
  ) {
    this.#obj = obj;
    this.#path = path;
    this.#out = out;
    this.#opts = opts;
    const byFold = new Map(known.map((k) => [k.toLowerCase(), k]));
    for (const key of Object.keys(obj)) {
      const exact = known.includes(key) ? key : undefined;
      const folded = byFold.get(key.toLowerCase()) ?? byFold.get(camel(key).toLowerCase());
      const match = exact ?? (opts.foldCase ? byFold.get(key.toLowerCase()) : undefined);
      const earlier = match === undefined ? undefined : this.#present.get(match);
      if (earlier !== undefined) {
        out.add(joinPath(path, key), `given twice (also as "${earlier}")`);
      } else if (match !== undefined) {
        this.#present.set(match, key);
      } else if (folded !== undefined) {
        out.add(joinPath(path, key), `unknown key (did you mean "${folded}"?)`);
      } else {
        out.add(joinPath(path, key), "unknown key");
      }
    }
  }

  /** The path of `key` as written in the file (the known name when absent). */
  path(key: string): string {
    return joinPath(this.#path, this.#present.get(key) ?? key);
  }

  /** Whether `key` is present (and not a null that counts as unset). */
  has(key: string): boolean {
    return this.raw(key) !== undefined;
  }

  /** The value of `key` unchecked, or undefined when absent. */
  raw(key: string): unknown {
    const written = this.#present.get(key);
    if (written === undefined) return undefined;
    const v = this.#obj[written];
    return v === null && this.#opts.nullIsUnset ? undefined : v;
  }

  /** Reports a problem at `key`. */
  problem(key: string, message: string): void {
    this.#out.add(this.path(key), message);
  }

  /** Reports a warning at `key`. */
  warn(key: string, message: string): void {
    this.#out.warn(this.path(key), message);
  }

  #typed<T>(key: string, want: string, ok: (v: unknown) => v is T): T | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    if (ok(v)) return v;
    this.problem(key, `want ${want}, got ${show(v)}`);
    return undefined;
  }

  /** A string value (empty allowed unless `nonEmpty`). */
  string(key: string, nonEmpty = false): string | undefined {
    const s = this.#typed(key, "a string", (v): v is string => typeof v === "string");
    if (s === "" && nonEmpty) {
      this.problem(key, "must not be empty");
      return undefined;
    }
    return s;
  }

  /** A boolean value. */
  bool(key: string): boolean | undefined {
    return this.#typed(key, "true or false", (v): v is boolean => typeof v === "boolean");
  }

  /** A whole number from `min` to `max`. */
  integer(key: string, min: number, max: number): number | undefined {
    const want = `a whole number from ${min} to ${max}`;
    return this.#typed(
      key,
      want,
      (v): v is number => typeof v === "number" && Number.isInteger(v) && v >= min && v <= max,
    );
  }

  /** A nested object. */
  object(key: string): Record<string, unknown> | undefined {
    return this.#typed(key, "an object", isObject);
  }

  /**
   * The object at `key` read as fields of its own (same options), or undefined when absent or
   * not an object (reported).
   */
  nested(key: string, known: readonly string[]): Fields | undefined {
    const obj = this.object(key);
    return obj === undefined
      ? undefined
      : new Fields(obj, this.path(key), this.#out, known, this.#opts);
  }

  /** An array. */
  array(key: string): unknown[] | undefined {
    return this.#typed(key, "an array", (v): v is unknown[] => Array.isArray(v));
  }

  /**
   * A Go-style duration string ("2s", "1m30s", "250ms"; a bare number string is seconds) from
   * `minMs` to `maxMs`, in milliseconds.
   */
  durationMs(key: string, minMs: number, maxMs: number): number | undefined {
    const v = this.raw(key);
    if (v === undefined) return undefined;
    const range = `from ${fmtMs(minMs)} to ${fmtMs(maxMs)}`;
    if (typeof v !== "string") {
      this.problem(key, `want a duration string such as "2s" ${range}, got ${show(v)}`);
      return undefined;
    }
    let ms: number;
    try {
      ms = parseDurationMs(v);
    } catch (e) {
      this.problem(key, (e as Error).message);
      return undefined;
    }
    if (ms < minMs || ms > maxMs) {
      this.problem(key, `${show(v)} is out of range: want ${range}`);
      return undefined;
    }
    return ms;
  }
}

/** "50ms", "1s", "1h" for a message about a range. */
function fmtMs(ms: number): string {
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0 && ms >= 60_000) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  return `${ms}ms`;
}
