/**
 * `Deno.Conn` as a {@linkcode AcceptedConn}. Deno's own `conn.readable`
 * closes the socket at end of stream and `conn.writable.close()` closes it
 * too, which breaks half-close: a client that sends its request and shuts
 * down its write side must still get the response. These streams map end of
 * stream to exactly one direction (`closeWrite()` on close) and leave the
 * teardown to {@linkcode AcceptedConn.close}.
 *
 * @module
 */

import type { AcceptedConn, ProxyAddr } from "./types.ts";

const READ_SIZE = 64 * 1024;

/**
 * Wraps a TCP `Deno.Conn` with half-close-correct streams; `prefix` is
 * bytes already read off it (a protocol sniff), replayed first.
 *
 * @example
 * ```ts ignore
 * import { fromDenoConn } from "./deno_conn.ts";
 * const conn = fromDenoConn(await Deno.connect({ hostname: "127.0.0.1", port: 80 }));
 * conn.close();
 * ```
 */
export function fromDenoConn(conn: Deno.Conn, prefix?: Uint8Array): AcceptedConn {
  let closed = false;
  let pending = prefix !== undefined && prefix.length > 0 ? prefix : null;
  const close = () => {
    if (closed) return;
    closed = true;
    try {
      conn.close();
    } catch {
      // Already closed by Deno (e.g. the resource was dropped); nothing to free.
    }
  };
  const readable = new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      if (pending !== null) {
        ctrl.enqueue(pending);
        pending = null;
        return;
      }
      const buf = new Uint8Array(READ_SIZE);
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch (err) {
        if (closed) ctrl.close();
        else ctrl.error(err);
        return;
      }
      if (n === null) ctrl.close();
      else ctrl.enqueue(buf.subarray(0, n));
    },
  }, { highWaterMark: 0 });
  const writable = new WritableStream<Uint8Array>({
    async write(chunk) {
      let off = 0;
      while (off < chunk.length) off += await conn.write(chunk.subarray(off));
    },
    async close() {
      if (closed) return;
      try {
        await conn.closeWrite();
      } catch {
        // The peer may already be gone; the read side reports that.
      }
    },
    abort() {
      close();
    },
  });
  // The source reads into one buffer, lent until consumed: no allocation per read.
  let buf: Uint8Array | null = null;
  let lent: Uint8Array | null = null;
  const source = {
    async peek(): Promise<Uint8Array | null> {
      if (pending !== null) return pending;
      if (lent !== null && lent.length > 0) return lent;
      buf ??= new Uint8Array(READ_SIZE);
      let n: number | null;
      try {
        n = await conn.read(buf);
      } catch (err) {
        if (closed) return null;
        throw err;
      }
      lent = n === null ? null : buf.subarray(0, n);
      return lent;
    },
    consume(n: number): void {
      if (pending !== null) {
        pending = n >= pending.length ? null : pending.subarray(n);
      } else if (lent !== null) lent = lent.subarray(n);
    },
  };
  const sink = {
    write: (bytes: Uint8Array) => conn.write(bytes),
    closeWrite: () => writable.close(),
  };
  return {
    readable,
    writable,
    source,
    sink,
    close,
    localAddr: netAddr(conn.localAddr),
    remoteAddr: netAddr(conn.remoteAddr),
  };
}

function netAddr(a: Deno.Addr): ProxyAddr {
  return a.transport === "tcp" || a.transport === "udp"
    ? { hostname: a.hostname, port: a.port }
    : { hostname: "", port: 0 };
}
