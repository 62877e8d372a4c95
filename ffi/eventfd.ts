/**
 * A readiness flag a poll can wait on: an `eventfd(2)` that code in this
 * process raises when it has work for the data-plane loop (the netstack has
 * packets queued) and lowers once the work is taken, so the loop wakes from
 * its `poll` without a TUN fd behind the work.
 *
 * @module
 */

import { addressBig, closeQuietly, EFD_CLOEXEC, EFD_NONBLOCK, fail, libc } from "./libc.ts";

/** A raised-or-not signal with a pollable fd, as {@linkcode EventFd} offers it. */
export interface Waker {
  /** The fd a poll waits on; readable while raised. */
  readonly fd: number;
  /** Raises the signal (idempotent until {@linkcode Waker.clear}). */
  signal(): void;
  /** Lowers the signal. */
  clear(): void;
  /** Releases the fd. Idempotent. */
  close(): void;
}

/**
 * An eventfd opened `EFD_NONBLOCK | EFD_CLOEXEC`: `signal()` adds 1 to its
 * counter (the fd polls readable), `clear()` reads the counter back to zero.
 * Each is one syscall on preallocated buffers, and callers raise it only on
 * an idle-to-busy edge, so a burst costs two syscalls, not two per packet.
 *
 * @example
 * ```ts ignore
 * const ev = new EventFd();
 * ev.signal();               // a poll on ev.fd returns at once
 * ev.clear();                // and now waits again
 * ev.close();
 * ```
 */
export class EventFd implements Waker {
  /** The eventfd. */
  readonly fd: number;
  #closed = false;
  readonly #one = new Uint8Array([1, 0, 0, 0, 0, 0, 0, 0]); // a little-endian u64 of 1
  readonly #oneAddr: bigint;
  readonly #scratch = new Uint8Array(8);
  readonly #scratchAddr: bigint;

  /**
   * Opens an eventfd with a zero counter, or, given `fd`, works on that one: an eventfd opened
   * by another thread of this process, which keeps the duty to close it.
   */
  constructor(fd?: number) {
    if (fd === undefined) {
      fd = libc().eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
      if (fd < 0) fail("Cannot create a wake-up eventfd", "eventfd");
    }
    this.fd = fd;
    this.#oneAddr = addressBig(this.#one);
    this.#scratchAddr = addressBig(this.#scratch);
  }

  /** Makes the fd readable. A no-op after close. */
  signal(): void {
    if (this.#closed) return;
    // Only EAGAIN (counter at its maximum) can fail here, which leaves it readable anyway.
    libc().write(this.fd, this.#oneAddr, 8n);
  }

  /** Resets the counter so the fd no longer polls readable. A no-op after close. */
  clear(): void {
    if (this.#closed) return;
    // EAGAIN when already zero: nothing to clear.
    libc().read(this.fd, this.#scratchAddr, 8n);
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes the fd. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.fd);
  }
}
