/**
 * Waiting on network promises under a deadline without leaking what they produce: a
 * connection that arrives after its wait was abandoned is closed, not dropped on the
 * floor with its socket still open.
 *
 * @module
 */

/** Something that holds an OS resource until closed. */
export interface Closable {
  /** Releases the resource; may throw if already closed. */
  close(): void;
}

/** Closes `c`, ignoring "already closed". */
export function closeQuietly(c: Closable | null | undefined): void {
  try {
    c?.close();
  } catch {
    // Already closed: nothing left to release.
  }
}

/**
 * `p`, unless `signal` aborts first (then rejects with the signal's reason). A value
 * `p` delivers after the abort, or after the caller has stopped waiting, goes to
 * `dispose` (by default its `close()`), so a late connection is closed.
 *
 * @example
 * ```ts
 * const conn = await raceAbort(Deno.connect({ port: 80 }), AbortSignal.timeout(1500));
 * ```
 */
export function raceAbort<T>(
  p: Promise<T>,
  signal: AbortSignal,
  dispose: (late: T) => void = (late) => closeQuietly(late as Closable),
): Promise<T> {
  if (signal.aborted) {
    p.then(dispose, () => {});
    return Promise.reject(signal.reason);
  }
  return new Promise<T>((resolve, reject) => {
    let settled = false;
    const onAbort = () => {
      settled = true;
      reject(signal.reason);
    };
    signal.addEventListener("abort", onAbort, { once: true });
    p.then(
      (v) => {
        signal.removeEventListener("abort", onAbort);
        if (settled) dispose(v);
        else resolve(v);
      },
      (e) => {
        signal.removeEventListener("abort", onAbort);
        if (!settled) reject(e);
      },
    );
  });
}

/** An abort signal that fires after a time limit (or with its parent), and its timer. */
export interface Deadline extends Disposable {
  /** Aborts when the time is up or the parent aborts. */
  readonly signal: AbortSignal;
  /** Whether this deadline's own timer fired (as opposed to the parent aborting). */
  readonly expired: boolean;
  /** Stops the timer; the signal stays as it is. */
  clear(): void;
}

/**
 * A deadline of `ms` from now, also aborting when `parent` does. Unlike
 * `AbortSignal.timeout`, its timer is cleared by {@link Deadline.clear} (or `using`),
 * so nothing is left pending once the wait is over.
 *
 * @example
 * ```ts
 * using d = deadline(10_000);
 * await fetch("http://127.0.0.1:1/", { signal: d.signal }).catch(() => {});
 * ```
 */
export function deadline(ms: number, parent?: AbortSignal): Deadline {
  const ctl = new AbortController();
  let expired = false;
  const timer = setTimeout(() => {
    expired = true;
    ctl.abort(new DOMException(`timed out after ${ms} ms`, "TimeoutError"));
  }, ms);
  const onParent = () => ctl.abort(parent!.reason);
  if (parent?.aborted) onParent();
  else parent?.addEventListener("abort", onParent, { once: true });
  const clear = () => {
    clearTimeout(timer);
    parent?.removeEventListener("abort", onParent);
  };
  return {
    signal: ctl.signal,
    get expired() {
      return expired;
    },
    clear,
    [Symbol.dispose]: clear,
  };
}

/**
 * Closes `c` if `signal` aborts while the returned guard is held: how a read or a
 * handshake on `c` that has no deadline of its own is cut short.
 *
 * @example
 * ```ts ignore
 * using _ = closeOnAbort(conn, signal);
 * await conn.read(buf); // fails if the signal aborts meanwhile
 * ```
 */
export function closeOnAbort(c: Closable, signal: AbortSignal): Disposable {
  const onAbort = () => closeQuietly(c);
  if (signal.aborted) onAbort();
  else signal.addEventListener("abort", onAbort, { once: true });
  return { [Symbol.dispose]: () => signal.removeEventListener("abort", onAbort) };
}
