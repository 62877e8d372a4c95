/**
 * Command-line parsing shared by the subcommands: one error type for bad
 * usage (exit code 2) and a strict flag parser that names the bad flag.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Bad flags or arguments: the CLI prints the message and exits with code 2. */
export class UsageError extends Error {
  /**
   * Creates the error; the CLI shows `message` to the user as is.
   *
   * @param message what was wrong and with which input
   */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Exit code for bad usage or bad config, as in BSD sysexits' EX_USAGE spirit. */
export const EXIT_USAGE = 2;

/** The flag table a subcommand hands to `parseFlags`: node's `parseArgs` option specs by name. */
export type FlagOptions = NonNullable<ParseArgsConfig["options"]>;

/** What `parseFlags` returns: node's `parseArgs` result for a strict parse of the flags `T`. */
export type ParsedFlags<T extends FlagOptions> = ReturnType<
  typeof parseArgs<{ args: string[]; options: T; strict: true; allowPositionals: boolean }>
>;

/** Parses `argv` strictly; unknown or malformed flags become a UsageError. */
export function parseFlags<T extends FlagOptions>(
  argv: string[],
  options: T,
  positionals = 0,
): ParsedFlags<T> {
  let parsed;
  try {
    parsed = parseArgs({ args: argv, options, strict: true, allowPositionals: positionals > 0 });
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    throw new UsageError(msg.replace(/\. To specify a positional.*$/s, "").replace(/\.$/, ""));
  }
  if (parsed.positionals.length > positionals) {
    throw new UsageError(`Unexpected argument "${parsed.positionals[positionals]}"`);
  }
  return parsed;
}
