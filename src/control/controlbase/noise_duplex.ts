/**
 * A node:stream `Duplex` over a {@link NoiseConn}, for node:http2 — which the
 * test control servers use. Kept apart from conn.ts so that the client (whose
 * HTTP/2 is warren's own, in ../h2) never loads node:stream.
 *
 * @module
 */
import { Duplex } from "node:stream";
import type { NoiseConn } from "./conn.ts";

/**
 * A Duplex over `conn`, for `http2.connect(…, { createConnection })` or an
 * HTTP/2 server's `"connection"` event. Destroying the Duplex closes the connection.
 *
 * @example
 * ```ts ignore
 * h2server.emit("connection", noiseDuplex(conn));
 * ```
 */
export function noiseDuplex(conn: NoiseConn): Duplex {
  let reading = false;
  const duplex = new Duplex({
    read() {
      if (reading) return;
      reading = true;
      (async () => {
        try {
          while (true) {
            const chunk = await conn.read();
            if (chunk === null) {
              duplex.push(null);
              return;
            }
            if (!duplex.push(chunk)) return;
          }
        } catch (err) {
          duplex.destroy(err as Error);
        } finally {
          reading = false;
        }
      })();
    },
    write(chunk: Uint8Array, _enc: string, cb: (err?: Error | null) => void) {
      conn.write(chunk).then(() => cb(), (err) => cb(err));
    },
    final(cb: (err?: Error | null) => void) {
      conn.flushed().then(() => cb(), () => cb());
    },
    destroy(err: Error | null, cb: (err?: Error | null) => void) {
      conn.close();
      cb(err);
    },
  });
  // node:http2 does not tear its session down on a socket that merely
  // ends, so a peer's EOF must destroy the Duplex once the data is consumed.
  duplex.once("end", () => duplex.destroy());
  return duplex;
}
