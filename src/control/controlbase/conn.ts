/**
 * `NoiseConn`: an established controlbase connection over any byte stream
 * (a Deno TCP/TLS conn after the HTTP upgrade); `noise_duplex.ts` adds a
 * node:stream view for node:http2 servers. Records are decrypted in order; any framing or
 * decrypt error kills the connection (there is no recovery in controlbase).
 *
 * @module
 */
import { FrameDecoder, frameTypeName } from "./frame.ts";
import { MSG_TYPE_ERROR, MSG_TYPE_RECORD } from "./constants.ts";
import { RecordOpener, RecordSealer } from "./record.ts";
import type { ConnKeys } from "./handshake.ts";

/** The byte stream a NoiseConn runs over; `Deno.Conn` and `Deno.TlsConn` satisfy it. */
export interface ByteStream {
  /** Reads into `p`; resolves to the byte count or null at EOF. */
  read(p: Uint8Array): Promise<number | null>;
  /** Writes some of `p`; resolves to the byte count written. */
  write(p: Uint8Array): Promise<number>;
  /** Closes the stream. */
  close(): void;
}

/** Options for {@link NoiseConn}. */
export interface NoiseConnOptions {
  /** Bytes already read from the stream after the handshake (e.g. past HTTP headers). */
  buffered?: Uint8Array;
  /** Protocol version agreed in the handshake. */
  version?: number;
  /** The peer's static key (server: the client's machine key). */
  peerStatic?: Uint8Array;
}

/**
 * An encrypted controlbase connection.
 *
 * @example
 * ```ts ignore
 * const conn = new NoiseConn(tcp, keys);
 * await conn.write(new TextEncoder().encode("hello"));
 * const chunk = await conn.read(); // plaintext or null at EOF
 * ```
 */
export class NoiseConn {
  #stream: ByteStream;
  #sealer: RecordSealer;
  #opener: RecordOpener;
  #decoder = new FrameDecoder();
  #pending: Uint8Array[] = [];
  #readBuf = new Uint8Array(16 * 1024);
  #error: Error | null = null;
  #closed = false;
  #eof = false;
  #writeChain: Promise<void> = Promise.resolve();
  /** Protocol version agreed in the handshake (0 if not given). */
  readonly version: number;
  /** The peer's static key, when known. */
  readonly peerStatic: Uint8Array | null;

  /** Wraps `stream` with the transport keys of a finished handshake. */
  constructor(stream: ByteStream, keys: ConnKeys, opts: NoiseConnOptions = {}) {
    this.#stream = stream;
    this.#sealer = new RecordSealer(keys.send);
    this.#opener = new RecordOpener(keys.recv);
    this.version = opts.version ?? 0;
    this.peerStatic = opts.peerStatic ?? null;
    if (opts.buffered !== undefined && opts.buffered.length > 0) {
      this.#decoder.push(opts.buffered);
    }
  }

  /** The error that killed the connection, if any. */
  get error(): Error | null {
    return this.#error;
  }

  /** Whether the connection is closed (by either side or an error). */
  get closed(): boolean {
    return this.#closed;
  }

  /** Puts plaintext back at the front of the read queue (for a peeked early payload). */
  unread(bytes: Uint8Array): void {
    if (bytes.length > 0) this.#pending.unshift(bytes);
  }

  /**
   * Resolves to the next plaintext chunk, or null at a clean EOF.
   *
   * @throws {Error} if the connection died (bad frame, decrypt failure, error frame)
   */
  async read(): Promise<Uint8Array | null> {
    while (true) {
      const queued = this.#pending.shift();
      if (queued !== undefined) return queued;
      if (this.#error !== null) throw this.#error;
      if (this.#eof || this.#closed) return null;
      let frame;
      try {
        frame = this.#decoder.next();
      } catch (err) {
        throw this.#fail(err as Error);
      }
      if (frame !== null) {
        if (frame.type === MSG_TYPE_ERROR) {
          throw this.#fail(
            new Error(
              `controlbase: peer sent error frame: ${
                JSON.stringify(new TextDecoder().decode(frame.payload))
              }`,
            ),
          );
        }
        if (frame.type !== MSG_TYPE_RECORD) {
          throw this.#fail(
            new SyntaxError(
              `controlbase: received ${frameTypeName(frame.type)} frame, want record`,
            ),
          );
        }
        let pt;
        try {
          pt = this.#opener.open(frame.payload);
        } catch (err) {
          throw this.#fail(err as Error);
        }
        if (pt.length > 0) return pt;
        continue;
      }
      let n: number | null;
      try {
        n = await this.#stream.read(this.#readBuf);
      } catch (err) {
        if (this.#closed) return null;
        throw this.#fail(new Error("controlbase: read failed", { cause: err }));
      }
      if (n === null) {
        if (this.#decoder.buffered > 0) {
          throw this.#fail(
            new Error(
              `controlbase: connection ended inside a frame (${this.#decoder.buffered} bytes)`,
            ),
          );
        }
        this.#eof = true;
        return null;
      }
      this.#decoder.push(this.#readBuf.subarray(0, n));
    }
  }

  /** Reads exactly `n` plaintext bytes (or throws at EOF); leftovers stay queued. */
  async readExact(n: number): Promise<Uint8Array> {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const chunk = await this.read();
      if (chunk === null) {
        throw new Error(`controlbase: connection ended after ${off} of ${n} expected bytes`);
      }
      const take = Math.min(chunk.length, n - off);
      out.set(chunk.subarray(0, take), off);
      off += take;
      if (take < chunk.length) this.unread(chunk.subarray(take));
    }
    return out;
  }

  /** Encrypts and writes `data` (split into ≤4077-byte records); writes are serialized. */
  write(data: Uint8Array): Promise<void> {
    const run = this.#writeChain.then(async () => {
      if (this.#error !== null) throw this.#error;
      if (this.#closed) throw new Error("controlbase: write on a closed connection");
      const frames = this.#sealer.seal(data);
      try {
        await writeAll(this.#stream, frames);
      } catch (err) {
        throw this.#fail(new Error("controlbase: write failed", { cause: err }));
      }
    });
    this.#writeChain = run.catch(() => {});
    return run;
  }

  /** Closes the connection and the underlying stream. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    try {
      this.#stream.close();
    } catch {
      // Already closed by the peer or an error path.
    }
  }

  /** Resolves once every write issued so far has finished (or failed). */
  flushed(): Promise<void> {
    return this.#writeChain;
  }

  #fail(err: Error): Error {
    if (this.#error === null) this.#error = err;
    this.close();
    return this.#error;
  }
}

/** Writes all of `data` to `stream`. */
export async function writeAll(stream: ByteStream, data: Uint8Array): Promise<void> {
  let off = 0;
  while (off < data.length) off += await stream.write(data.subarray(off));
}
