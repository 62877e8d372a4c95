/**
 * The libc symbol table, errno, and the C struct helpers the rest of `ffi/` builds on.
 *
 * This is the only module that calls `Deno.dlopen`. The library is opened on first use, so
 * importing `ffi/` without `--allow-ffi` only fails when a syscall is actually made.
 *
 * Layouts are for Linux LP64 little-endian (x86_64 and aarch64, which agree on every struct used
 * here). Pointer-sized arguments on the hot path are passed as plain numbers (addresses fit in
 * 53 bits on both architectures), which keeps calls free of BigInt and pointer-object allocation.
 *
 * @module
 */

import { type IpPrefix, maskIp, parseIp as parseIpOrThrow } from "../src/net/ip.ts";

// One IP text codec for the project: formatting is src/net/ip.ts's.
export { formatIp, formatPrefix, type IpPrefix } from "../src/net/ip.ts";

// Constants shared by x86_64 and aarch64 (asm-generic values unless noted).
/** Address family IPv4. */
export const AF_INET = 2;
/** Address family IPv6. */
export const AF_INET6 = 10;
/** Address family of kernel netlink sockets (rtnetlink: routes, rules). */
export const AF_NETLINK = 16;
/** Stream socket type. */
export const SOCK_STREAM = 1;
/** Datagram socket type. */
export const SOCK_DGRAM = 2;
/** Raw socket type (netlink sockets are raw or datagram; rtnetlink tools use raw). */
export const SOCK_RAW = 3;
/** `socket()` type flag: non-blocking. */
export const SOCK_NONBLOCK = 0o4000;
/** `socket()` type flag: close on exec. */
export const SOCK_CLOEXEC = 0o2000000;
/** `open()` flag: read and write. */
export const O_RDWR = 2;
/** `open()` flag: non-blocking. */
export const O_NONBLOCK = 0o4000;
/** `open()` flag: close on exec. */
export const O_CLOEXEC = 0o2000000;
/** `fcntl()` command: get file status flags. */
export const F_GETFL = 3;
/** `fcntl()` command: set file status flags. */
export const F_SETFL = 4;
/** Socket option level for SO_* options. */
export const SOL_SOCKET = 1;
/** Allow reuse of local addresses. */
export const SO_REUSEADDR = 2;
/** Send buffer size (capped by net.core.wmem_max). */
export const SO_SNDBUF = 7;
/** Receive buffer size (capped by net.core.rmem_max). */
export const SO_RCVBUF = 8;
/** Send buffer size ignoring wmem_max; needs CAP_NET_ADMIN. */
export const SO_SNDBUFFORCE = 32;
/** Receive buffer size ignoring rmem_max; needs CAP_NET_ADMIN. */
export const SO_RCVBUFFORCE = 33;
/** Receive timeout, a 16-byte `struct timeval` (SO_RCVTIMEO_OLD, which LP64 uses). */
export const SO_RCVTIMEO = 20;
/** Firewall mark on the socket's outgoing packets (`u32`); setting it needs CAP_NET_ADMIN. */
export const SO_MARK = 36;
/** Protocol level for IPv6 socket options. */
export const IPPROTO_IPV6 = 41;
/** Option and cmsg level of UDP's own options (UDP_SEGMENT, UDP_GRO). */
export const SOL_UDP = 17;
/** Restrict an AF_INET6 socket to IPv6 only (0 = dual stack). */
export const IPV6_V6ONLY = 26;
/** `send`/`recv` flag: do not block. */
export const MSG_DONTWAIT = 0x40;
/** `send` flag: no SIGPIPE when the peer has closed; EPIPE instead. */
export const MSG_NOSIGNAL = 0x4000;
/** `recvmsg` output flag: datagram was larger than the buffer. */
export const MSG_TRUNC = 0x20;
/** `poll` event: readable. */
export const POLLIN = 0x1;
/** `poll` event: writable. */
export const POLLOUT = 0x4;
/** `poll` event: error condition. */
export const POLLERR = 0x8;
/** `poll` event: hang up. */
export const POLLHUP = 0x10;
/** `poll` event: fd not open. */
export const POLLNVAL = 0x20;
/** `eventfd` flag: non-blocking. */
export const EFD_NONBLOCK = 0o4000;
/** `eventfd` flag: close on exec. */
export const EFD_CLOEXEC = 0o2000000;

/** ioctl: attach to or create a TUN/TAP interface, `_IOW('T', 202, int)`. */
export const TUNSETIFF = 0x400454ca;
/** TUNSETIFF flag: layer 3 TUN device. */
export const IFF_TUN = 0x0001;
/** TUNSETIFF flag: no 4-byte packet information header. */
export const IFF_NO_PI = 0x1000;
/** Interface flag: administratively up. */
export const IFF_UP = 0x1;
/** ioctl: add a routing table entry. */
export const SIOCADDRT = 0x890b;
/** ioctl: delete a routing table entry. */
export const SIOCDELRT = 0x890c;
/** ioctl: get interface flags. */
export const SIOCGIFFLAGS = 0x8913;
/** ioctl: set interface flags. */
export const SIOCSIFFLAGS = 0x8914;
/** ioctl: set interface address (IPv4: replace the label's address; IPv6: add). */
export const SIOCSIFADDR = 0x8916;
/** ioctl: set IPv4 netmask. */
export const SIOCSIFNETMASK = 0x891c;
/** ioctl: set MTU. */
export const SIOCSIFMTU = 0x8922;

/** errno: operation not permitted. */
export const EPERM = 1;
/** errno: no such file or directory. */
export const ENOENT = 2;
/** errno: no such process (also: no such route). */
export const ESRCH = 3;
/** errno: interrupted system call. */
export const EINTR = 4;
/** errno: bad file descriptor. */
export const EBADF = 9;
/** errno: try again (would block). */
export const EAGAIN = 11;
/** errno: permission denied. */
export const EACCES = 13;
/** errno: bad address. */
export const EFAULT = 14;
/** errno: device or resource busy. */
export const EBUSY = 16;
/** errno: file exists. */
export const EEXIST = 17;
/** errno: no such device. */
export const ENODEV = 19;
/** errno: invalid argument. */
export const EINVAL = 22;
/** errno: message too long. */
export const EMSGSIZE = 90;
/** errno: no buffer space (a netlink receive queue overflowed; messages were lost). */
export const ENOBUFS = 105;
/** errno: address family not supported. */
export const EAFNOSUPPORT = 97;
/** errno: address already in use. */
export const EADDRINUSE = 98;
/** errno: cannot assign requested address. */
export const EADDRNOTAVAIL = 99;
/** errno: network is unreachable. */
export const ENETUNREACH = 101;
/** errno: no such address family / protocol not supported by the kernel. */
export const EPROTONOSUPPORT = 93;
/** errno: the process is out of file descriptors. */
export const EMFILE = 24;
/** errno: the system is out of file descriptors. */
export const ENFILE = 23;
/** errno: broken pipe (write to a connection the peer closed). */
export const EPIPE = 32;
/** errno: a pending connection was aborted before accept. */
export const ECONNABORTED = 103;
/** errno: connection reset by peer. */
export const ECONNRESET = 104;
/** errno: a non-blocking connect has started and completes later. */
export const EINPROGRESS = 115;

const ERRNO_NAMES: Record<number, string> = {
  1: "EPERM",
  2: "ENOENT",
  3: "ESRCH",
  4: "EINTR",
  5: "EIO",
  9: "EBADF",
  11: "EAGAIN",
  12: "ENOMEM",
  13: "EACCES",
  14: "EFAULT",
  16: "EBUSY",
  17: "EEXIST",
  19: "ENODEV",
  22: "EINVAL",
  23: "ENFILE",
  24: "EMFILE",
  32: "EPIPE",
  77: "EBADFD",
  90: "EMSGSIZE",
  93: "EPROTONOSUPPORT",
  95: "EOPNOTSUPP",
  97: "EAFNOSUPPORT",
  98: "EADDRINUSE",
  99: "EADDRNOTAVAIL",
  100: "ENETDOWN",
  101: "ENETUNREACH",
  103: "ECONNABORTED",
  104: "ECONNRESET",
  105: "ENOBUFS",
  111: "ECONNREFUSED",
  113: "EHOSTUNREACH",
};

/**
 * The libc functions `ffi/` uses, typed as they are called. Pointer arguments that take an
 * address (`number`) are declared `usize` so hot-path calls pass preallocated buffers plus an
 * offset without creating objects; `Uint8Array` arguments are declared `buffer`.
 */
export interface Libc {
  /** `open(2)`: opens `/dev/net/tun` and other device nodes; `path` is NUL-terminated. */
  open(path: Uint8Array, flags: number, mode: number): number;
  /** `close(2)`: releases a descriptor this module opened. */
  close(fd: number): number;
  /**
   * `read(2)` into a raw address, so the TUN read path reuses one preallocated buffer. Address
   * and length are BigInts, as for `sendmmsg`: a number deoptimizes the caller (a TUN read
   * loop measured 572 ns a call with numbers, 358 with BigInts made per call).
   */
  read(fd: number, addr: bigint, len: bigint): number;
  /** `write(2)` from a raw address, the TUN write counterpart of `read` (BigInts likewise). */
  write(fd: number, addr: bigint, len: bigint): number;
  /** `ioctl(2)` with a pointer argument, for TUNSETIFF and the SIOC* interface requests. */
  ioctl(fd: number, request: number, arg: Uint8Array): number;
  /** `socket(2)`: creates the UDP and TCP sockets the data plane uses instead of Deno's own. */
  socket(domain: number, type: number, protocol: number): number;
  /** `bind(2)` to a packed `sockaddr_in`/`sockaddr_in6`. */
  bind(fd: number, addr: Uint8Array, len: number): number;
  /** `setsockopt(2)`: sets options such as `IPV6_V6ONLY` and the socket buffer sizes. */
  setsockopt(fd: number, level: number, name: number, val: Uint8Array, len: number): number;
  /** `getsockopt(2)`: reads back an option (`len` is an in/out `socklen_t`), e.g. `SO_ERROR`. */
  getsockopt(fd: number, level: number, name: number, val: Uint8Array, len: Uint8Array): number;
  /** `getsockname(2)`: learns the port the kernel chose for a socket bound to port 0. */
  getsockname(fd: number, addr: Uint8Array, len: Uint8Array): number;
  /**
   * `sendmmsg(2)`: sends a batch of datagrams in one call from a preallocated `mmsghdr` array.
   * The address is a BigInt: Deno 2.9's fast call for a `usize` argument takes a BigInt, and
   * a number (even a small integer) deoptimizes the calling function, which V8 then optimizes
   * and deoptimizes again — `recvBatch` was recompiled by TurboFan 35–40 times in 200,000
   * calls, 10–23 ms of compiler time each during a download.
   */
  sendmmsg(fd: number, msgvec: bigint, vlen: number, flags: number): number;
  /**
   * `recvmmsg(2)`: receives a batch of datagrams in one call into a preallocated `mmsghdr`
   * array; `msgvec` and `timeout` are BigInts, as for `sendmmsg`.
   */
  recvmmsg(fd: number, msgvec: bigint, vlen: number, flags: number, timeout: bigint): number;
  /** `fcntl(2)` with an integer argument, for `F_GETFL`/`F_SETFL` (such as adding `O_NONBLOCK`). */
  fcntl(fd: number, cmd: number, arg: number): number;
  /** `poll(2)` on the calling thread; only safe with a zero or short timeout. */
  poll(fds: Uint8Array, nfds: bigint, timeout: number): number;
  /** `poll` on Deno's blocking thread pool: costly per call, for waiting only. */
  pollWait(fds: Uint8Array, nfds: bigint, timeout: number): Promise<number>;
  /** `eventfd(2)`: a descriptor another thread writes to so a blocked wait wakes up. */
  eventfd(initval: number, flags: number): number;
  /** `pipe2(2)`: fills `fds` with the read and write ends as two 32-bit integers (tests use it). */
  pipe2(fds: Uint8Array, flags: number): number;
  /** `if_nametoindex(3)`: the kernel index of a named interface, or 0 if there is none. */
  if_nametoindex(name: Uint8Array): number;
  /** `listen(2)`: marks a bound TCP socket as accepting connections. */
  listen(fd: number, backlog: number): number;
  /** `connect(2)` to a packed address; on a non-blocking socket it returns at once (EINPROGRESS). */
  connect(fd: number, addr: Uint8Array, len: number): number;
  /** `accept4(2)`: accepts a connection and sets its flags (such as `SOCK_NONBLOCK`) atomically. */
  accept4(fd: number, addr: Uint8Array, len: Uint8Array, flags: number): number;
  /** `recv(2)` into a `Uint8Array` on a connected socket. */
  recv(fd: number, buf: Uint8Array, len: bigint, flags: number): number;
  /** `send(2)` from a `Uint8Array` on a connected socket. */
  send(fd: number, buf: Uint8Array, len: bigint, flags: number): number;
  /** `sendto(2)` from a `Uint8Array` to a packed address (such as a `sockaddr_nl`). */
  sendto(
    fd: number,
    buf: Uint8Array,
    len: number,
    flags: number,
    addr: Uint8Array,
    addrlen: number,
  ): number;
  /** `epoll_create1(2)`: creates the epoll instance that multiplexes readiness. */
  epoll_create1(flags: number): number;
  /** `epoll_ctl(2)`: adds, changes or removes a descriptor in an epoll set. */
  epoll_ctl(epfd: number, op: number, fd: number, event: Uint8Array): number;
  /** `epoll_wait(2)` on the calling thread, for zero-timeout readiness checks. */
  epoll_wait(epfd: number, events: Uint8Array, max: number, timeout: number): number;
  /** `epoll_wait` on Deno's blocking thread pool: one at a time, for waiting only. */
  epollWaitBlocking(
    epfd: number,
    events: Uint8Array,
    max: number,
    timeout: number,
  ): Promise<number>;
  /** Address of the calling thread's `errno`, read right after a call returns -1. */
  __errno_location(): Deno.PointerValue;
  /** GNU `strerror_r(3)`: returns a pointer to the message, which may not be `buf`. */
  strerror_r(errnum: number, buf: Uint8Array, len: number): Deno.PointerValue;
  /** `ioctl` whose argument is an integer value, not a pointer (such as TUNSETOFFLOAD). */
  ioctlInt(fd: number, request: number, arg: number): number;
  /** `writev(2)` from a raw `iovec` array, so a TUN write sends a virtio header and packet at once. */
  writev(fd: number, iov: bigint, iovcnt: number): number;
  /** `madvise(2)` over a raw address range (page-aligned). */
  madvise(addr: number, len: number, advice: number): number;
  /** `mincore(2)`: one byte per page of a raw, page-aligned range, bit 0 set if resident. */
  mincore(addr: number, len: number, vec: Uint8Array): number;
  /** glibc `malloc_trim(3)`: returns free heap memory to the kernel; 1 if any was released. */
  malloc_trim(pad: number): number;
  /** `setns(2)`: moves the calling thread into the namespace `fd` names (tests' netns hops). */
  setns(fd: number, nstype: number): number;
}

const SYMBOLS = {
  open: { parameters: ["buffer", "i32", "u32"], result: "i32" },
  close: { parameters: ["i32"], result: "i32" },
  // ssize_t results are read as i32: the values fit and -1 survives the truncation.
  read: { parameters: ["i32", "usize", "usize"], result: "i32" },
  write: { parameters: ["i32", "usize", "usize"], result: "i32" },
  ioctl: { parameters: ["i32", "u64", "buffer"], result: "i32" },
  socket: { parameters: ["i32", "i32", "i32"], result: "i32" },
  bind: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  setsockopt: { parameters: ["i32", "i32", "i32", "buffer", "u32"], result: "i32" },
  getsockopt: { parameters: ["i32", "i32", "i32", "buffer", "buffer"], result: "i32" },
  getsockname: { parameters: ["i32", "buffer", "buffer"], result: "i32" },
  sendmmsg: { parameters: ["i32", "usize", "u32", "i32"], result: "i32" },
  recvmmsg: { parameters: ["i32", "usize", "u32", "i32", "usize"], result: "i32" },
  fcntl: { parameters: ["i32", "i32", "i32"], result: "i32" },
  poll: { parameters: ["buffer", "u64", "i32"], result: "i32" },
  pollWait: {
    name: "poll",
    parameters: ["buffer", "u64", "i32"],
    result: "i32",
    nonblocking: true,
  },
  eventfd: { parameters: ["u32", "i32"], result: "i32" },
  pipe2: { parameters: ["buffer", "i32"], result: "i32" },
  if_nametoindex: { parameters: ["buffer"], result: "u32" },
  listen: { parameters: ["i32", "i32"], result: "i32" },
  connect: { parameters: ["i32", "buffer", "u32"], result: "i32" },
  accept4: { parameters: ["i32", "buffer", "buffer", "i32"], result: "i32" },
  recv: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  send: { parameters: ["i32", "buffer", "usize", "i32"], result: "i32" },
  sendto: { parameters: ["i32", "buffer", "usize", "i32", "buffer", "u32"], result: "i32" },
  epoll_create1: { parameters: ["i32"], result: "i32" },
  epoll_ctl: { parameters: ["i32", "i32", "i32", "buffer"], result: "i32" },
  epoll_wait: { parameters: ["i32", "buffer", "i32", "i32"], result: "i32" },
  epollWaitBlocking: {
    name: "epoll_wait",
    parameters: ["i32", "buffer", "i32", "i32"],
    result: "i32",
    nonblocking: true,
  },
  __errno_location: { parameters: [], result: "pointer" },
  strerror_r: { parameters: ["i32", "buffer", "usize"], result: "pointer" },
  ioctlInt: { name: "ioctl", parameters: ["i32", "u64", "u64"], result: "i32" },
  writev: { parameters: ["i32", "usize", "i32"], result: "i32" },
  madvise: { parameters: ["usize", "usize", "i32"], result: "i32" },
  mincore: { parameters: ["usize", "usize", "buffer"], result: "i32" },
  setns: { parameters: ["i32", "i32"], result: "i32" },
  malloc_trim: { parameters: ["usize"], result: "i32" },
} as const satisfies Deno.ForeignLibraryInterface;

let lib: Libc | null = null;
/**
 * The calling thread's errno as a plain Int32Array over its memory: reading it is a load, where
 * `UnsafePointerView.getInt32` is an op call (~5 µs when the thread wakes from an idle wait with
 * cold caches, once per EAGAIN that ends a TUN read batch).
 */
let errnoWord: Int32Array | null = null;

/**
 * The libc symbol table, opened on first call.
 *
 * @example
 * ```ts ignore
 * const fd = libc().socket(AF_INET, SOCK_DGRAM, 0);
 * ```
 */
export function libc(): Libc {
  if (lib === null) {
    // The declared FFI types use bigint for 64-bit integers, but Deno also accepts numbers,
    // which is what the hot path passes; hence the cast to the interface above.
    lib = Deno.dlopen("libc.so.6", SYMBOLS).symbols as unknown as Libc;
    // errno lives at a fixed per-thread address and all sync calls run on this thread (each
    // Worker loads this module, and so opens the library, for itself).
    errnoWord = new Int32Array(Deno.UnsafePointerView.getArrayBuffer(lib.__errno_location()!, 4));
  }
  return lib;
}

/** The calling thread's errno, as left by the last failed synchronous libc call. */
export function errno(): number {
  if (errnoWord === null) libc();
  return errnoWord![0];
}

/** The symbolic name of an errno value, such as `"EPERM"`, or `"errno N"` if unknown. */
export function errnoName(code: number): string {
  return ERRNO_NAMES[code] ?? `errno ${code}`;
}

const strerrorBuf = new Uint8Array(256);

/** The C library's description of an errno value, such as `"Operation not permitted"`. */
export function strerror(code: number): string {
  const p = libc().strerror_r(code, strerrorBuf, strerrorBuf.length);
  if (p === null) return errnoName(code);
  return new Deno.UnsafePointerView(p).getCString();
}

/** Hint shown when a syscall fails for lack of privileges. */
export const HINT_PRIVILEGE = "needs root or CAP_NET_ADMIN";
/** Hint shown when an interface name is already taken. */
export const HINT_BUSY = "interface name is in use";

/**
 * A failed system call, with the errno, the syscall's name and a message that says what was
 * being done and what the user can do about it.
 *
 * @example
 * ```ts ignore
 * try { TunDevice.open("warren0") } catch (e) { if (e instanceof SysError && e.errno === EBUSY) … }
 * ```
 */
export class SysError extends Error {
  /** The errno value. */
  readonly errno: number;
  /** The errno's symbolic name, such as `"EPERM"`. */
  readonly code: string;
  /** The failing libc function, such as `"ioctl(TUNSETIFF)"`. */
  readonly syscall: string;

  /**
   * Builds the message from what failed, the syscall, the errno's name and text, and a hint.
   *
   * @param what What was being attempted, such as `Cannot create TUN interface "warren0"`.
   * @param syscall The libc function (and request) that failed.
   * @param code The errno value.
   * @param hint What the user can do; defaults to a hint derived from the errno.
   */
  constructor(what: string, syscall: string, code: number, hint?: string) {
    const name = errnoName(code);
    let text: string;
    try {
      text = strerror(code).toLowerCase();
    } catch {
      text = name;
    }
    const h = hint ?? defaultHint(code);
    super(`${what}: ${syscall} failed with ${name} (${text})${h ? `; ${h}` : ""}`);
    this.name = "SysError";
    this.errno = code;
    this.code = name;
    this.syscall = syscall;
  }
}

function defaultHint(code: number): string | undefined {
  if (code === EPERM || code === EACCES) return HINT_PRIVILEGE;
  if (code === EBUSY) return HINT_BUSY;
  return undefined;
}

/** Throws a {@link SysError} built from the current errno. */
export function fail(what: string, syscall: string, hint?: string): never {
  throw new SysError(what, syscall, errno(), hint);
}

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** A NUL-terminated UTF-8 copy of `s`. */
export function cString(s: string): Uint8Array {
  const b = encoder.encode(s);
  const out = new Uint8Array(b.length + 1);
  out.set(b);
  return out;
}

/** Decodes a NUL-terminated string stored in `buf[off, off+max)`. */
export function readCString(buf: Uint8Array, off = 0, max = buf.length - off): string {
  let end = off;
  const limit = Math.min(buf.length, off + max);
  while (end < limit && buf[end] !== 0) end++;
  return decoder.decode(buf.subarray(off, end));
}

/** Linux IFNAMSIZ: interface names are at most 15 bytes plus the NUL. */
export const IFNAMSIZ = 16;
/** sizeof(struct ifreq) on LP64. */
export const IFREQ_SIZE = 40;

/** Throws a RangeError unless `name` is a valid Linux interface name (a `%d` pattern is fine). */
export function checkIfName(name: string): void {
  const len = encoder.encode(name).length;
  if (len === 0 || len >= IFNAMSIZ) {
    throw new RangeError(`Invalid interface name "${name}": must be 1 to 15 bytes`);
  }
  if (/[\s/:]/.test(name) || name === "." || name === "..") {
    throw new RangeError(`Invalid interface name "${name}": no whitespace, "/" or ":" allowed`);
  }
}

/**
 * A zeroed `struct ifreq` with `ifr_name` set; the union at offset 16 is for the caller.
 * Labels such as `"eth0:1"` (IPv4 address aliases) are allowed here.
 */
export function ifreq(name: string): Uint8Array {
  const b = encoder.encode(name);
  if (b.length === 0 || b.length >= IFNAMSIZ) {
    throw new RangeError(`Invalid interface name "${name}": must be 1 to 15 bytes`);
  }
  const req = new Uint8Array(IFREQ_SIZE);
  req.set(b);
  return req;
}

/** A 16-byte `struct sockaddr_in` for a 4-byte address and port. */
export function sockaddrIn(ip: Uint8Array, port = 0): Uint8Array {
  if (ip.length !== 4) throw new RangeError(`Invalid IPv4 address: ${ip.length} bytes`);
  const sa = new Uint8Array(16);
  sa[0] = AF_INET; // sa_family is host order; both targets are little-endian
  sa[2] = port >> 8;
  sa[3] = port & 0xff;
  sa.set(ip, 4);
  return sa;
}

/** sizeof(struct sockaddr_in6). */
export const SOCKADDR_IN6_SIZE = 28;

/** A 28-byte `struct sockaddr_in6` for a 16-byte address, port and scope id. */
export function sockaddrIn6(ip: Uint8Array, port = 0, scopeId = 0): Uint8Array {
  if (ip.length !== 16) throw new RangeError(`Invalid IPv6 address: ${ip.length} bytes`);
  const sa = new Uint8Array(SOCKADDR_IN6_SIZE);
  sa[0] = AF_INET6;
  sa[2] = port >> 8;
  sa[3] = port & 0xff;
  sa.set(ip, 8);
  new DataView(sa.buffer).setUint32(24, scopeId, true);
  return sa;
}

/**
 * The memory address of `buf[0]` as a number, for address arithmetic and `iovec` entries;
 * {@linkcode addressBig} gives the BigInt the `usize` arguments take.
 *
 * The caller must keep `buf` alive while the address is in use, and must not use it after the
 * buffer's ArrayBuffer is transferred (its length then reads 0, which callers check).
 */
export function addressOf(buf: Uint8Array): number {
  if (buf.byteLength === 0) return 0;
  const p = Deno.UnsafePointer.of(buf);
  return p === null ? 0 : Number(Deno.UnsafePointer.value(p));
}

/**
 * {@linkcode addressOf} as a BigInt, as a `usize` argument takes it without deoptimizing the
 * caller: for a buffer whose address is passed as is, made once and kept.
 */
export function addressBig(buf: Uint8Array): bigint {
  return BigInt(addressOf(buf));
}

/** Stores a 64-bit address into `u32[i]` (low) and `u32[i+1]` (high) without BigInt. */
export function putAddress(u32: Uint32Array, i: number, addr: number): void {
  u32[i] = addr % 0x100000000;
  u32[i + 1] = Math.floor(addr / 0x100000000);
}

/** `close(fd)`, ignoring errors (for teardown paths). */
export function closeQuietly(fd: number): void {
  if (fd >= 0) libc().close(fd);
}

/**
 * Opens a socket, throwing a {@link SysError} (with `what` as context) when it fails.
 */
export function openSocket(domain: number, type: number, what: string): number {
  const fd = libc().socket(domain, type | SOCK_CLOEXEC, 0);
  if (fd < 0) fail(what, `socket(${domain === AF_INET6 ? "AF_INET6" : "AF_INET"})`);
  return fd;
}

/** Resolves an interface name to its index; 0 if there is no such interface. */
export function ifNameToIndex(name: string): number {
  return libc().if_nametoindex(cString(name));
}

/** Throws a RangeError (prefixed with `what`) unless `p` is a well-formed IPv4 or IPv6 prefix. */
export function checkPrefix(p: IpPrefix, what: string): void {
  const max = p.ip.length === 4 ? 32 : p.ip.length === 16 ? 128 : -1;
  if (max < 0) throw new RangeError(`${what}: address must be 4 or 16 bytes, got ${p.ip.length}`);
  if (!Number.isInteger(p.bits) || p.bits < 0 || p.bits > max) {
    throw new RangeError(`${what}: prefix length ${p.bits} out of range 0-${max}`);
  }
}

/**
 * Parses a dotted-quad IPv4 address to 4 bytes or an IPv6 address (with optional trailing
 * dotted quad) to 16 bytes; null if `s` is neither. No zone, no brackets. The parser is
 * src/net/ip.ts's; this form returns null instead of throwing, for callers that fall back.
 */
export function parseIp(s: string): Uint8Array | null {
  try {
    return parseIpOrThrow(s);
  } catch {
    return null;
  }
}

/** A copy of `p` with the host bits below the prefix length cleared (`p` must be well-formed). */
export function maskPrefix(p: IpPrefix): IpPrefix {
  return { ip: maskIp(p.ip, p.bits), bits: p.bits };
}
