/**
 * The byte-stream interface DERP runs over, and helpers to write to it fully.
 *
 * @module
 */

import type { ByteReader } from "./frame.ts";

/** A full-duplex byte stream: Deno.Conn, Deno.TlsConn, or an adapter. */
export interface DuplexConn extends ByteReader {
  /** Writes some of p; resolves to the count written. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the stream; further reads and writes fail. */
  close(): void;
}

/** Writes every byte of p, looping over partial writes. */
export async function writeAll(conn: DuplexConn, p: Uint8Array): Promise<void> {
  let off = 0;
  while (off < p.length) {
    const n = await conn.write(off === 0 ? p : p.subarray(off));
    if (n <= 0) throw new Error("Write to DERP connection made no progress");
    off += n;
  }
}

/** Closes a connection, ignoring "already closed" errors. */
export function closeQuietly(conn: { close(): void }): void {
  try {
    conn.close();
  } catch {
    // Already closed: nothing to release.
  }
}
