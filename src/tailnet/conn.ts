/**
 * Tailnet TCP as Deno programs know TCP: {@linkcode TailnetConn} shaped like
 * `Deno.Conn` (streams, addresses, `close`, `closeWrite`) and
 * {@linkcode TailnetListener} shaped like `Deno.Listener` (`accept`,
 * `for await`, `addr`, `close`), over the userspace stack's TCP.
 *
 * @module
 */

/** A netstack TCP connection's streams, as {@linkcode TailnetConn} wraps them (the stack's `TcpStream` fits). */
export interface TailnetStream {
  /** Bytes from the peer. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer; closing it half-closes. */
  readonly writable: WritableStream<Uint8Array>;
  /** Our address and port. */
  readonly localAddr: { hostname: string; port: number };
  /** The peer's address and port. */
  readonly remoteAddr: { hostname: string; port: number };
  /** Closes both directions. */
  close(): void;
}

/** A listening port of the stack, as {@linkcode TailnetListener} wraps it (`TcpStackListener` fits). */
export interface TailnetAcceptSource {
  /** The local port. */
  readonly port: number;
  /** The next connection, or null once closed. */
  accept(): Promise<TailnetStream | null>;
  /** Stops listening. */
  close(): void;
}

/** A TCP connection over the tailnet, shaped like `Deno.Conn`. */
export class TailnetConn implements AsyncDisposable, Disposable {
  /** Bytes from the peer; ends at the peer's FIN, errors on a reset. */
  readonly readable: ReadableStream<Uint8Array>;
  /**
   * Bytes to the peer. Writes resolve as the send buffer takes them;
   * closing it sends our FIN (a half-close: the readable stays open).
   */
  readonly writable: WritableStream<Uint8Array>;
  /** Our tailnet address and port. */
  readonly localAddr: Deno.NetAddr;
  /** The peer's tailnet address and port. */
  readonly remoteAddr: Deno.NetAddr;
  readonly #stream: TailnetStream;

  /** Wraps a netstack stream (made by `connect` and listeners). */
  constructor(stream: TailnetStream) {
    this.#stream = stream;
    this.readable = stream.readable;
    this.writable = stream.writable;
    this.localAddr = { transport: "tcp", ...stream.localAddr };
    this.remoteAddr = { transport: "tcp", ...stream.remoteAddr };
  }

  /**
   * Half-closes: our FIN after what is buffered, as `Deno.Conn.closeWrite`.
   * If you hold a writer of {@linkcode writable}, close that instead.
   *
   * @throws {TypeError} (rejects) if the writable is locked by a writer
   */
  async closeWrite(): Promise<void> {
    await this.writable.close();
  }

  /**
   * Closes both directions (FIN, or RST if received data was left unread).
   * Idempotent.
   */
  close(): void {
    this.#stream.close();
  }

  /** Closes the connection (`using conn = await node.connect(...)`). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes the connection (`await using conn = await node.connect(...)`). */
  [Symbol.asyncDispose](): Promise<void> {
    this.close();
    return Promise.resolve();
  }
}

/** A listening TCP port on the node's tailnet addresses, shaped like `Deno.Listener`. */
export class TailnetListener implements AsyncIterable<TailnetConn>, Disposable {
  /** Where it listens: every tailnet address of the node (so `0.0.0.0`), and the port. */
  readonly addr: Deno.NetAddr;
  readonly #inner: TailnetAcceptSource;
  readonly #onClose: () => void;
  #closed = false;

  /** Wraps a stack listener; `onClose` runs once when it closes. */
  constructor(inner: TailnetAcceptSource, onClose: () => void = () => {}) {
    this.#inner = inner;
    this.#onClose = onClose;
    this.addr = { transport: "tcp", hostname: "0.0.0.0", port: inner.port };
  }

  /**
   * The next connection whose handshake completed.
   *
   * @throws {Deno.errors.BadResource} (rejects) once the listener is closed
   */
  async accept(): Promise<TailnetConn> {
    const s = await this.#inner.accept();
    if (s === null) throw new Deno.errors.BadResource("The tailnet listener is closed");
    return new TailnetConn(s);
  }

  /** Stops listening; pending accepts reject, accepted connections live on. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#inner.close();
    this.#onClose();
  }

  /** Closes the listener (`using listener = node.listen(...)`). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Accepted connections until the listener is closed. */
  async *[Symbol.asyncIterator](): AsyncGenerator<TailnetConn> {
    for (let s = await this.#inner.accept(); s; s = await this.#inner.accept()) {
      yield new TailnetConn(s);
    }
  }
}
