/**
 * The connection bookkeeping both proxy servers share: a cap on connections
 * served at once, a log line per failed connection, and a close() that ends
 * every one of them and refuses later ones.
 *
 * @module
 */
import type { AcceptedConn, ProxyConn } from "./types.ts";

/** Serves connections one handler call each, at most `max` at once. */
export class ConnTracker {
  readonly #active = new Set<ProxyConn>();
  readonly #closed = new AbortController();
  readonly #max: number;
  readonly #what: string;
  readonly #log: (line: string) => void;

  /** `what` names the server in log lines ("socks5"). */
  constructor(max: number, what: string, log?: (line: string) => void) {
    this.#max = max;
    this.#what = what;
    this.#log = log ?? (() => {});
  }

  /** Connections being served now. */
  get size(): number {
    return this.#active.size;
  }

  /** Aborted once {@link close} has run: dials for clients should stop. */
  get signal(): AbortSignal {
    return this.#closed.signal;
  }

  /**
   * Runs `serve` for `conn` and closes it afterwards; over the cap (or after close) runs
   * `refuse` instead. Never rejects: a failure is one log line.
   *
   * @example
   * ```ts ignore
   * await tracker.serve(conn, (c) => this.#serve(c), (c) => writeError(c, 503, "busy"));
   * ```
   */
  async serve(
    conn: AcceptedConn,
    serve: (conn: AcceptedConn) => Promise<void>,
    refuse: (conn: AcceptedConn) => Promise<void> = () => Promise.resolve(),
  ): Promise<void> {
    const who = conn.remoteAddr.hostname;
    if (this.#closed.signal.aborted || this.#active.size >= this.#max) {
      this.#log(`${this.#what}: refusing ${who}: too many connections`);
      await refuse(conn).catch(() => {});
      conn.close();
      return;
    }
    this.#active.add(conn);
    try {
      await serve(conn);
    } catch (err) {
      this.#log(`${this.#what}: ${who}: ${err instanceof Error ? err.message : err}`);
    } finally {
      this.#active.delete(conn);
      conn.close();
    }
  }

  /** Closes every connection; later ones are refused. */
  close(): void {
    this.#closed.abort();
    for (const c of this.#active) c.close();
  }
}
