/**
 * Readiness waiting for the data-plane loop: one `poll` on Deno's blocking thread pool per
 * wait, released early by an eventfd. Callers then drain their fds with synchronous
 * non-blocking calls until EAGAIN, so the costly pool hop happens once per burst, not per packet.
 *
 * @module
 */

import {
  addressOf,
  closeQuietly,
  EFD_CLOEXEC,
  EFD_NONBLOCK,
  fail,
  libc,
  POLLERR,
  POLLHUP,
  POLLIN,
  POLLNVAL,
} from "./libc.ts";

const POLLFD_SIZE = 8; // struct pollfd { int fd; short events; short revents; }

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
  #fds = new Uint8Array(POLLFD_SIZE * 4);
  #dv = new DataView(this.#fds.buffer);
  #counter = new Uint8Array(8);
  #counterAddr = 0;
  #scratch = new Uint8Array(8);
  #scratchAddr = 0;

  /** Creates the eventfd that {@link wake} signals. */
  constructor() {
    const fd = libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
    if (fd < 0) fail("Cannot create poller", "eventfd");
    this.#efd = fd;
    this.#counter[0] = 1;
    this.#counterAddr = addressOf(this.#counter);
    this.#scratchAddr = addressOf(this.#scratch);
  }

  /**
   * Resolves when one of `fds` is readable, `timeoutMs` passes (negative: no timeout) or
   * {@link wake} is called. The result has one flag per fd: readable, or in an error/hang-up
   * state that the next read will report. All false means timeout or wake. One wait at a time.
   * `events` optionally gives poll event masks per fd (default POLLIN) to wait for, say, POLLOUT.
   */
  async wait(fds: number[], timeoutMs: number, events?: number[]): Promise<boolean[]> {
    if (this.#closed) throw new Error("Cannot wait: poller is closed");
    if (this.#pending) throw new Error("Cannot wait: a wait is already pending on this poller");
    const n = fds.length + 1;
    if (this.#fds.length < n * POLLFD_SIZE) {
      this.#fds = new Uint8Array(n * POLLFD_SIZE * 2);
      this.#dv = new DataView(this.#fds.buffer);
    }
    const buf = this.#fds;
    const dv = this.#dv;
    for (let i = 0; i < fds.length; i++) {
      dv.setInt32(i * POLLFD_SIZE, fds[i], true);
      dv.setInt16(i * POLLFD_SIZE + 4, events?.[i] ?? POLLIN, true);
      dv.setInt16(i * POLLFD_SIZE + 6, 0, true);
    }
    const w = fds.length * POLLFD_SIZE;
    dv.setInt32(w, this.#efd, true);
    dv.setInt16(w + 4, POLLIN, true);
    dv.setInt16(w + 6, 0, true);
    const timeout = timeoutMs < 0 ? -1 : Math.min(Math.ceil(timeoutMs), 0x7fffffff);
    this.#pending = true;
    let r: number;
    try {
      r = await libc().pollWait(buf, n, timeout);
    } finally {
      this.#pending = false;
      if (this.#closed) closeQuietly(this.#efd);
    }
    const out = new Array<boolean>(fds.length).fill(false);
    // A failed poll (EINTR on the pool thread; its errno is not ours to read) reports nothing.
    if (r <= 0) return out;
    const want = POLLERR | POLLHUP | POLLNVAL;
    for (let i = 0; i < fds.length; i++) {
      const rev = dv.getInt16(i * POLLFD_SIZE + 6, true);
      out[i] = (rev & ((events?.[i] ?? POLLIN) | want)) !== 0;
    }
    if (!this.#closed && dv.getInt16(w + 6, true) !== 0) this.#drain();
    return out;
  }

  /** Makes a pending wait, or else the next one, return at once. Safe after close. */
  wake(): void {
    if (this.#closed) return;
    libc().write(this.#efd, this.#counterAddr, 8);
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
    libc().read(this.#efd, this.#scratchAddr, 8);
  }
}
