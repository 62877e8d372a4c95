/**
 * Interface and address change notifications (rtnetlink multicast), so a node can look for new
 * endpoints when the host's network changes instead of waiting for its next periodic round —
 * what tailscaled's netmon does. One non-blocking `NETLINK_ROUTE` socket joined to the link and
 * address groups, waited on by a {@link Poller} on Deno's blocking pool.
 *
 * @module
 */

import {
  AF_NETLINK,
  closeQuietly,
  EAGAIN,
  EINTR,
  ENOBUFS,
  errno,
  fail,
  libc,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_RAW,
  SysError,
} from "./libc.ts";
import {
  decodeLinkChange,
  decodeMessages,
  type LinkChange,
  NETLINK_ROUTE,
  RTMGRP_IPV4_IFADDR,
  RTMGRP_IPV6_IFADDR,
  RTMGRP_LINK,
} from "./netlink_codec.ts";
import { Poller } from "./poll.ts";

const RECV_BUFFER = 64 * 1024;

/**
 * Hears link and address changes until closed. `onChange` gets each datagram's changes; after
 * a receive-queue overflow (ENOBUFS: changes were lost) it gets one entry with ifindex 0, which
 * means "anything may have changed".
 *
 * @example
 * ```ts ignore
 * const mon = LinkMonitor.open((changes) => console.log(changes));
 * // … later
 * await mon.close();
 * ```
 */
export class LinkMonitor {
  readonly #fd: number;
  readonly #poller = new Poller();
  readonly #buf = new Uint8Array(RECV_BUFFER);
  readonly #onChange: (changes: LinkChange[]) => void;
  readonly #onError: (e: Error) => void;
  readonly #loop: Promise<void>;
  #closed = false;

  private constructor(
    fd: number,
    onChange: (changes: LinkChange[]) => void,
    onError: (e: Error) => void,
  ) {
    this.#fd = fd;
    this.#onChange = onChange;
    this.#onError = onError;
    this.#loop = this.#run();
  }

  /**
   * Opens the socket and starts listening. onError hears why monitoring stopped, if it stops
   * before {@link close} (a failing socket; the caller's periodic checks still run).
   *
   * @throws {SysError} if the socket cannot be opened or bound
   */
  static open(
    onChange: (changes: LinkChange[]) => void,
    onError: (e: Error) => void = () => {},
  ): LinkMonitor {
    const what = "Cannot watch network changes";
    const c = libc();
    const fd = c.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC | SOCK_NONBLOCK, NETLINK_ROUTE);
    if (fd < 0) fail(what, "socket(AF_NETLINK)");
    // struct sockaddr_nl: family u16, pad u16, pid u32 (0: the kernel picks), groups u32.
    const sa = new Uint8Array(12);
    const dv = new DataView(sa.buffer);
    dv.setUint16(0, AF_NETLINK, true);
    dv.setUint32(8, RTMGRP_LINK | RTMGRP_IPV4_IFADDR | RTMGRP_IPV6_IFADDR, true);
    if (c.bind(fd, sa, sa.length) < 0) {
      const e = errno();
      closeQuietly(fd);
      throw new SysError(what, "bind(AF_NETLINK)", e);
    }
    return new LinkMonitor(fd, onChange, onError);
  }

  /** Stops listening and closes the socket once the pending wait returns. Idempotent. */
  async close(): Promise<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#poller.wake();
    }
    await this.#loop;
  }

  async #run(): Promise<void> {
    try {
      while (!this.#closed) {
        await this.#poller.wait([this.#fd], -1);
        if (this.#closed) break;
        const changes = this.#drain();
        if (changes.length > 0) this.#onChange(changes);
      }
    } catch (e) {
      this.#onError(e instanceof Error ? e : new Error(String(e)));
    } finally {
      this.#poller.close();
      closeQuietly(this.#fd);
    }
  }

  /** Reads every queued datagram without blocking. */
  #drain(): LinkChange[] {
    const c = libc();
    const out: LinkChange[] = [];
    for (;;) {
      const n = c.recv(this.#fd, this.#buf, BigInt(this.#buf.length), 0);
      if (n < 0) {
        const e = errno();
        if (e === EINTR) continue;
        if (e === ENOBUFS) {
          out.push({ kind: "link", removed: false, ifindex: 0 });
          continue;
        }
        if (e === EAGAIN) return out;
        fail("Cannot read network changes", "recv(AF_NETLINK)");
      }
      let msgs;
      try {
        msgs = decodeMessages(this.#buf.subarray(0, n));
      } catch {
        out.push({ kind: "link", removed: false, ifindex: 0 }); // unreadable: assume anything
        continue;
      }
      for (const m of msgs) {
        const ch = decodeLinkChange(m);
        if (ch) out.push(ch);
      }
    }
  }
}
