/**
 * Errors a caller of the control client catches on purpose. Each message is
 * one line a person can act on, starting with `control:`.
 *
 * @module
 */

/** What went wrong, for callers that branch on it. */
export type ControlErrorKind =
  /** The server could not be reached (DNS, TCP, TLS, timeout). */
  | "unreachable"
  /** The server answered something that is not the Tailscale protocol. */
  | "protocol"
  /** The server refused our capability version. */
  | "version"
  /** The pre-auth key was rejected or registration failed. */
  | "auth"
  /** The node key is expired or unknown to the server. */
  | "node-key"
  /** An HTTP status the client does not handle. */
  | "http"
  /** The map stream stalled (watchdog) or ended. */
  | "stream"
  /** The operation was aborted by the caller. */
  | "aborted";

/**
 * A control-plane failure with a one-line message.
 *
 * @example
 * ```ts
 * const e = new ControlError("auth", "control: invalid pre auth key");
 * console.assert(e.kind === "auth");
 * ```
 */
export class ControlError extends Error {
  /** Category. */
  readonly kind: ControlErrorKind;
  /** HTTP status, when the failure was an HTTP reply. */
  readonly status?: number;

  /** Creates an error; `message` should start with `control:`. */
  constructor(
    kind: ControlErrorKind,
    message: string,
    opts: { status?: number; cause?: unknown } = {},
  ) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = "ControlError";
    this.kind = kind;
    this.status = opts.status;
  }
}

/** Makes server text safe for a one-line message: trimmed, single line, at most 200 chars. */
export function oneLine(text: string): string {
  const t = text.replace(/\s+/g, " ").trim();
  return t.length > 200 ? t.slice(0, 200) + "…" : t;
}
