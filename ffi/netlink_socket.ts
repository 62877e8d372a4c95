/**
 * One blocking netlink socket, the I/O under every netlink client here
 * (rtnetlink in `netlink.ts`, nf_tables in `nftables.ts`): open with a
 * receive timeout, send one datagram to the kernel, read one datagram of
 * messages back, hand out sequence numbers.
 *
 * @module
 */

import {
  AF_NETLINK,
  closeQuietly,
  EAGAIN,
  EINTR,
  EMSGSIZE,
  errno,
  fail,
  libc,
  MSG_TRUNC,
  SO_RCVTIMEO,
  SOCK_CLOEXEC,
  SOCK_RAW,
  SOL_SOCKET,
  SysError,
} from "./libc.ts";
import { decodeMessages, type NetlinkMessage } from "./netlink_codec.ts";

/** How long a request may wait for the kernel's answer before it is reported as failed. */
const RECV_TIMEOUT_S = 5;
/** Receive buffer: dumps come in parts of at most 32 KiB. */
const RECV_BUFFER = 64 * 1024;
/** setsockopt level for netlink options. */
const SOL_NETLINK = 270;

/**
 * A netlink socket of one protocol family (NETLINK_ROUTE, NETLINK_NETFILTER, …).
 *
 * @example
 * ```ts ignore
 * using s = NetlinkSocket.open(0, "Cannot open rtnetlink socket");
 * s.send(request, "Cannot add route");
 * const answers = s.recv("Cannot add route");
 * ```
 */
export class NetlinkSocket {
  #fd: number;
  #seq: number;
  readonly #buf = new Uint8Array(RECV_BUFFER);
  /** What the socket is called in errors ("rtnetlink socket"). */
  readonly name: string;

  private constructor(fd: number, name: string) {
    this.#fd = fd;
    this.name = name;
    // Distinct start values keep two sockets' answers apart in a trace.
    this.#seq = (Date.now() & 0xffffff) * 128;
  }

  /**
   * Opens the socket, with a receive timeout so a missing answer cannot hang the caller, and
   * the boolean netlink options in `options` (e.g. NETLINK_EXT_ACK) set where the kernel has them.
   */
  static open(protocol: number, name: string, options: readonly number[] = []): NetlinkSocket {
    const what = `Cannot open ${name}`;
    const c = libc();
    const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (fd < 0) fail(what, `socket(AF_NETLINK, ${protocol})`);
    const tv = new Uint8Array(16); // struct timeval { i64 sec; i64 usec }
    new DataView(tv.buffer).setUint32(0, RECV_TIMEOUT_S, true);
    if (c.setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, tv, tv.length) < 0) {
      const e = errno();
      closeQuietly(fd);
      throw new SysError(what, "setsockopt(SO_RCVTIMEO)", e);
    }
    // Best effort: kernels without an option still answer.
    const one = Uint8Array.of(1, 0, 0, 0);
    for (const opt of options) c.setsockopt(fd, SOL_NETLINK, opt, one, 4);
    return new NetlinkSocket(fd, name);
  }

  /** Reserves `n` consecutive sequence numbers and returns the first. */
  nextSeq(n = 1): number {
    const first = (this.#seq + 1) >>> 0;
    this.#seq = (this.#seq + n) >>> 0;
    return first;
  }

  /** Sends one datagram to the kernel. */
  send(msg: Uint8Array, what: string): void {
    if (this.#fd < 0) throw new Error(`${what}: ${this.name} is closed`);
    const kernel = new Uint8Array(12); // struct sockaddr_nl: family, pad, pid 0, groups 0
    kernel[0] = AF_NETLINK;
    const c = libc();
    for (;;) {
      const n = c.sendto(this.#fd, msg, msg.length, 0, kernel, kernel.length);
      if (n === msg.length) return;
      if (n >= 0) throw new SysError(what, "sendto", EMSGSIZE, `sent ${n} of ${msg.length} bytes`);
      if (errno() !== EINTR) fail(what, "sendto(AF_NETLINK)");
    }
  }

  /** Reads one datagram of messages; their bodies live in a buffer the next call reuses. */
  recv(what: string): NetlinkMessage[] {
    const c = libc();
    for (;;) {
      const n = c.recv(this.#fd, this.#buf, BigInt(this.#buf.length), MSG_TRUNC);
      if (n > this.#buf.length) {
        throw new SysError(what, "recv", EMSGSIZE, `a ${n}-byte answer did not fit`);
      }
      if (n >= 0) return decodeMessages(this.#buf.subarray(0, n));
      const e = errno();
      if (e === EINTR) continue;
      if (e === EAGAIN) throw new SysError(what, "recv", e, "the kernel did not answer in time");
      fail(what, "recv(AF_NETLINK)");
    }
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes the socket. Idempotent. */
  close(): void {
    closeQuietly(this.#fd);
    this.#fd = -1;
  }
}
