/**
 * epoll readiness for many sockets with one waiting thread: {@link Epoll} wraps the syscalls,
 * {@link EpollLoop} keeps one `epoll_wait` in flight on Deno's blocking pool and hands each
 * ready fd to its handler, which then does synchronous non-blocking I/O on it. Handlers are
 * held in an array indexed by fd, so an idle fd costs no promise and no pending op.
 *
 * @module
 */

import {
  addressBig,
  closeQuietly,
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  EINTR,
  errno,
  fail,
  libc,
  SysError,
} from "./libc.ts";

/** epoll event: readable. */
export const EPOLLIN = 0x1;
/** epoll event: writable. */
export const EPOLLOUT = 0x4;
/** epoll event: error condition (always reported). */
export const EPOLLERR = 0x8;
/** epoll event: hang up (always reported). */
export const EPOLLHUP = 0x10;
/** epoll event: the peer shut down its writing half. */
export const EPOLLRDHUP = 0x2000;

const EPOLL_CLOEXEC = 0o2000000;
const EPOLL_CTL_ADD = 1;
const EPOLL_CTL_DEL = 2;
const EPOLL_CTL_MOD = 3;

// struct epoll_event { u32 events; u64 data; } is packed on x86_64 only.
const PACKED = Deno.build.arch === "x86_64";
/** sizeof(struct epoll_event) on this architecture. */
export const EPOLL_EVENT_SIZE = PACKED ? 12 : 16;
const DATA_OFF = PACKED ? 4 : 8;

/**
 * An epoll instance whose events carry the fd as their data, plus an eventfd that releases
 * a pending wait.
 *
 * @example
 * ```ts ignore
 * using ep = new Epoll();
 * ep.add(fd, EPOLLIN);
 * const n = await ep.wait(1000);
 * for (let i = 0; i < n; i++) console.log(ep.fdAt(i), ep.eventsAt(i));
 * ```
 */
export class Epoll {
  /** The epoll fd. */
  readonly fd: number;
  readonly #efd: number;
  readonly #max: number;
  readonly #events: Uint8Array;
  readonly #dv: DataView;
  readonly #ctl = new Uint8Array(EPOLL_EVENT_SIZE);
  readonly #ctlDv = new DataView(this.#ctl.buffer);
  readonly #one = new Uint8Array(8);
  readonly #oneAddr: bigint;
  readonly #scratch = new Uint8Array(8);
  readonly #scratchAddr: bigint;
  #pending = false;
  #closed = false;

  /** Creates the epoll instance; a wait reports at most maxEvents fds. */
  constructor(maxEvents = 512) {
    if (!Number.isInteger(maxEvents) || maxEvents < 1 || maxEvents > 65536) {
      throw new RangeError(`Invalid epoll batch size ${maxEvents}: must be 1 to 65536`);
    }
    const fd = libc().epoll_create1(EPOLL_CLOEXEC);
    if (fd < 0) fail("Cannot create epoll instance", "epoll_create1");
    const efd = libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (efd < 0) {
      const e = errno();
      closeQuietly(fd);
      throw new SysError("Cannot create epoll wake-up eventfd", "eventfd", e);
    }
    this.fd = fd;
    this.#efd = efd;
    this.#max = maxEvents + 1;
    this.#events = new Uint8Array(this.#max * EPOLL_EVENT_SIZE);
    this.#dv = new DataView(this.#events.buffer);
    this.#one[0] = 1;
    this.#oneAddr = addressBig(this.#one);
    this.#scratchAddr = addressBig(this.#scratch);
    this.add(efd, EPOLLIN);
  }

  /** Starts watching fd for events (EPOLLERR and EPOLLHUP are always reported). */
  add(fd: number, events: number): void {
    if (this.#ctlOp(EPOLL_CTL_ADD, fd, events) < 0) fail(`Cannot watch fd ${fd}`, "epoll_ctl(ADD)");
  }

  /** Changes the events watched on fd. */
  modify(fd: number, events: number): void {
    if (this.#ctlOp(EPOLL_CTL_MOD, fd, events) < 0) {
      fail(`Cannot change events of fd ${fd}`, "epoll_ctl(MOD)");
    }
  }

  /** Stops watching fd; an fd that is not watched (or closed) is ignored. */
  remove(fd: number): void {
    if (!this.#closed) this.#ctlOp(EPOLL_CTL_DEL, fd, 0);
  }

  /**
   * Waits on Deno's blocking pool until an fd is ready, `timeoutMs` passes (negative: no
   * timeout) or {@link wake} is called. Resolves to the number of ready fds, read with
   * {@link fdAt} and {@link eventsAt} until the next wait. One wait at a time.
   */
  async wait(timeoutMs: number): Promise<number> {
    if (this.#closed) throw new Error("Cannot wait: epoll instance is closed");
    if (this.#pending) throw new Error("Cannot wait: a wait is already pending on this epoll");
    const timeout = timeoutMs < 0 ? -1 : Math.min(Math.ceil(timeoutMs), 0x7fffffff);
    this.#pending = true;
    let n: number;
    try {
      n = await libc().epollWaitBlocking(this.fd, this.#events, this.#max, timeout);
    } finally {
      this.#pending = false;
      if (this.#closed) this.#release();
    }
    // A failed wait (EINTR on the pool thread; its errno is not ours to read) reports nothing.
    return this.#closed || n <= 0 ? 0 : this.#dropWake(n);
  }

  /** The same as {@link wait} with a zero timeout, synchronously; not while a wait is pending. */
  poll(): number {
    if (this.#closed) throw new Error("Cannot poll: epoll instance is closed");
    if (this.#pending) throw new Error("Cannot poll: a wait is pending on this epoll");
    const n = libc().epoll_wait(this.fd, this.#events, this.#max, 0);
    if (n < 0) {
      if (errno() === EINTR) return 0;
      fail("Cannot poll epoll instance", "epoll_wait");
    }
    return this.#dropWake(n);
  }

  /** The fd of the i-th ready entry of the last wait. */
  fdAt(i: number): number {
    return this.#dv.getInt32(i * EPOLL_EVENT_SIZE + DATA_OFF, true);
  }

  /** The event mask of the i-th ready entry of the last wait. */
  eventsAt(i: number): number {
    return this.#dv.getUint32(i * EPOLL_EVENT_SIZE, true);
  }

  /** Makes a pending wait, or else the next one, return at once. Safe after close. */
  wake(): void {
    if (!this.#closed) libc().write(this.#efd, this.#oneAddr, 8n);
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Releases a pending wait and closes both fds (after that wait returns). Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.wake();
    this.#closed = true;
    // With a wait in flight the fds are closed when it returns, so the pool thread never
    // waits on a number that may have been reused.
    if (!this.#pending) this.#release();
  }

  #release(): void {
    closeQuietly(this.fd);
    closeQuietly(this.#efd);
  }

  #ctlOp(op: number, fd: number, events: number): number {
    this.#ctlDv.setUint32(0, events >>> 0, true);
    this.#ctlDv.setInt32(DATA_OFF, fd, true);
    this.#ctlDv.setInt32(DATA_OFF + 4, 0, true);
    return libc().epoll_ctl(this.fd, op, fd, this.#ctl);
  }

  /** Drains the wake-up eventfd if it fired and removes its entry; returns the count left. */
  #dropWake(n: number): number {
    for (let i = 0; i < n; i++) {
      if (this.fdAt(i) !== this.#efd) continue;
      libc().read(this.#efd, this.#scratchAddr, 8n);
      const last = n - 1;
      if (i !== last) {
        this.#events.copyWithin(
          i * EPOLL_EVENT_SIZE,
          last * EPOLL_EVENT_SIZE,
          (last + 1) * EPOLL_EVENT_SIZE,
        );
      }
      return last;
    }
    return n;
  }
}

/**
 * How long {@link EpollLoop} polls after a busy wake before it blocks (ms). On this
 * project's 2-core VM, 0.1 ms took the DERP relay round trip at rest from 0.26–0.28 to
 * 0.066 ms p50 (`deno task bench:derp`, three runs each, throughput within run-to-run noise);
 * it costs at most that much CPU per wake that found work, none while idle.
 */
export const DEFAULT_SPIN_MS = 0.1;

/** Something that wants to hear when its fd is ready. */
export interface ReadyHandler {
  /** Called with the epoll event mask; do non-blocking I/O until EAGAIN or enough. */
  ready(events: number): void;
}

/**
 * One wait loop for many fds: a single `epoll_wait` in flight at a time on Deno's blocking
 * pool; when it returns, every ready fd's handler runs synchronously, then the next wait
 * starts. Spurious readiness is possible (an fd closed and reused within one batch), so
 * handlers must treat EAGAIN as "not ready after all".
 *
 * @example
 * ```ts ignore
 * const loop = new EpollLoop();
 * loop.add(fd, EPOLLIN, { ready: (ev) => console.log("fd ready", ev) });
 * const running = loop.run();
 * // … later
 * loop.close();
 * await running;
 * ```
 */
export class EpollLoop {
  readonly #ep: Epoll;
  #handlers: (ReadyHandler | null)[] = [];
  #running: Promise<void> | null = null;
  #closed = false;
  #onError: (e: unknown) => void;
  readonly #spinMs: number;
  /** Waits completed (for benchmarks: events per wait shows how well readiness batches). */
  waits = 0;
  /** Ready entries handled. */
  events = 0;
  /** Waits answered by the spin, without a blocking wait. */
  spinHits = 0;

  /**
   * Creates the loop; onError hears about handlers that threw (default: ignored).
   * spinMs: after a wake that found work, poll without blocking for this long before
   * the next blocking wait (default {@link DEFAULT_SPIN_MS}; 0 = never).
   */
  constructor(opts: { maxEvents?: number; onError?: (e: unknown) => void; spinMs?: number } = {}) {
    this.#ep = new Epoll(opts.maxEvents ?? 1024);
    this.#onError = opts.onError ?? (() => {});
    this.#spinMs = opts.spinMs ?? DEFAULT_SPIN_MS;
  }

  /** Whether close() has been called. */
  get closed(): boolean {
    return this.#closed;
  }

  /** Watches fd for events and routes its readiness to h. */
  add(fd: number, events: number, h: ReadyHandler): void {
    this.#ep.add(fd, events);
    this.#handlers[fd] = h;
  }

  /** Changes the events watched on fd. */
  modify(fd: number, events: number): void {
    this.#ep.modify(fd, events);
  }

  /** Stops watching fd but keeps its handler (for an fd that stays open). */
  unwatch(fd: number): void {
    this.#ep.remove(fd);
  }

  /** Forgets fd's handler; call before closing fd (closing also removes it from epoll). */
  forget(fd: number): void {
    if (fd < this.#handlers.length) this.#handlers[fd] = null;
  }

  /** Runs until {@link close}; resolves once the epoll fds are closed. Idempotent. */
  run(): Promise<void> {
    return this.#running ??= this.#loop();
  }

  /** Stops the loop: releases the pending wait; open fds stay open. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#handlers = [];
    this.#ep.close();
  }

  async #loop(): Promise<void> {
    const ep = this.#ep;
    let hot = false;
    while (!this.#closed) {
      let n = 0;
      if (hot && this.#spinMs > 0) {
        // A blocking wait costs two thread wake-ups (the pool thread, then this one); an
        // answer to what was just sent usually comes sooner than that, so look for it first.
        await null; // let the handlers' microtasks (queued writes) run before spinning
        const until = performance.now() + this.#spinMs;
        while (n === 0 && !this.#closed && performance.now() < until) n = ep.poll();
        if (n > 0) this.spinHits++;
      }
      if (n === 0 && !this.#closed) n = await ep.wait(-1);
      hot = n > 0;
      this.waits++;
      this.events += n;
      for (let i = 0; i < n && !this.#closed; i++) {
        const h = this.#handlers[ep.fdAt(i)];
        if (!h) continue;
        try {
          h.ready(ep.eventsAt(i));
        } catch (e) {
          this.#onError(e);
        }
      }
    }
  }
}
