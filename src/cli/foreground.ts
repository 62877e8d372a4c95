/**
 * Running a node in the foreground, as `tun up` does: log lines with a
 * timestamp on stderr, and Ctrl+C or SIGTERM asks the node to stop.
 *
 * @module
 */

/** Something that can be stopped and says when it is done. */
export interface Stoppable {
  /** Starts an orderly stop. */
  stop(): Promise<void>;
  /** Settles once stopped and cleaned up. */
  readonly done: Promise<void>;
}

/** A log line on stderr, prefixed with the time. */
export function logLine(line: string): void {
  console.error(`${new Date().toISOString()} ${line}`);
}

/**
 * Waits until `node` is done, stopping it on SIGINT or SIGTERM; logs `goodbye` then.
 *
 * While it runs, a promise rejection nobody handled (a bug in some background task) is
 * logged instead of ending the process: Deno's default would exit at once, leaving the
 * tunnel down and policy rules or resolv.conf changes behind without teardown.
 */
export async function runUntilStopped(node: Stoppable, goodbye: string): Promise<number> {
  const onSignal = () => void node.stop();
  const onUnhandled = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    const r = e.reason;
    logLine(`internal error (please report): ${r instanceof Error ? r.stack ?? r.message : r}`);
  };
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  globalThis.addEventListener("unhandledrejection", onUnhandled);
  try {
    await node.done;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    globalThis.removeEventListener("unhandledrejection", onUnhandled);
  }
  logLine(goodbye);
  return 0;
}
