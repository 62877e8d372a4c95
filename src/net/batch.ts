/**
 * The batch shape the data plane and its packet sources agree on: how many
 * packets move per syscall, and what a readable datagram source offers the
 * loop. It sits below both `daemon/` (the loop) and `magicsock/` (a source)
 * so neither imports the other.
 *
 * @module
 */

/** Packets per recvmmsg/sendmmsg and per TUN drain. */
export const BATCH = 64;

/** A readable file descriptor whose datagrams the data-plane loop drains. */
export interface DatagramSource {
  /** The descriptor to wait on. */
  readonly fd: number;
  /** Reads and handles one batch without blocking; returns how many datagrams it took. */
  drain(): number;
  /**
   * True while datagrams already read from the fd wait for the next `drain` (the parts of a
   * UDP GRO message that did not fit one batch): the fd does not poll readable for them.
   */
  readonly pending?: boolean;
}
