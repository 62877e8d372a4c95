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

/** Waits until `node` is done, stopping it on SIGINT or SIGTERM; logs `goodbye` then. */
export async function runUntilStopped(node: Stoppable, goodbye: string): Promise<number> {
  const onSignal = () => void node.stop();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  try {
    await node.done;
  } finally {
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
  }
  logLine(goodbye);
  return 0;
}
