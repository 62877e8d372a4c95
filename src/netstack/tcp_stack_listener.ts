/**
 * A listening port of the userspace TCP stack as applications see it:
 * `accept()` (or `for await`) yields each connection whose handshake
 * completed, as a {@linkcode TcpStream}.
 *
 * @module
 */

import type { TcpStream } from "./tcp_stream.ts";

/** What a listener needs from its stack. */
export interface ListenerHost {
  /** The next completed connection on `port`, taken into the stack's table, or null. */
  _takeAccepted(port: number): TcpStream | null;
  /** The listener on `port` closed. */
  _unlisten(port: number): void;
}

/** A port listening on the stack; `accept()` yields its connections. */
export class TcpStackListener {
  /** The local port. */
  readonly port: number;
  readonly #stack: ListenerHost;
  readonly #waiters: ((s: TcpStream | null) => void)[] = [];
  #closed = false;

  /** Made by {@linkcode TcpStack.listen}. */
  constructor(stack: ListenerHost, port: number) {
    this.#stack = stack;
    this.port = port;
  }

  /** The next connection whose handshake completed, or null once closed. */
  accept(): Promise<TcpStream | null> {
    if (this.#closed) return Promise.resolve(null);
    const s = this.#stack._takeAccepted(this.port);
    if (s) return Promise.resolve(s);
    return new Promise((r) => this.#waiters.push(r));
  }

  /** Whether someone waits in accept(). */
  get _waiting(): boolean {
    return this.#waiters.length > 0;
  }

  /** Hands a connection to the oldest accept(). */
  _deliver(s: TcpStream): void {
    this.#waiters.shift()!(s);
  }

  /** Stops listening: pending accepts resolve null; accepted connections live on. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#stack._unlisten(this.port);
    for (const w of this.#waiters.splice(0)) w(null);
  }

  /** Accepted connections until closed. */
  async *[Symbol.asyncIterator](): AsyncGenerator<TcpStream> {
    for (let s = await this.accept(); s; s = await this.accept()) yield s;
  }
}
