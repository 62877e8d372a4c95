/**
 * A TCP connection over a raw non-blocking fd, driven by one shared epoll loop: a
 * {@link DuplexConn} for the HTTP and handshake phase, and a {@link PushConn} for the
 * long-lived DERP phase, where an idle connection is just this small object.
 *
 * @module
 */

import type { PushConn, PushSink } from "./push_conn.ts";
import {
  EPOLLERR,
  EPOLLHUP,
  EPOLLIN,
  type EpollLoop,
  EPOLLOUT,
  EPOLLRDHUP,
} from "../../ffi/epoll.ts";
import { EAGAIN, SysError } from "../../ffi/libc.ts";
import { closeTcp, recvTcp, sendTcp } from "../../ffi/tcp.ts";

/** What every connection of one listener shares. */
export interface FfiConnHost {
  /** The loop the connection's fd is watched by. */
  readonly loop: EpollLoop;
  /** The read buffer all connections in push mode receive into, one at a time. */
  readonly readBuf: Uint8Array;
  /** Told once when a connection closes. */
  connClosed(): void;
}

interface PendingRead {
  p: Uint8Array;
  resolve: (n: number | null) => void;
  reject: (e: Error) => void;
}

interface PendingWrite {
  p: Uint8Array;
  off: number;
  resolve: (n: number) => void;
  reject: (e: Error) => void;
}

const PUSHING = 1;
const ENDED = 2;
const CLOSED = 4;

const READABLE = EPOLLIN | EPOLLRDHUP | EPOLLERR | EPOLLHUP;
const WRITABLE = EPOLLOUT | EPOLLERR | EPOLLHUP;
/** Reads per readiness report in push mode, so one busy peer cannot starve the others. */
const READS_PER_WAKE = 4;

/**
 * One accepted TCP connection. Reads happen when the loop reports the fd readable and
 * someone wants bytes (a pending read(), or push mode); writes go out at once and only
 * wait for EPOLLOUT when the socket's send buffer is full. Level-triggered: interest in
 * readability is dropped while nobody wants bytes, so unread data does not spin the loop.
 */
export class FfiConn implements PushConn {
  /** The socket fd (closed by {@link close}). */
  readonly fd: number;
  /** Called once when the connection closes. */
  onClose: ((conn: PushConn) => void) | null = null;
  readonly #host: FfiConnHost;
  /** Events registered with epoll; -1 when the fd is not in the epoll set. */
  #interest: number;
  #read: PendingRead | null = null;
  #writes: PendingWrite[] | null = null;
  #sink: PushSink | null = null;
  // One small-integer field instead of three booleans: thousands of idle connections each
  // hold this object, and every field is a full word.
  #state = 0;

  /** Wraps fd, already registered with host.loop for `interest` (or -1 if not). */
  constructor(fd: number, host: FfiConnHost, interest: number) {
    this.fd = fd;
    this.#host = host;
    this.#interest = interest;
  }

  /** Whether push() has been called. */
  get pushing(): boolean {
    return (this.#state & PUSHING) !== 0;
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return (this.#state & CLOSED) !== 0;
  }

  /** Bytes waiting to be written (tests and accounting). */
  get unsent(): number {
    let n = 0;
    for (const w of this.#writes ?? []) n += w.p.length - w.off;
    return n;
  }

  /** Reads into p; resolves to the count, or null at end of stream. One read at a time. */
  read(p: Uint8Array): Promise<number | null> {
    if (this.closed) return Promise.reject(closedError());
    if (this.pushing) return Promise.reject(new Error("Cannot read: connection is in push mode"));
    if (this.#read) return Promise.reject(new Error("Cannot read: a read is already pending"));
    if (p.length === 0) return Promise.resolve(0);
    const n = recvTcp(this.fd, p);
    if (n > 0) return Promise.resolve(n);
    if (n === 0) return Promise.resolve(null);
    if (n !== -EAGAIN) return Promise.reject(ioError("read from", "recv", -n));
    return new Promise((resolve, reject) => {
      this.#read = { p, resolve, reject };
      try {
        this.#arm();
      } catch (e) {
        this.#read = null;
        reject(e as Error);
      }
    });
  }

  /**
   * Writes all of p, resolving to p.length once the kernel has it. Concurrent writes go out
   * in call order. p must not change until the promise settles.
   */
  write(p: Uint8Array): Promise<number> {
    if (this.closed) return Promise.reject(closedError());
    if (p.length === 0) return Promise.resolve(0);
    if (this.#writes) {
      return new Promise((resolve, reject) => this.#writes!.push({ p, off: 0, resolve, reject }));
    }
    const n = sendTcp(this.fd, p);
    if (n === p.length) return Promise.resolve(n);
    if (n < 0 && n !== -EAGAIN) return Promise.reject(ioError("write to", "send", -n));
    return new Promise((resolve, reject) => {
      this.#writes = [{ p, off: Math.max(0, n), resolve, reject }];
      try {
        this.#arm();
      } catch (e) {
        this.#writes = null;
        reject(e as Error);
      }
    });
  }

  /** Writes what the socket takes now (see {@link PushConn.writeSync}). */
  writeSync(p: Uint8Array): number {
    if (this.closed) throw closedError();
    if (this.#writes) return 0; // keep order behind queued bytes
    const n = sendTcp(this.fd, p);
    if (n >= 0) return n;
    if (n === -EAGAIN) return 0;
    throw ioError("write to", "send", -n);
  }

  /** Switches to push delivery (see {@link PushConn.push}). */
  push(sink: PushSink): void {
    if (this.#read) throw new Error("Cannot switch to push mode while a read is pending");
    if (this.pushing) throw new Error("Connection is already in push mode");
    this.#state |= PUSHING;
    this.#sink = sink;
    if (this.closed) {
      this.#endLater();
      return;
    }
    this.#arm();
  }

  /** Closes the fd; pending reads and writes fail, push mode ends on a later microtask. */
  close(): void {
    if (this.closed) return;
    this.#state |= CLOSED;
    this.#host.loop.forget(this.fd);
    // Closing also takes the fd out of the epoll set.
    closeTcp(this.fd);
    this.#interest = -1;
    const r = this.#read;
    const ws = this.#writes;
    this.#read = null;
    this.#writes = null;
    if (r || ws) {
      const e = closedError();
      r?.reject(e);
      for (const w of ws ?? []) w.reject(e);
    }
    if (this.pushing) this.#endLater();
    this.#host.connClosed();
    const cb = this.onClose;
    this.onClose = null;
    cb?.(this);
  }

  /** Called by the loop with the fd's epoll events. */
  ready(events: number): void {
    if (this.closed) return;
    if ((events & WRITABLE) !== 0 && this.#writes) this.#flushWrites();
    if ((events & READABLE) !== 0 && !this.closed) {
      if (this.pushing) this.#pushRead();
      else if (this.#read) this.#pullRead();
    }
    if (!this.closed) this.#arm();
  }

  #pullRead(): void {
    const r = this.#read!;
    const n = recvTcp(this.fd, r.p);
    if (n === -EAGAIN) return;
    this.#read = null;
    if (n > 0) r.resolve(n);
    else if (n === 0) r.resolve(null);
    else r.reject(ioError("read from", "recv", -n));
  }

  #pushRead(): void {
    const buf = this.#host.readBuf;
    for (let k = 0; k < READS_PER_WAKE && (this.#state & ENDED) === 0; k++) {
      const n = recvTcp(this.fd, buf);
      if (n === -EAGAIN) return;
      if (n <= 0) {
        this.#end(n === 0 ? undefined : ioError("read from", "recv", -n));
        return;
      }
      try {
        this.#sink!.pushed(buf.subarray(0, n));
      } catch (e) {
        this.#end(e instanceof Error ? e : new Error(String(e)));
        return;
      }
      if (n < buf.length) return;
    }
  }

  #flushWrites(): void {
    const q = this.#writes!;
    while (q.length > 0) {
      const w = q[0];
      const n = sendTcp(this.fd, w.off === 0 ? w.p : w.p.subarray(w.off));
      if (n === -EAGAIN) return;
      if (n < 0) {
        this.#writes = null;
        const e = ioError("write to", "send", -n);
        for (const x of q) x.reject(e);
        return;
      }
      w.off += n;
      if (w.off < w.p.length) continue;
      q.shift();
      w.resolve(w.p.length);
    }
    this.#writes = null;
  }

  #end(err?: Error): void {
    if ((this.#state & ENDED) !== 0) return;
    this.#state |= ENDED;
    const sink = this.#sink;
    this.#sink = null;
    sink?.ended(err);
  }

  #endLater(): void {
    if ((this.#state & ENDED) !== 0) return;
    this.#state |= ENDED;
    const sink = this.#sink;
    this.#sink = null;
    // Later, as a pull reader would hear of it: the closer may be iterating the client table.
    if (sink) queueMicrotask(() => sink.ended());
  }

  /** Registers the events someone is waiting for; takes the fd out of epoll when none. */
  #arm(): void {
    const wantRead = this.#read !== null || (this.#state & (PUSHING | ENDED)) === PUSHING;
    const want = (wantRead ? EPOLLIN | EPOLLRDHUP : 0) | (this.#writes ? EPOLLOUT : 0);
    if (want === this.#interest || (want === 0 && this.#interest === -1)) return;
    const loop = this.#host.loop;
    if (want === 0) {
      // Not MOD to 0: EPOLLERR/EPOLLHUP are reported regardless and would spin the loop.
      loop.unwatch(this.fd);
      this.#interest = -1;
    } else if (this.#interest === -1) {
      loop.add(this.fd, want, this);
      this.#interest = want;
    } else {
      loop.modify(this.fd, want);
      this.#interest = want;
    }
  }
}

function closedError(): Error {
  return new Deno.errors.BadResource("Connection is closed");
}

function ioError(what: string, syscall: string, code: number): Error {
  return new SysError(`Cannot ${what} TCP connection`, syscall, code);
}
