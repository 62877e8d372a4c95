/**
 * A node:stream `Duplex` over a read/write/close byte stream, so `node:tls`
 * can run TLS over a connection it did not open itself (`tls.connect({
 * socket })`): warren's marked TCP sockets (`bypass_dial.ts`) are raw fds
 * that node:net cannot adopt. Checked in Deno 2.9.6: node:tls completes a
 * TLS 1.3 handshake, ALPN and certificate reads over such a Duplex.
 *
 * @module
 */
import { Duplex } from "node:stream";

/** What the Duplex reads from and writes to (`Deno.Conn` satisfies it). */
export interface RawStream {
  /** Reads into `p`; resolves to the byte count, or null at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes `p` (all of it, or some: the rest is written by the next call). */
  write(p: Uint8Array): Promise<number>;
  /** Closes the stream. */
  close(): void;
}

/** Largest read handed to node:tls at once. */
const READ_SIZE = 64 * 1024;

/**
 * The Duplex view of `stream`; destroying it closes the stream, and the
 * stream's end ends the readable side.
 *
 * @example
 * ```ts ignore
 * import tls from "node:tls";
 * const conn = await Deno.connect({ hostname: "127.0.0.1", port: 443 });
 * const sock = tls.connect({ socket: streamDuplex(conn), servername: "example.com" });
 * ```
 */
export function streamDuplex(stream: RawStream): Duplex {
  let reading = false;
  const duplex: Duplex = new Duplex({
    read() {
      if (reading) return;
      reading = true;
      (async () => {
        try {
          for (;;) {
            const buf = new Uint8Array(READ_SIZE);
            const n = await stream.read(buf);
            if (n === null) {
              duplex.push(null);
              return;
            }
            if (!duplex.push(buf.subarray(0, n))) return;
          }
        } catch (err) {
          duplex.destroy(err as Error);
        } finally {
          reading = false;
        }
      })();
    },
    write(chunk: Uint8Array, _enc: string, cb: (err?: Error | null) => void) {
      writeFully(stream, chunk).then(() => cb(), (err) => cb(err));
    },
    destroy(err: Error | null, cb: (err?: Error | null) => void) {
      try {
        stream.close();
      } catch {
        // already closed
      }
      cb(err);
    },
  });
  return duplex;
}

async function writeFully(stream: RawStream, p: Uint8Array): Promise<void> {
  let off = 0;
  while (off < p.length) off += await stream.write(p.subarray(off));
}
