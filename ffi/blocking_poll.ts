/**
 * Readiness waiting for a data-plane loop that has a thread of its own (a Worker): `poll(2)`
 * called synchronously, so the kernel wakes this thread directly when a packet arrives — no
 * hop through Deno's blocking thread pool and back to an event loop, which is what a
 * `Poller` wait costs (~50 µs per wake-up here, `deno run -A bench/_poll_latency.ts`).
 * The thread's event loop does not run meanwhile, so nothing reaches the thread through it:
 * another thread leaves requests in shared memory and raises the wake-up eventfd, and the
 * wait calls `onWake` to read them.
 *
 * @module
 */

import type { Waker } from "./eventfd.ts";
import { libc } from "./libc.ts";
import { PollFds, pollTimeout } from "./pollfds.ts";

/**
 * Blocks the calling thread until one of `fds`, or the waker, is readable. Only for a thread
 * that does nothing else: its timers and messages wait while it blocks.
 *
 * @example
 * ```ts ignore
 * const poller = new BlockingPoller(new EventFd(wakeFdFromTheMainThread));
 * await poller.wait([tun.fd, udp.fd], 1000); // blocks this Worker, not the main thread
 * ```
 */
export class BlockingPoller {
  readonly #waker: Waker;
  readonly #onWake: () => void;
  readonly #fds = new PollFds();
  readonly #ready: boolean[] = [];

  /**
   * Waits on `waker` as well; {@link wake} raises it, from this thread or another, and each
   * wait that finds it raised lowers it and calls `onWake`.
   */
  constructor(waker: Waker, onWake: () => void = () => {}) {
    this.#waker = waker;
    this.#onWake = onWake;
  }

  /**
   * Resolves when one of `fds` is readable (or in an error state the next read reports),
   * `timeoutMs` passes (negative: no timeout) or the waker is raised; one flag per fd. Settled
   * already when returned: the wait blocks in the call, not in the promise.
   */
  wait(fds: number[], timeoutMs: number): Promise<readonly boolean[]> {
    return Promise.resolve(this.#poll(fds, timeoutMs, []));
  }

  /**
   * {@link wait} without the promise: the flags, valid until the next wait (the array is
   * reused).
   */
  waitSync(fds: number[], timeoutMs: number): readonly boolean[] {
    return this.#poll(fds, timeoutMs, this.#ready);
  }

  #poll(fds: number[], timeoutMs: number, into: boolean[]): readonly boolean[] {
    const n = this.#fds.set(fds, this.#waker.fd);
    const timeout = pollTimeout(timeoutMs);
    const r = libc().poll(this.#fds.buffer, BigInt(n), timeout);
    const out = this.#fds.ready(fds.length, r, undefined, into); // all false on a timeout or EINTR
    if (r > 0 && this.#fds.lastReady(fds.length)) {
      this.#waker.clear();
      // Not a yield to the event loop for postMessage: a turn of it (setTimeout(0), ~2 ms) did
      // not always deliver the messages posted meanwhile, and a MessageChannel turn never did.
      this.#onWake();
    }
    return out;
  }

  /** Makes a blocked wait (or the next one) return. */
  wake(): void {
    this.#waker.signal();
  }
}
