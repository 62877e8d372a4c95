/**
 * The data plane's UDP socket: one non-blocking dual-stack socket moving batches of datagrams
 * with `recvmmsg`/`sendmmsg`, plus the 28-byte endpoint form (a `struct sockaddr_in6`) the
 * engine stores, compares and copies without objects.
 *
 * @module
 */

import {
  addressOf,
  AF_INET,
  AF_INET6,
  closeQuietly,
  EAFNOSUPPORT,
  EAGAIN,
  EBADF,
  EFAULT,
  EINTR,
  EINVAL,
  EPROTONOSUPPORT,
  errno,
  fail,
  IPPROTO_IPV6,
  IPV6_V6ONLY,
  libc,
  MSG_DONTWAIT,
  putAddress,
  SO_MARK,
  SO_RCVBUF,
  SO_RCVBUFFORCE,
  SO_SNDBUF,
  SO_SNDBUFFORCE,
  SOCK_CLOEXEC,
  SOCK_DGRAM,
  SOCK_NONBLOCK,
  sockaddrIn,
  sockaddrIn6,
  SOL_SOCKET,
  SOL_UDP,
} from "./libc.ts";
import { ENDPOINT_SIZE, endpointToV4, sameEndpoint, v4ToEndpoint } from "./endpoint.ts";
import {
  IOV_WORDS,
  MMSG_WORDS,
  msgAt,
  MsgVec,
  W_CONTROL,
  W_CONTROLLEN,
  W_IOV,
  W_IOVLEN,
  W_LEN,
  W_NAMELEN,
} from "./mmsg.ts";
import {
  GRO_COALESCED_MESSAGES,
  GRO_CONTROL,
  GRO_MAX_MESSAGES,
  GRO_MESSAGE_BYTES,
  GroReceiver,
  PAGE,
  UDP_GRO,
} from "./udp_gro.ts";

export {
  ENDPOINT_SIZE,
  endpointEquals,
  endpointFromIp,
  endpointFromString,
  endpointIp,
  endpointPort,
  endpointToString,
} from "./endpoint.ts";

/** Default largest batch one `recvmmsg`/`sendmmsg` call moves. */
export const DEFAULT_MAX_BATCH = 128;

/** Default socket buffer size requested when none is given (as wireguard-go does). */
export const DEFAULT_SOCKET_BUFFER = 7 << 20;

/** What another thread needs to use a bound socket; plain data, so it crosses `postMessage`. */
export interface UdpHandle {
  /** The socket's fd. */
  fd: number;
  /** The bound port. */
  port: number;
  /** AF_INET6 dual-stack, or the IPv4-only fallback. */
  dualStack: boolean;
  /** Most datagrams per batch call. */
  maxBatch: number;
  /** Whether sends use UDP GSO. */
  gso: boolean;
  /** Whether the fd has UDP GRO on (receives must then take coalesced messages apart). */
  gro: boolean;
}

/** setsockopt/cmsg type for UDP GSO: `u16` segment size (linux/udp.h). */
const UDP_SEGMENT = 103;
/** CMSG_SPACE(sizeof(u16)) and CMSG_LEN(sizeof(u16)) on LP64. */
const CMSG_SPACE_U16 = 24;
const CMSG_LEN_U16 = 18;
/** Most datagrams in one UDP GSO send (UDP_MAX_SEGMENTS on older kernels). */
const GSO_MAX_SEGMENTS = 64;
/** Most payload bytes in one UDP GSO send: under the 65507 an IPv4 datagram can carry. */
const GSO_MAX_BYTES = 65000;

/** Options for {@link UdpSocket.bind}. */
export interface UdpSocketOptions {
  /** Receive buffer bytes to request (default 7 MiB; 0 keeps the kernel default). */
  rcvbuf?: number;
  /** Send buffer bytes to request (default 7 MiB; 0 keeps the kernel default). */
  sndbuf?: number;
  /** Most datagrams moved per syscall (default 128). */
  maxBatch?: number;
  /**
   * Use an AF_INET socket even if IPv6 is available (the fallback taken automatically when
   * the kernel has no IPv6). Endpoints stay 28-byte sockaddr_in6, IPv4-mapped.
   */
  ipv4Only?: boolean;
  /**
   * Send runs of equal-size datagrams to one endpoint as one UDP GSO message (`UDP_SEGMENT`),
   * so the kernel's send path runs once per run instead of once per datagram. Turned off for
   * good the first time the kernel refuses one. Dual-stack sockets only. Default: the
   * `WARREN_UDP_GSO` environment variable (`0` turns it off), else on.
   */
  gso?: boolean;
  /**
   * Ask the kernel for UDP GRO (`UDP_GRO`): a run of datagrams from one sender, such as one UDP
   * GSO send, may arrive as one coalesced message, which {@linkcode UdpSocket.recvBatch} takes
   * apart again, so callers still see one datagram per buffer. Stays off if the kernel refuses.
   * Default: the `WARREN_UDP_GRO` environment variable (`0` turns it off), else on.
   */
  gro?: boolean;
}

/**
 * A non-blocking UDP socket bound on all addresses. It is dual-stack (AF_INET6 with
 * IPV6_V6ONLY off, IPv4 peers appear as `::ffff:a.b.c.d`); where the kernel has no IPv6 it
 * falls back to AF_INET and translates, so endpoints are always 28-byte sockaddr_in6.
 *
 * @example
 * ```ts ignore
 * const sock = UdpSocket.bind(41641);
 * const n = sock.recvBatch(bufs, sizes, addrs);
 * sock.sendBatch(bufs, sizes, addrs, n);
 * sock.close();
 * ```
 */
export class UdpSocket {
  /** The socket's file descriptor. */
  readonly fd: number;
  /** The bound local port. */
  readonly port: number;
  /** True if the socket is AF_INET6 dual-stack, false for the IPv4-only fallback. */
  readonly dualStack: boolean;
  /** With GRO on: received messages that the kernel had coalesced from several datagrams. */
  coalescedReads = 0;
  #closed = false;
  #recv: MsgVec;
  #send: MsgVec;
  // IPv4 fallback: per-slot sockaddr_in scratch that sends point at.
  #v4names: Uint8Array | null = null;
  // UDP GSO: messages whose iovecs point into a pool of one iovec per datagram, each with a
  // UDP_SEGMENT cmsg of its own.
  #gso: { msg: MsgVec; pool: MsgVec; cmsg: Uint8Array; first: Int32Array; n: Int32Array } | null =
    null;
  // UDP GRO: receives land in messages of 64 KiB each, split from there into the caller's buffers.
  #gro: GroReceiver | null = null;

  private constructor(
    fd: number,
    port: number,
    dualStack: boolean,
    max: number,
    gso: boolean,
    gro: boolean,
  ) {
    this.fd = fd;
    this.port = port;
    this.dualStack = dualStack;
    this.#recv = new MsgVec(max);
    this.#send = new MsgVec(max);
    if (gro) this.#gro = new GroReceiver(Math.min(GRO_MAX_MESSAGES, max));
    if (gso && dualStack) {
      const msg = new MsgVec(max);
      const cmsg = new Uint8Array(max * CMSG_SPACE_U16);
      const cdv = new DataView(cmsg.buffer);
      const cmsgAddr = addressOf(cmsg);
      for (let k = 0; k < max; k++) {
        cdv.setUint32(k * CMSG_SPACE_U16, CMSG_LEN_U16, true);
        cdv.setInt32(k * CMSG_SPACE_U16 + 8, SOL_UDP, true);
        cdv.setInt32(k * CMSG_SPACE_U16 + 12, UDP_SEGMENT, true);
        putAddress(msg.hdr32, k * MMSG_WORDS + W_CONTROL, cmsgAddr + k * CMSG_SPACE_U16);
        msg.hdr32[k * MMSG_WORDS + W_NAMELEN] = ENDPOINT_SIZE;
      }
      this.#gso = {
        msg,
        pool: new MsgVec(max),
        cmsg,
        first: new Int32Array(max),
        n: new Int32Array(max),
      };
    }
    if (!dualStack) {
      this.#v4names = new Uint8Array(max * 16);
      for (let k = 0; k < max; k++) {
        this.#send.setName(k, this.#v4names.subarray(k * 16, k * 16 + 16), 16);
        this.#send.hdr32[k * MMSG_WORDS + W_NAMELEN] = 16;
      }
    } else {
      for (let k = 0; k < max; k++) this.#send.hdr32[k * MMSG_WORDS + W_NAMELEN] = ENDPOINT_SIZE;
    }
  }

  /**
   * A socket object on an fd another UdpSocket bound (in another Worker, say), with buffers of
   * its own: fds are the process's. Closing it closes the fd; leave that to the opener.
   */
  static adopt(h: UdpHandle): UdpSocket {
    return new UdpSocket(h.fd, h.port, h.dualStack, h.maxBatch, h.gso, h.gro);
  }

  /** The fd and facts {@linkcode UdpSocket.adopt} needs. */
  get handle(): UdpHandle {
    return {
      fd: this.fd,
      port: this.port,
      dualStack: this.dualStack,
      maxBatch: this.#recv.max,
      gso: this.gso,
      gro: this.gro,
    };
  }

  /**
   * Opens and binds a socket on `port` (0 picks a free one). Socket buffers are set with
   * SO_RCVBUFFORCE/SO_SNDBUFFORCE where permitted, else SO_RCVBUF/SO_SNDBUF (capped by the
   * kernel's rmem_max/wmem_max).
   */
  static bind(port: number, opts: UdpSocketOptions = {}): UdpSocket {
    if (!Number.isInteger(port) || port < 0 || port > 65535) {
      throw new RangeError(`Invalid UDP port ${port}: must be 0-65535`);
    }
    const max = opts.maxBatch ?? DEFAULT_MAX_BATCH;
    if (!Number.isInteger(max) || max < 1 || max > 1024) {
      throw new RangeError(`Invalid maxBatch ${max}: must be 1-1024`);
    }
    const what = `Cannot bind UDP port ${port}`;
    const c = libc();
    const type = SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC;
    let dualStack = !opts.ipv4Only;
    let fd = dualStack ? c.socket(AF_INET6, type, 0) : -1;
    if (fd < 0 && dualStack) {
      const e = errno();
      if (e !== EAFNOSUPPORT && e !== EPROTONOSUPPORT) fail(what, "socket(AF_INET6)");
      dualStack = false;
    }
    if (!dualStack) {
      fd = c.socket(AF_INET, type, 0);
      if (fd < 0) fail(what, "socket(AF_INET)");
    }
    try {
      const one = new Uint8Array(4);
      if (dualStack) {
        if (c.setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, one, 4) < 0) {
          fail(what, "setsockopt(IPV6_V6ONLY)");
        }
      }
      setBuffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, opts.rcvbuf ?? DEFAULT_SOCKET_BUFFER, what);
      setBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, opts.sndbuf ?? DEFAULT_SOCKET_BUFFER, what);
      const sa = dualStack
        ? sockaddrIn6(new Uint8Array(16), port)
        : sockaddrIn(new Uint8Array(4), port);
      if (c.bind(fd, sa, sa.length) < 0) fail(what, "bind");
      const len = new Uint8Array(4);
      new DataView(len.buffer).setUint32(0, sa.length, true);
      if (c.getsockname(fd, sa, len) < 0) fail(what, "getsockname");
      const gro = (opts.gro ?? envDefault("WARREN_UDP_GRO")) &&
        c.setsockopt(fd, SOL_UDP, UDP_GRO, new Uint8Array([1, 0, 0, 0]), 4) === 0;
      const gso = opts.gso ?? envDefault("WARREN_UDP_GSO");
      return new UdpSocket(fd, (sa[2] << 8) | sa[3], dualStack, max, gso, gro);
    } catch (e) {
      closeQuietly(fd);
      throw e;
    }
  }

  /**
   * Receives up to `min(bufs.length, addrs.length, maxBatch)` datagrams without blocking.
   * Datagram `i` lands in `bufs[i]` at `offset`, its length in `sizes[i]` and its sender in
   * `addrs[i]` (28 bytes). Returns the count, 0 when nothing is waiting. A datagram longer than
   * the room after `offset` is truncated.
   *
   * With GRO on, one call makes at most one `recvmmsg`, and coalesced messages are split into
   * `bufs` with one copy per datagram; what does not fit stays for the next call (see
   * {@linkcode UdpSocket.pending}), in order.
   */
  recvBatch(bufs: Uint8Array[], sizes: number[], addrs: Uint8Array[], offset = 0): number {
    if (this.#closed) throw new Error(`Cannot receive on UDP port ${this.port}: socket is closed`);
    if (this.#gro !== null) return this.#recvGro(bufs, sizes, addrs, offset);
    const v = this.#recv;
    const n = Math.min(bufs.length, addrs.length, v.max);
    const hdr32 = v.hdr32;
    const iov32 = v.iov32;
    for (let k = 0; k < n; k++) {
      const buf = bufs[k];
      v.setBuf(k, buf, offset);
      iov32[k * IOV_WORDS + 2] = buf.byteLength - offset;
      v.setName(k, addrs[k], ENDPOINT_SIZE);
      hdr32[k * MMSG_WORDS + W_NAMELEN] = ENDPOINT_SIZE;
    }
    const r = this.#recvmmsg(v, n);
    for (let k = 0; k < r; k++) sizes[k] = hdr32[k * MMSG_WORDS + W_LEN];
    if (!this.dualStack) { for (let k = 0; k < r; k++) v4ToEndpoint(addrs[k]); }
    return r;
  }

  /**
   * One non-blocking `recvmmsg` of up to `n` messages into `v`; 0 on EAGAIN, or on an
   * asynchronous socket error (ICMP-reported) that the next call clears.
   */
  #recvmmsg(v: MsgVec, n: number): number {
    const c = libc();
    for (;;) {
      const r = c.recvmmsg(this.fd, v.hdrBig, n, MSG_DONTWAIT, 0n);
      if (r >= 0) return r;
      const e = errno();
      if (e === EINTR) continue;
      if (e === EBADF || e === EFAULT || e === EINVAL) {
        fail(`Cannot receive on UDP port ${this.port}`, "recvmmsg");
      }
      return 0;
    }
  }

  /** Whether receives use UDP GRO (asked for, and the kernel took `UDP_GRO`). */
  get gro(): boolean {
    return this.#gro !== null;
  }

  /**
   * Bytes of the GRO receive room resident in memory now (0 without GRO): at most 8 messages'
   * room stays written once the kernel coalesces, whatever a burst touched before.
   */
  groResidentBytes(): number {
    return this.#gro?.residentBytes() ?? 0;
  }

  /**
   * Whether datagrams already received from the kernel wait for the next
   * {@linkcode UdpSocket.recvBatch}: they do not make the fd readable, so a loop that polls
   * must not wait while this is true. Only ever true with GRO on.
   */
  get pending(): boolean {
    const g = this.#gro;
    return g !== null && g.cur < g.count;
  }

  #recvGro(bufs: Uint8Array[], sizes: number[], addrs: Uint8Array[], offset: number): number {
    const g = this.#gro!;
    const n = Math.min(bufs.length, addrs.length);
    // Checked before the read, as the plain path's iovec setup does, so nothing read is lost.
    for (let k = 0; k < n; k++) {
      if (bufs[k].byteLength <= offset) {
        throw new RangeError(`UDP buffer ${k} has no room after offset ${offset}`);
      }
      if (addrs[k].byteLength < ENDPOINT_SIZE) {
        throw new RangeError(
          `UDP endpoint ${k} must be at least ${ENDPOINT_SIZE} bytes, got ${addrs[k].length}`,
        );
      }
    }
    let out = 0;
    let read = false;
    while (out < n) {
      if (g.cur >= g.count) {
        if (read || !this.#readGro(g)) break;
        read = true;
      }
      const k = g.cur, len = g.len[k], seg = g.seg[k], name = g.names[k];
      do {
        const size = Math.min(seg, len - g.pos);
        const dst = bufs[out];
        const room = dst.byteLength - offset;
        if (size === seg && size <= room) dst.set(g.segment(k, g.pos / seg), offset);
        else {
          // A short last segment, or one longer than the room: a view made for it alone.
          const at = k * GRO_MESSAGE_BYTES + g.pos;
          dst.set(g.bytes.subarray(at, at + Math.min(size, room)), offset);
        }
        sizes[out] = Math.min(size, room);
        addrs[out].set(name);
        out++;
        g.pos += size;
      } while (g.pos < len && out < n);
      if (g.pos >= len) {
        g.cur++;
        g.pos = 0;
      }
    }
    return out;
  }

  /** One `recvmmsg` into the GRO messages; false when nothing was waiting. */
  #readGro(g: GroReceiver): boolean {
    const v = g.msg, hdr32 = v.hdr32, want = g.want;
    for (let k = 0; k < want; k++) {
      hdr32[k * MMSG_WORDS + W_NAMELEN] = ENDPOINT_SIZE;
      hdr32[k * MMSG_WORDS + W_CONTROLLEN] = GRO_CONTROL;
      hdr32[k * MMSG_WORDS + W_CONTROLLEN + 1] = 0;
    }
    g.cur = g.count = 0;
    // A burst met with the full 64 messages can have written 4 MiB; steady state needs 8 × 64 KiB.
    if (g.spilled) g.release();
    const r = this.#recvmmsg(v, want);
    let coalesced = 0;
    for (let k = 0; k < r; k++) {
      const len = hdr32[k * MMSG_WORDS + W_LEN];
      const seg = g.segmentSize(k, hdr32[k * MMSG_WORDS + W_CONTROLLEN]);
      g.len[k] = len;
      // A message without a UDP_GRO cmsg is one datagram (a zero-length one still counts).
      const split = seg > 0 && seg < len;
      g.seg[k] = split ? seg : Math.max(len, 1);
      if (split) coalesced++;
      if (len > PAGE && k >= GRO_COALESCED_MESSAGES) g.spilled = true;
      if (!this.dualStack) v4ToEndpoint(g.names[k]);
    }
    this.coalescedReads += coalesced;
    g.want = coalesced > 0 ? Math.min(GRO_COALESCED_MESSAGES, v.max) : v.max;
    g.count = r;
    g.pos = 0;
    return r > 0;
  }

  /**
   * Sends `bufs[i].subarray(offset, offset + sizes[i])` to `addrs[i]` for `i < count`. Returns
   * how many were consumed: it stops early only when the socket buffer is full (EAGAIN); a
   * datagram the kernel refuses (ENETUNREACH, EMSGSIZE, an IPv6 peer on the IPv4 fallback, …)
   * is dropped and counted as consumed.
   */
  sendBatch(
    bufs: Uint8Array[],
    sizes: number[],
    addrs: Uint8Array[],
    count: number,
    offset = 0,
  ): number {
    if (this.#closed) throw new Error(`Cannot send on UDP port ${this.port}: socket is closed`);
    if (this.#gso !== null && count > 1) return this.#sendGso(bufs, sizes, addrs, count, offset);
    const v = this.#send;
    const iov32 = v.iov32;
    const v4names = this.#v4names;
    const c = libc();
    let done = 0;
    while (done < count) {
      const n = Math.min(count - done, v.max);
      for (let k = 0; k < n; k++) {
        const buf = bufs[done + k];
        const size = sizes[done + k];
        if (size < 0 || offset + size > buf.byteLength) {
          throw new RangeError(
            `UDP send ${
              done + k
            }: size ${size} at offset ${offset} exceeds buffer of ${buf.byteLength}`,
          );
        }
        v.setBuf(k, buf, offset);
        iov32[k * IOV_WORDS + 2] = size;
        if (v4names === null) v.setName(k, addrs[done + k], ENDPOINT_SIZE);
        else endpointToV4(addrs[done + k], v4names, k * 16);
      }
      let sent = 0;
      while (sent < n) {
        const r = c.sendmmsg(this.fd, msgAt(v, sent), n - sent, MSG_DONTWAIT);
        if (r > 0) {
          sent += r;
          continue;
        }
        const e = errno();
        if (e === EINTR) continue;
        if (e === EAGAIN) return done + sent;
        if (e === EBADF || e === EFAULT) fail(`Cannot send on UDP port ${this.port}`, "sendmmsg");
        sent++; // the first datagram of the call failed on its own: drop it and go on
      }
      done += n;
    }
    return done;
  }

  /** Whether sends still use UDP GSO (off when not asked for, or after the kernel refused). */
  get gso(): boolean {
    return this.#gso !== null;
  }

  #sendGso(
    bufs: Uint8Array[],
    sizes: number[],
    addrs: Uint8Array[],
    count: number,
    offset: number,
  ): number {
    const g = this.#gso!;
    const { msg, pool, cmsg } = g;
    const hdr32 = msg.hdr32, iov32 = pool.iov32;
    const c = libc();
    let done = 0;
    while (done < count) {
      // Group runs: same endpoint, same size, a shorter datagram only as a run's last.
      let d = done, e = 0;
      while (d < count && e < msg.max && d - done < pool.max) {
        const size = sizes[d];
        const ep = addrs[d];
        let j = 1, total = size;
        while (
          d + j < count && j < GSO_MAX_SEGMENTS && d + j - done < pool.max && size > 0 &&
          sizes[d + j] <= size && sizes[d + j] > 0 && total + sizes[d + j] <= GSO_MAX_BYTES &&
          sameEndpoint(addrs[d + j], ep)
        ) {
          total += sizes[d + j];
          j++;
          if (sizes[d + j - 1] < size) break;
        }
        for (let q = 0; q < j; q++) {
          const buf = bufs[d + q], sz = sizes[d + q], slot = d - done + q;
          if (sz < 0 || offset + sz > buf.byteLength) {
            throw new RangeError(
              `UDP send ${
                d + q
              }: size ${sz} at offset ${offset} exceeds buffer of ${buf.byteLength}`,
            );
          }
          pool.setBuf(slot, buf, offset);
          iov32[slot * IOV_WORDS + 2] = sz;
        }
        const w = e * MMSG_WORDS;
        msg.setName(e, ep, ENDPOINT_SIZE);
        putAddress(hdr32, w + W_IOV, pool.iovAddr + (d - done) * IOV_WORDS * 4);
        hdr32[w + W_IOVLEN] = j;
        hdr32[w + W_IOVLEN + 1] = 0;
        hdr32[w + W_CONTROLLEN] = j > 1 ? CMSG_SPACE_U16 : 0;
        hdr32[w + W_CONTROLLEN + 1] = 0;
        cmsg[e * CMSG_SPACE_U16 + 16] = size & 0xff;
        cmsg[e * CMSG_SPACE_U16 + 17] = size >> 8;
        g.first[e] = d;
        g.n[e] = j;
        e++;
        d += j;
      }
      let sent = 0;
      while (sent < e) {
        const r = c.sendmmsg(this.fd, msgAt(msg, sent), e - sent, MSG_DONTWAIT);
        if (r > 0) {
          sent += r;
          continue;
        }
        const err = errno();
        if (err === EINTR) continue;
        if (err === EAGAIN) return g.first[sent];
        if (err === EBADF || err === EFAULT) {
          fail(`Cannot send on UDP port ${this.port}`, "sendmmsg");
        }
        if (g.n[sent] > 1) {
          // The kernel or the route refuses GSO (EIO without checksum offload, EINVAL past the
          // path MTU…): plain sends from here on.
          this.#gso = null;
          const from = g.first[sent];
          return from + this.sendBatch(
            bufs.slice(from),
            sizes.slice(from),
            addrs.slice(from),
            count - from,
            offset,
          );
        }
        sent++; // one plain datagram failed on its own: drop it and go on
      }
      done = d;
    }
    return done;
  }

  /** The kernel's effective receive and send buffer sizes (it doubles what was requested). */
  bufferSizes(): { rcvbuf: number; sndbuf: number } {
    const get = (opt: number) => {
      const val = new Uint8Array(4);
      const len = new Uint8Array([4, 0, 0, 0]);
      if (libc().getsockopt(this.fd, SOL_SOCKET, opt, val, len) < 0) {
        fail(`Cannot read socket buffer size of UDP port ${this.port}`, "getsockopt");
      }
      return new DataView(val.buffer).getInt32(0, true);
    };
    return { rcvbuf: get(SO_RCVBUF), sndbuf: get(SO_SNDBUF) };
  }

  /**
   * Sets the firewall mark (SO_MARK) on every packet the socket sends, 0 to clear it. A full
   * tunnel's policy rules route marked packets around the tunnel, so the mark must be set before
   * the first datagram leaves. Needs root or CAP_NET_ADMIN.
   *
   * @example
   * ```ts ignore
   * const sock = UdpSocket.bind(51820);
   * sock.setMark(51820); // wg-quick's `not fwmark 51820 table 51820` now skips this socket
   * ```
   */
  setMark(mark: number): void {
    if (!Number.isInteger(mark) || mark < 0 || mark > 0xffffffff) {
      throw new RangeError(`Invalid socket mark ${mark}: must be 0-4294967295`);
    }
    if (this.#closed) throw new Error(`Cannot mark UDP port ${this.port}: socket is closed`);
    const val = new Uint8Array(4);
    new DataView(val.buffer).setUint32(0, mark, true);
    if (libc().setsockopt(this.fd, SOL_SOCKET, SO_MARK, val, 4) < 0) {
      fail(`Cannot set mark ${mark} on UDP port ${this.port}`, "setsockopt(SO_MARK)");
    }
  }

  /** The socket's firewall mark (SO_MARK), 0 if none. */
  mark(): number {
    const val = new Uint8Array(4);
    const len = new Uint8Array([4, 0, 0, 0]);
    if (libc().getsockopt(this.fd, SOL_SOCKET, SO_MARK, val, len) < 0) {
      fail(`Cannot read the mark of UDP port ${this.port}`, "getsockopt(SO_MARK)");
    }
    return new DataView(val.buffer).getUint32(0, true);
  }

  /** Same as close(), for `using`. */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Closes the socket. Idempotent. */
  close(): void {
    if (this.#closed) return;
    this.#closed = true;
    closeQuietly(this.fd);
  }
}

function setBuffer(fd: number, force: number, plain: number, bytes: number, what: string) {
  if (bytes === 0) return;
  if (!Number.isInteger(bytes) || bytes < 0 || bytes > 0x7fffffff) {
    throw new RangeError(`Invalid socket buffer size ${bytes}`);
  }
  const val = new Uint8Array(4);
  new DataView(val.buffer).setInt32(0, bytes, true);
  const c = libc();
  if (c.setsockopt(fd, SOL_SOCKET, force, val, 4) === 0) return;
  if (c.setsockopt(fd, SOL_SOCKET, plain, val, 4) < 0) {
    fail(what, `setsockopt(${plain === SO_RCVBUF ? "SO_RCVBUF" : "SO_SNDBUF"})`);
  }
}

/** The default for an on-unless-`0` option such as {@linkcode UdpSocketOptions.gso}. */
function envDefault(name: string): boolean {
  try {
    return Deno.env.get(name) !== "0";
  } catch {
    return true; // no env permission
  }
}
