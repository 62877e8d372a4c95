/**
 * Command-line parsing shared by the subcommands: one error type for bad
 * usage (exit code 2) and a strict flag parser that names the bad flag.
 *
 * @module
 */
import { parseArgs, type ParseArgsConfig } from "node:util";

/** Bad flags or arguments: the CLI prints the message and exits with code 2. */
export class UsageError extends Error {
  /** @param message what was wrong and with which input */
  constructor(message: string) {
    super(message);
    this.name = "UsageError";
  }
}

/** Exit code for bad usage or bad config, as in BSD sysexits' EX_USAGE spirit. */
export const EXIT_USAGE = 2;

type Options = NonNullable<ParseArgsConfig["options"]>;

/** Parses `argv` strictly; unknown or malformed flags become a UsageError. */
export function parseFlags<T extends Options>(
  argv: string[],
  options: T,
  positionals = 0,
) {
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
