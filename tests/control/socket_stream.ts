/**
 * Adapts a node:stream Duplex (the socket node:http hands over on upgrade) to
 * the read/write/close {@link ByteStream} controlbase runs over.
 *
 * @module
 */

import type { Duplex } from "node:stream";
import type { ByteStream } from "../../src/control/controlbase/conn.ts";

/**
 * A ByteStream over a Duplex. Bytes already read past the HTTP head can be
 * given as `initial`.
 *
 * @example
 * ```ts ignore
 * server.on("upgrade", (req, socket, head) => { const s = new SocketByteStream(socket, head); });
 * ```
 */
export class SocketByteStream implements ByteStream {
  readonly #sock: Duplex;
  readonly #underlying: Duplex | undefined;
  readonly #chunks: Uint8Array[] = [];
  #ended = false;
  #wake: (() => void) | null = null;

  /**
   * Wraps sock; initial bytes are returned first. `underlying` is the
   * connection's original socket, destroyed too. close() ends before it
   * destroys: under Deno, destroy() alone on an upgraded socket that has been
   * written to left the TCP connection open (measured).
   */
  constructor(sock: Duplex, initial?: Uint8Array, underlying?: Duplex) {
    this.#sock = sock;
    this.#underlying = underlying === sock ? undefined : underlying;
    if (initial && initial.length > 0) this.#chunks.push(new Uint8Array(initial));
    sock.on("data", (c: Uint8Array) => {
      this.#chunks.push(new Uint8Array(c));
      this.#notify();
    });
    const end = () => {
      this.#ended = true;
      this.#notify();
    };
    sock.on("end", end);
    sock.on("close", end);
    sock.on("error", end);
  }

  /** Reads up to p.length bytes; null at end of stream. */
  async read(p: Uint8Array): Promise<number | null> {
    while (this.#chunks.length === 0) {
      if (this.#ended) return null;
      await new Promise<void>((r) => (this.#wake = r));
    }
    const c = this.#chunks[0];
    const n = Math.min(p.length, c.length);
    p.set(c.subarray(0, n));
    if (n === c.length) this.#chunks.shift();
    else this.#chunks[0] = c.subarray(n);
    return n;
  }

  /** Writes all of p. */
  write(p: Uint8Array): Promise<number> {
    return new Promise((resolve, reject) => {
      if (this.#sock.destroyed) {
        reject(new Error("Cannot write to a closed socket"));
        return;
      }
      this.#sock.write(p, (err) => (err ? reject(err) : resolve(p.length)));
    });
  }

  /** Closes the socket. */
  close(): void {
    this.#sock.end();
    this.#sock.destroy();
    this.#underlying?.destroy();
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }
}
