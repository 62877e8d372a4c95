/**
 * A connection that can deliver its bytes by callback instead of by `read()`, so an idle
 * connection holds no pending read, promise or per-connection buffer.
 *
 * @module
 */

import type { DuplexConn } from "./conn.ts";

/**
 * Where a {@link PushConn} delivers its bytes. An object rather than two callbacks, so that
 * an idle connection's receiver can be one object that holds its state (no closures).
 */
export interface PushSink {
  /** A received chunk; the bytes are only valid during the call. */
  pushed(chunk: Uint8Array): void;
  /** The end of the stream, once, with the error if one ended it. */
  ended(err?: Error): void;
}

/** A {@link DuplexConn} that can switch to push delivery after its handshake. */
export interface PushConn extends DuplexConn {
  /**
   * Switches to push delivery: each received chunk goes to sink.pushed, and the end of the
   * stream to sink.ended once. A close from this side also ends it, reported on a later
   * microtask. After this, read() may no longer be called.
   */
  push(sink: PushSink): void;
  /**
   * Writes as much of p as the socket takes now, without waiting; returns the count (0 when
   * the socket is full or earlier writes are still queued). Throws if the connection broke.
   */
  writeSync(p: Uint8Array): number;
  /** Whether {@link push} was called: the connection then outlives its HTTP handler. */
  readonly pushing: boolean;
  /**
   * Called once when the connection closes, from either side, with the connection (so one
   * function can serve every connection).
   */
  onClose: ((conn: PushConn) => void) | null;
}

/** Whether conn supports push delivery. */
export function isPushConn(conn: DuplexConn): conn is PushConn {
  return typeof (conn as Partial<PushConn>).push === "function";
}
