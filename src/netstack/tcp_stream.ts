/**
 * One netstack TCP connection as an application sees it, shaped like the
 * proxies' `ProxyConn` (and `Deno.Conn`'s streams): a readable that pulls
 * from the connection's receive buffer only when its consumer reads (so a
 * slow reader closes the TCP window instead of growing memory), a writable
 * whose writes resolve as the send buffer takes the bytes, half-close by
 * closing the writable, and `close()` for the whole connection.
 *
 * @module
 */

import type { TcpConn, TcpEvent } from "./tcp_conn.ts";

/** Largest chunk one read of the readable yields. */
const READ_CHUNK = 256 * 1024;

/** A host and port, as `Deno.NetAddr` spells them. */
export interface StreamAddr {
  /** An IP literal. */
  hostname: string;
  /** The port. */
  port: number;
}

/**
 * A connection's streams. Made by the TCP stack, which feeds it the
 * connection's events; `kick` asks the stack to send what a read, write or
 * close made due.
 */
export class TcpStream {
  /** Bytes from the peer; closes at the peer's FIN, errors on a reset. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer; closing it sends our FIN after what is buffered. */
  readonly writable: WritableStream<Uint8Array>;
  /**
   * The received bytes lent in place (the proxies' `ByteSource`), instead of
   * `readable`: `peek()` resolves to a view of the receive buffer, null at
   * the peer's FIN; `consume(n)` marks bytes read and reopens the window.
   */
  readonly source: {
    peek(): Promise<Uint8Array | null>;
    consume(n: number): void;
  } = {
    peek: () => this.#peek(),
    consume: (n) => {
      this.#conn.consume(n);
      this.#kick();
    },
  };
  /** Sending without a stream (the proxies' `ByteSink`), instead of `writable`. */
  readonly sink: {
    write(bytes: Uint8Array): Promise<number>;
    closeWrite(): Promise<void>;
  } = {
    write: async (bytes) => {
      await this.#write(bytes);
      return bytes.length;
    },
    closeWrite: () => Promise.resolve(this.#closeWrite()),
  };
  /** Our address and port. */
  readonly localAddr: StreamAddr;
  /** The peer's address and port. */
  readonly remoteAddr: StreamAddr;
  readonly #conn: TcpConn;
  readonly #kick: () => void;
  #readWake: (() => void) | null = null;
  #writeWake: (() => void) | null = null;
  #connect: { resolve: () => void; reject: (e: Error) => void } | null = null;
  #isConnected = false;
  #failure: Error | null = null;
  #writeClosed = false;
  #readCancelled = false;
  #closed = false;

  /** Wraps `conn`; see the class doc. */
  constructor(conn: TcpConn, kick: () => void, local: StreamAddr, remote: StreamAddr) {
    this.#conn = conn;
    this.#kick = kick;
    this.localAddr = local;
    this.remoteAddr = remote;
    this.#isConnected = conn.state !== "SYN_SENT" && conn.state !== "SYN_RECEIVED";
    this.readable = new ReadableStream<Uint8Array>({
      pull: (c) => this.#pull(c),
      cancel: () => {
        // No one reads any more: drop what arrives, as shutdown(SHUT_RD) does.
        this.#readCancelled = true;
        this.#discard();
      },
    }, { highWaterMark: 0 });
    this.writable = new WritableStream<Uint8Array>({
      write: (chunk) => this.#write(chunk),
      close: () => this.#closeWrite(),
      abort: () => this.close(),
    });
  }

  /** The connection state machine (for status and tests). */
  get conn(): TcpConn {
    return this.#conn;
  }

  /** Resolves once the handshake completes; rejects (with `cause` the kind) if it fails. */
  connected(signal?: AbortSignal): Promise<this> {
    if (this.#isConnected) return Promise.resolve(this);
    if (this.#failure) return Promise.reject(this.#failure);
    return new Promise<this>((resolve, reject) => {
      const onAbort = () => {
        this.#fail(new Error("connect aborted", { cause: "timeout" }));
        this.#conn.abort();
        this.#kick();
      };
      this.#connect = {
        resolve: () => {
          signal?.removeEventListener("abort", onAbort);
          resolve(this);
        },
        reject: (e) => {
          signal?.removeEventListener("abort", onAbort);
          reject(e);
        },
      };
      if (signal?.aborted) return onAbort();
      signal?.addEventListener("abort", onAbort, { once: true });
    });
  }

  /** Takes the connection's events (the stack calls this after it ran the connection). */
  onEvents(events: readonly TcpEvent[]): void {
    for (const e of events) {
      switch (e.type) {
        case "connected":
          this.#isConnected = true;
          this.#connect?.resolve();
          this.#connect = null;
          break;
        case "readable":
        case "eof":
          if (this.#readCancelled || this.#closed) this.#discard();
          break;
        case "reset":
          // Before the handshake completes, the "closed" event says refused.
          if (this.#isConnected) {
            this.#fail(new Error("connection reset by peer", { cause: "reset" }));
          }
          break;
        case "closed":
          if (e.reason !== "done") {
            const kind = e.reason === "refused"
              ? "refused"
              : e.reason === "timeout"
              ? "timeout"
              : e.reason;
            const text = e.reason === "refused"
              ? "connection refused"
              : e.reason === "timeout"
              ? "connection timed out"
              : `connection ${e.reason}`;
            this.#fail(new Error(text, { cause: kind }));
          }
          break;
      }
    }
    this.#wake();
  }

  /** Closes both directions: our FIN after what is buffered, or a RST if unread data waits. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const c = this.#conn;
    if (c.state !== "CLOSED") {
      // As a kernel socket closed with unread data: reset rather than pretend it was read.
      if (!this.#isConnected || c.readableBytes > 0) c.abort();
      else if (!this.#writeClosed) c.close();
    }
    this.#writeClosed = true;
    this.#wake();
    this.#kick();
  }

  #fail(e: Error): void {
    this.#failure ??= e;
    this.#connect?.reject(this.#failure);
    this.#connect = null;
  }

  #wake(): void {
    const r = this.#readWake, w = this.#writeWake;
    this.#readWake = this.#writeWake = null;
    r?.();
    w?.();
  }

  #discard(): void {
    const c = this.#conn;
    if (c.readableBytes > 0 && this.#closed && !this.#readCancelled) {
      // Data for an application that closed: reset, as the kernel would.
      c.abort();
      this.#kick();
      return;
    }
    while (c.read(READ_CHUNK).length > 0) { /* dropped */ }
    this.#kick();
  }

  async #pull(ctl: ReadableStreamDefaultController<Uint8Array>): Promise<void> {
    const c = this.#conn;
    for (;;) {
      if (this.#closed) return ctl.close();
      const b = c.read(READ_CHUNK);
      if (b.length > 0) {
        ctl.enqueue(b);
        this.#kick(); // the window opened
        return;
      }
      if (c.eof) return ctl.close();
      if (this.#failure && this.#isConnected) return ctl.error(this.#failure);
      if (c.state === "CLOSED") return ctl.close();
      await new Promise<void>((r) => this.#readWake = r);
    }
  }

  /** As #pull, for `source`: the next bytes in place, or null where the readable would close. */
  async #peek(): Promise<Uint8Array | null> {
    const c = this.#conn;
    for (;;) {
      if (this.#closed) return null;
      // A view, not a copy: all that lies in one piece, so the reader's write takes it at once.
      const b = c.peek(Infinity);
      if (b.length > 0) return b;
      if (c.eof) return null;
      if (this.#failure && this.#isConnected) throw this.#failure;
      if (c.state === "CLOSED") return null;
      await new Promise<void>((r) => this.#readWake = r);
    }
  }

  async #write(chunk: Uint8Array): Promise<void> {
    const c = this.#conn;
    let off = 0;
    while (off < chunk.length) {
      if (this.#failure) throw this.#failure;
      if (this.#closed || this.#writeClosed || c.state === "CLOSED") {
        throw new Error("connection closed", { cause: "closed" });
      }
      const n = this.#isConnected ? c.write(off === 0 ? chunk : chunk.subarray(off)) : 0;
      if (n > 0) {
        off += n;
        this.#kick();
        continue;
      }
      await new Promise<void>((r) => this.#writeWake = r);
    }
  }

  #closeWrite(): void {
    if (this.#writeClosed) return;
    this.#writeClosed = true;
    if (this.#conn.state !== "CLOSED") this.#conn.close();
    this.#kick();
  }
}
