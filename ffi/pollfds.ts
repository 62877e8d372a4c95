/**
 * The `struct pollfd` array both pollers hand to `poll(2)`: the caller's fds, then one more
 * (a wake-up eventfd) last, rewritten in place for each wait, and the readiness read back.
 *
 * @module
 */

import { POLLERR, POLLHUP, POLLIN, POLLNVAL } from "./libc.ts";

const POLLFD_SIZE = 8; // struct pollfd { int fd; short events; short revents; }
const ALWAYS = POLLERR | POLLHUP | POLLNVAL;

/** poll(2)'s timeout for a wait of `ms` (negative: none), rounded up to whole milliseconds. */
export function pollTimeout(ms: number): number {
  return ms < 0 ? -1 : Math.min(Math.ceil(ms), 0x7fffffff);
}

/** A reusable pollfd array. */
export class PollFds {
  #buf = new Uint8Array(POLLFD_SIZE * 4);
  #dv = new DataView(this.#buf.buffer);

  /** The array as `poll(2)` takes it (valid until the next {@link set}). */
  get buffer(): Uint8Array {
    return this.#buf;
  }

  /**
   * Writes `fds` (waiting for `events[i]`, POLLIN by default) and then `last` (POLLIN), with
   * no events returned yet; returns the entry count.
   */
  set(fds: number[], last: number, events?: number[]): number {
    const n = fds.length + 1;
    if (this.#buf.length < n * POLLFD_SIZE) {
      this.#buf = new Uint8Array(n * POLLFD_SIZE * 2);
      this.#dv = new DataView(this.#buf.buffer);
    }
    const dv = this.#dv;
    for (let i = 0; i < n; i++) {
      dv.setInt32(i * POLLFD_SIZE, i < fds.length ? fds[i] : last, true);
      dv.setInt16(i * POLLFD_SIZE + 4, i < fds.length ? events?.[i] ?? POLLIN : POLLIN, true);
      dv.setInt16(i * POLLFD_SIZE + 6, 0, true);
    }
    return n;
  }

  /**
   * One flag per fd of the last {@link set} (`count` of them, `last` excluded): it had the
   * events waited for, or an error or hang-up the next read will report. All false unless
   * `r`, poll's result, is positive. Written into `into` when given (a loop's array, reused so
   * that a wake-up allocates nothing), else into a new array.
   */
  ready(count: number, r: number, events?: number[], into?: boolean[]): boolean[] {
    const out = into ?? new Array<boolean>(count);
    out.length = count;
    out.fill(false);
    if (r <= 0) return out;
    for (let i = 0; i < count; i++) {
      const rev = this.#dv.getInt16(i * POLLFD_SIZE + 6, true);
      out[i] = (rev & ((events?.[i] ?? POLLIN) | ALWAYS)) !== 0;
    }
    return out;
  }

  /** Whether the `last` fd of a set with `count` others had any event. */
  lastReady(count: number): boolean {
    return this.#dv.getInt16(count * POLLFD_SIZE + 6, true) !== 0;
  }
}
