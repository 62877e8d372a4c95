/**
 * What a config file loader collects instead of stopping at the first mistake: every problem
 * with the JSON path it sits at, thrown together as one {@link NetworksConfigError}.
 *
 * @module
 */

/** One thing wrong with a config file, at one place in it. */
export interface NetworksConfigProblem {
  /** The config file as named on the command line. */
  file: string;
  /** Dotted JSON path of the offending key (`networks.corp.tailnet.port`); "" for the file. */
  path: string;
  /** What is wrong, a sentence without trailing period. */
  message: string;
}

/**
 * Formats a problem as `FILE: PATH: reason` (`FILE: reason` when it concerns the whole file).
 *
 * @example
 * ```ts
 * import { formatConfigProblem } from "./problems.ts";
 * formatConfigProblem({ file: "w.json", path: "networks.a.tailnet.port", message: "want a number" });
 * // "w.json: networks.a.tailnet.port: want a number"
 * ```
 */
export function formatConfigProblem(p: NetworksConfigProblem): string {
  return p.path === "" ? `${p.file}: ${p.message}` : `${p.file}: ${p.path}: ${p.message}`;
}

/**
 * A config file that cannot be used: the message holds every problem, one
 * `FILE: PATH: reason` per line, so the CLI prints it as is and exits with code 2.
 */
export class NetworksConfigError extends Error {
  /** Every problem found, in file order, clashes between networks last. */
  readonly problems: NetworksConfigProblem[];

  /** Builds the error from its problems (at least one). */
  constructor(problems: NetworksConfigProblem[]) {
    super(problems.map(formatConfigProblem).join("\n"));
    this.name = "NetworksConfigError";
    this.problems = problems;
  }
}

/** Collects problems for one file; `child` paths join with dots. */
export class ProblemList {
  /** The problems so far. */
  readonly problems: NetworksConfigProblem[] = [];
  /** Warnings (same form): valid input that warren does not act on. */
  readonly warnings: NetworksConfigProblem[] = [];
  readonly #file: string;

  /** Starts an empty list for `file`. */
  constructor(file: string) {
    this.#file = file;
  }

  /** Records a problem at `path`. */
  add(path: string, message: string): void {
    this.problems.push({ file: this.#file, path, message });
  }

  /** Records a warning at `path`. */
  warn(path: string, message: string): void {
    this.warnings.push({ file: this.#file, path, message });
  }

  /** Throws every problem as one error, if there is any. */
  throwIfAny(): void {
    if (this.problems.length > 0) throw new NetworksConfigError(this.problems);
  }
}

/** `parent.key`, or `key` at the top. */
export function joinPath(parent: string, key: string): string {
  return parent === "" ? key : `${parent}.${key}`;
}
