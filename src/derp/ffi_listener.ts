/**
 * The plain-HTTP DERP listener over our own sockets: a non-blocking listening fd and every
 * accepted connection in one epoll set, served by one wait loop (ffi/epoll.ts). Idle DERP
 * clients then cost a small JS object each instead of a Deno.Conn with a pending read.
 *
 * @module
 */

import { FfiConn, type FfiConnHost } from "./ffi_conn.ts";
import { EPOLLIN, EpollLoop, EPOLLRDHUP } from "../../ffi/epoll.ts";
import { EAGAIN, EMFILE, ENFILE, errnoName } from "../../ffi/libc.ts";
import {
  acceptTcp,
  closeTcp,
  listenTcp,
  type ServerSocketOptions,
  setServerSocketOptions,
} from "../../ffi/tcp.ts";
import { isIpLiteral } from "../net/ip.ts";
import { HeapTrimmer } from "./heap_trim.ts";

/** Size of the read buffer shared by all connections of a listener. */
export const SHARED_READ_BUFFER = 128 * 1024;
/** Connections accepted per readiness report, so a connect storm cannot starve traffic. */
const ACCEPTS_PER_WAKE = 256;
/** Pause before accepting again after running out of file descriptors. */
const FD_EXHAUSTED_PAUSE_MS = 100;

/** Called for each accepted connection with the peer's address. */
export type OnConn = (conn: FfiConn, remoteHost: string, remotePort: number) => void;

/** Options of {@link FfiTcpListener.listen}. */
export interface FfiListenOptions {
  /** IP address to bind; `::` is dual stack. */
  hostname: string;
  /** TCP port; 0 picks a free one. */
  port: number;
  /** listen() backlog (default 4096). */
  backlog?: number;
  /** Log lines (accept failures). */
  logf?: (line: string) => void;
  /** Keep-alive timing and user timeout for accepted sockets. */
  socket?: ServerSocketOptions;
}

/**
 * A listening TCP socket whose connections are {@link FfiConn}s on one epoll loop.
 *
 * @example
 * ```ts ignore
 * const l = FfiTcpListener.listen({ hostname: "127.0.0.1", port: 0 });
 * const serving = l.serveConns((conn, host, port) => conn.close());
 * l.close(); // stops accepting; serving resolves when every connection is closed too
 * await serving;
 * ```
 */
export class FfiTcpListener implements FfiConnHost {
  /** The bound address. */
  readonly addr: Deno.NetAddr;
  /** The loop that watches the listener and its connections. */
  readonly loop: EpollLoop;
  /** Read buffer shared by connections in push mode. */
  readonly readBuf = new Uint8Array(SHARED_READ_BUFFER);
  readonly #fd: number;
  readonly #logf: (line: string) => void;
  readonly #socketOpts: ServerSocketOptions;
  #onConn: OnConn | null = null;
  #open = 0;
  #closed = false;
  #pause: ReturnType<typeof setTimeout> | undefined;
  /** Gives a connect storm's garbage back once it is over. */
  readonly #trim = new HeapTrimmer();

  private constructor(
    fd: number,
    addr: Deno.NetAddr,
    logf: (line: string) => void,
    socketOpts: ServerSocketOptions,
  ) {
    this.#fd = fd;
    this.addr = addr;
    this.#logf = logf;
    this.#socketOpts = socketOpts;
    this.loop = new EpollLoop({
      onError: (e) => this.#logf(`derp: connection handler failed: ${(e as Error).message}`),
    });
  }

  /**
   * Binds and listens.
   *
   * @throws {SyntaxError} if hostname is not an IP address
   * @throws {SysError} if the socket cannot be bound (in use, no permission…)
   */
  static listen(opts: FfiListenOptions): FfiTcpListener {
    const s = listenTcp(opts.hostname, opts.port, opts.backlog);
    return new FfiTcpListener(
      s.fd,
      { transport: "tcp", hostname: s.hostname, port: s.port },
      opts.logf ?? (() => {}),
      opts.socket ?? {},
    );
  }

  /** Connections accepted and not yet closed. */
  get openConns(): number {
    return this.#open;
  }

  /**
   * Accepts connections and runs the loop. Resolves once the listener is closed and every
   * connection it accepted is closed too. Call once.
   */
  serveConns(onConn: OnConn): Promise<void> {
    if (this.#onConn) throw new Error("Listener is already serving");
    this.#onConn = onConn;
    if (!this.#closed) this.loop.add(this.#fd, EPOLLIN, { ready: () => this.#acceptSome() });
    const done = this.loop.run();
    this.#maybeStop();
    return done;
  }

  /** Stops accepting; open connections keep being served until they close. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    clearTimeout(this.#pause);
    this.#trim.close();
    this.loop.forget(this.#fd);
    closeTcp(this.#fd);
    this.#maybeStop();
  }

  /** @internal Bookkeeping from {@link FfiConn.close}. */
  connClosed(): void {
    this.#open--;
    this.#maybeStop();
  }

  #maybeStop(): void {
    if (this.#closed && this.#open === 0 && this.#onConn) this.loop.close();
  }

  #acceptSome(): void {
    for (let i = 0; i < ACCEPTS_PER_WAKE && !this.#closed; i++) {
      const r = acceptTcp(this.#fd);
      if (typeof r === "number") {
        if (r === -EAGAIN) return;
        if (r === -EMFILE || r === -ENFILE) {
          // Level-triggered: the backlog would report ready at once again. Step back a moment.
          this.#logf(`derp: accept failed: ${errnoName(-r)}; pausing accepts`);
          this.loop.unwatch(this.#fd);
          this.#pause = setTimeout(() => {
            if (!this.#closed) {
              this.loop.add(this.#fd, EPOLLIN, { ready: () => this.#acceptSome() });
            }
          }, FD_EXHAUSTED_PAUSE_MS);
          return;
        }
        continue; // ECONNABORTED and the like: that one peer is gone
      }
      setServerSocketOptions(r.fd, this.#socketOpts);
      const conn = new FfiConn(r.fd, this, EPOLLIN | EPOLLRDHUP);
      try {
        // The first thing every connection does is read its request.
        this.loop.add(r.fd, EPOLLIN | EPOLLRDHUP, conn);
      } catch (e) {
        closeTcp(r.fd);
        this.#logf(`derp: cannot watch a new connection: ${(e as Error).message}`);
        continue;
      }
      this.#open++;
      this.#trim.noteAccept();
      this.#onConn!(conn, r.hostname, r.port);
    }
  }
}

/**
 * The listener for plain-HTTP DERP: our own sockets when FFI is allowed and the address is
 * an IP literal on Linux, else Deno.listen (same behaviour, more memory per connection).
 */
export function listenPlainDerp(
  hostname: string,
  port: number,
  logf?: (line: string) => void,
  socket?: ServerSocketOptions,
): FfiTcpListener | Deno.Listener {
  if (canUseFfiSockets(hostname)) {
    return FfiTcpListener.listen({ hostname, port, logf, socket });
  }
  return Deno.listen({ hostname, port });
}

/** Whether warren's own sockets can serve hostname: Linux, FFI allowed, an IP literal. */
export function canUseFfiSockets(hostname: string): boolean {
  return ffiUsable() && isIpLiteral(hostname);
}

function ffiUsable(): boolean {
  if (Deno.build.os !== "linux") return false;
  try {
    return Deno.permissions.querySync({ name: "ffi" }).state === "granted";
  } catch {
    return false;
  }
}
