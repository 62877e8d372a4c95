/**
 * Running a node in the foreground, as `tun up` does: log lines with a
 * timestamp on stderr, and Ctrl+C or SIGTERM asks the node to stop.
 *
 * @module
 */
import { scheduleStartupRelease } from "./release_startup.ts";

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
 * Until the returned function is called, a promise rejection nobody handled (a bug in some
 * background task) is logged instead of ending the process: Deno's default would exit at
 * once, without the teardown that removes routes, rules and resolv.conf changes, or the
 * Restarting frame a relay owes its clients.
 */
export function logUnhandledRejections(log: (line: string) => void): () => void {
  const onUnhandled = (e: PromiseRejectionEvent) => {
    e.preventDefault();
    const r = e.reason;
    log(`internal error (please report): ${r instanceof Error ? r.stack ?? r.message : r}`);
  };
  globalThis.addEventListener("unhandledrejection", onUnhandled);
  return () => globalThis.removeEventListener("unhandledrejection", onUnhandled);
}

/**
 * Waits until `node` is done, stopping it on SIGINT or SIGTERM; logs `goodbye` then.
 * Unhandled rejections are logged meanwhile (see {@link logUnhandledRejections}).
 */
export async function runUntilStopped(node: Stoppable, goodbye: string): Promise<number> {
  const onSignal = () => void node.stop();
  Deno.addSignalListener("SIGINT", onSignal);
  Deno.addSignalListener("SIGTERM", onSignal);
  const unhook = logUnhandledRejections(logLine);
  const cancelRelease = scheduleStartupRelease(logLine);
  try {
    await node.done;
  } finally {
    cancelRelease();
    Deno.removeSignalListener("SIGINT", onSignal);
    Deno.removeSignalListener("SIGTERM", onSignal);
    unhook();
  }
  logLine(goodbye);
  return 0;
}
