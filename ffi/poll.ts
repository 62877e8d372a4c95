/**
 * Readiness waiting for the data-plane loop: one `poll` on Deno's blocking thread pool per
 * wait, released early by an eventfd. Callers then drain their fds with synchronous
 * non-blocking calls until EAGAIN, so the costly pool hop happens once per burst, not per packet.
 * Each wait first gives the event loop one turn and looks again on this thread: under load
 * something is ready by then, and the hop is not taken at all.
 *
 * @module
 */

import { setImmediate } from "node:timers";
import { addressBig, closeQuietly, EFD_CLOEXEC, EFD_NONBLOCK, fail, libc } from "./libc.ts";
import { PollFds, pollTimeout } from "./pollfds.ts";

/** Resolves after one turn of the event loop: its timers and I/O (~1.4 µs when idle). */
function eventLoopTurn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/**
 * Waits until any of a set of fds is readable (or a timeout, or {@link Poller.wake}).
 *
 * @example
 * ```ts ignore
 * const poller = new Poller();
 * const [udpReady, tunReady] = await poller.wait([udp.fd, tun.fd], 1000);
 * ```
 */
export class Poller {
  #efd: number;
  #closed = false;
  #pending = false;
  #hops = 0;
  #fds = new PollFds();
  #counter = new Uint8Array(8);
  #counterAddr = 0n;
  #scratch = new Uint8Array(8);
  #scratchAddr = 0n;

  /** Creates the eventfd that {@link wake} signals. */
  constructor() {
    const fd = libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) fail("Cannot create poller", "eventfd");
    this.#efd = fd;
    this.#counter[0] = 1;
    this.#counterAddr = addressBig(this.#counter);
    this.#scratchAddr = addressBig(this.#scratch);
  }

  /**
   * Resolves when one of `fds` is readable, `timeoutMs` passes (negative: no timeout) or
   * {@link wake} is called. The result has one flag per fd: readable, or in an error/hang-up
   * state that the next read will report. All false means timeout or wake. One wait at a time.
   * `events` optionally gives poll event masks per fd (default POLLIN) to wait for, say, POLLOUT.
   *
   * The event loop runs at least once before the wait resolves, even when an fd is ready at
   * once: the wait is where a main-thread data plane lets the rest of the process (a proxy's
   * socket writes, timers) run. Only if nothing is ready after that turn does the wait take the
   * pool hop, which cost ~32 µs of wall time and a thread wake-up each, against ~1.4 µs for the
   * turn and ~1 µs for a `poll` with no timeout on this thread: a userspace node's download did
   * ~650 of them a second (2026-12-04).
   */
  async wait(fds: number[], timeoutMs: number, events?: number[]): Promise<boolean[]> {
    if (this.#closed) throw new Error("Cannot wait: poller is closed");
    if (this.#pending) throw new Error("Cannot wait: a wait is already pending on this poller");
    const n = this.#fds.set(fds, this.#efd, events);
    const timeout = pollTimeout(timeoutMs);
    this.#pending = true;
    let r: number;
    try {
      await eventLoopTurn();
      r = libc().poll(this.#fds.buffer, BigInt(n), 0);
      if (r <= 0 && timeout !== 0 && !this.#closed) {
        this.#hops++;
        r = await libc().pollWait(this.#fds.buffer, BigInt(n), timeout);
      }
    } finally {
      this.#pending = false;
      if (this.#closed) closeQuietly(this.#efd);
    }
    // A failed poll (EINTR on the pool thread; its errno is not ours to read) reports nothing.
    const out = this.#fds.ready(fds.length, r, events);
    if (r > 0 && !this.#closed && this.#fds.lastReady(fds.length)) this.#drain();
    return out;
  }

  /** Waits that found nothing ready on this thread and went to the thread pool. */
  get hops(): number {
    return this.#hops;
  }

  /** Makes a pending wait, or else the next one, return at once. Safe after close. */
  wake(): void {
    if (this.#closed) return;
    libc().write(this.#efd, this.#counterAddr, 8n);
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Releases a pending wait and closes the eventfd. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.wake();
    this.#closed = true;
    // With a wait in flight the fd is closed when it returns, so the pool thread never polls a
    // number that may have been reused.
    if (!this.#pending) closeQuietly(this.#efd);
  }

  #drain(): void {
    libc().read(this.#efd, this.#scratchAddr, 8n);
  }
}
