/**
 * Non-blocking TCP sockets as raw fds: listen, accept, recv, send and the per-connection
 * options a server sets. Calls are synchronous and never block; they return a count or a
 * negated errno (EAGAIN: not ready, wait for readiness with ffi/epoll.ts), so the hot path
 * allocates nothing for the common outcomes.
 *
 * @module
 */

import {
  AF_INET,
  AF_INET6,
  closeQuietly,
  EINPROGRESS,
  EINTR,
  errno,
  fail,
  formatIp,
  IPPROTO_IPV6,
  IPV6_V6ONLY,
  libc,
  MSG_NOSIGNAL,
  openSocket,
  parseIp,
  SO_MARK,
  SO_REUSEADDR,
  SOCK_CLOEXEC,
  SOCK_NONBLOCK,
  SOCK_STREAM,
  SOCKADDR_IN6_SIZE,
  sockaddrIn,
  sockaddrIn6,
  SOL_SOCKET,
} from "./libc.ts";

/** Protocol level for TCP socket options. */
export const IPPROTO_TCP = 6;
/** TCP option: send small segments at once (no Nagle delay). */
export const TCP_NODELAY = 1;
/** TCP option: idle seconds before the first keep-alive probe. */
export const TCP_KEEPIDLE = 4;
/** TCP option: seconds between keep-alive probes. */
export const TCP_KEEPINTVL = 5;
/** TCP option: unanswered probes before the connection is dropped. */
export const TCP_KEEPCNT = 6;
/** `TCP_USER_TIMEOUT`: ms that sent data may stay unacknowledged before the kernel drops the connection. */
export const TCP_USER_TIMEOUT = 18;
/** Socket option: send TCP keep-alive probes. */
export const SO_KEEPALIVE = 9;
/** Socket option: the pending error of a socket (how a non-blocking connect reports failure). */
export const SO_ERROR = 4;

/** A listening socket. */
export interface TcpListenSocket {
  /** The non-blocking listening fd. */
  fd: number;
  /** The bound address as text (`::` for the dual-stack wildcard). */
  hostname: string;
  /** The bound port (the kernel's choice when 0 was asked). */
  port: number;
}

/**
 * Opens a non-blocking listening TCP socket. `::` listens on IPv6 and IPv4 (dual stack);
 * any other IPv6 address is IPv6 only. `hostname` must be an IP literal.
 *
 * @example
 * ```ts ignore
 * const l = listenTcp("127.0.0.1", 0);
 * console.log(l.port);
 * ```
 * @throws {SyntaxError} if hostname is not an IP address
 * @throws {RangeError} if port is out of range
 * @throws {SysError} if the kernel refuses (address in use, no permission…)
 */
export function listenTcp(hostname: string, port: number, backlog = 4096): TcpListenSocket {
  const { fd, ip, v6, what } = openTcpSocket("listen on", hostname, port, 0);
  try {
    setIntOption(fd, SOL_SOCKET, SO_REUSEADDR, 1, what);
    if (v6) setIntOption(fd, IPPROTO_IPV6, IPV6_V6ONLY, ip.every((b) => b === 0) ? 0 : 1, what);
    const sa = v6 ? sockaddrIn6(ip, port) : sockaddrIn(ip, port);
    if (libc().bind(fd, sa, sa.length) < 0) fail(what, "bind");
    if (libc().listen(fd, backlog) < 0) fail(what, "listen");
    return { fd, hostname: formatIp(ip), port: localPort(fd) };
  } catch (e) {
    closeQuietly(fd);
    throw e;
  }
}

/** How {@link startConnectTcp} prepares the socket before connecting. */
export interface ConnectOptions {
  /**
   * Firewall mark (SO_MARK, needs CAP_NET_ADMIN) set before the SYN goes out, so policy rules
   * route the whole connection by it; 0 or absent: none.
   */
  mark?: number;
}

/**
 * Opens a non-blocking TCP socket with TCP_NODELAY and SO_KEEPALIVE and starts connecting it
 * to ip:port. The connection completes later: wait until the fd is writable, then read the
 * outcome with {@link connectError}.
 *
 * @example
 * ```ts ignore
 * const fd = startConnectTcp("127.0.0.1", 8080, { mark: 0x80000 });
 * // … epoll says fd is writable …
 * if (connectError(fd) !== 0) closeTcp(fd);
 * ```
 * @throws {SyntaxError} if ip is not an IP address
 * @throws {SysError} if the socket cannot be made, marked or the connect is refused at once
 */
export function startConnectTcp(ip: string, port: number, opts: ConnectOptions = {}): number {
  const { fd, ip: addr, v6, what } = openTcpSocket("connect to", ip, port, 1);
  try {
    if (opts.mark) {
      setIntOption(fd, SOL_SOCKET, SO_MARK, opts.mark, `${what}: cannot mark the socket`);
    }
    setServerSocketOptions(fd);
    const sa = v6 ? sockaddrIn6(addr, port) : sockaddrIn(addr, port);
    for (;;) {
      if (libc().connect(fd, sa, sa.length) === 0) break;
      const e = errno();
      if (e === EINTR) continue;
      if (e === EINPROGRESS) break;
      fail(what, "connect");
    }
    return fd;
  } catch (e) {
    closeQuietly(fd);
    throw e;
  }
}

/** The outcome of a connect started by {@link startConnectTcp}: 0 once connected, else the errno. */
export function connectError(fd: number): number {
  return getIntOption(fd, SOL_SOCKET, SO_ERROR);
}

/** The peer of an accepted connection. */
export interface TcpPeer {
  /** The new connection's non-blocking fd. */
  fd: number;
  /** The peer's address as text; IPv4-mapped IPv6 peers are shown as plain IPv4. */
  hostname: string;
  /** The peer's port. */
  port: number;
}

const acceptAddr = new Uint8Array(SOCKADDR_IN6_SIZE);
const acceptLen = new Uint8Array(4);
const acceptLenView = new DataView(acceptLen.buffer);

/**
 * Accepts one pending connection as a non-blocking, close-on-exec fd.
 *
 * @returns the peer, or a negated errno: `-EAGAIN` when none is pending; `-EMFILE`/`-ENFILE`
 *   when out of descriptors; `-ECONNABORTED` for a connection reset before it was accepted
 */
export function acceptTcp(listenFd: number): TcpPeer | number {
  for (;;) {
    acceptLenView.setUint32(0, acceptAddr.length, true);
    const fd = libc().accept4(listenFd, acceptAddr, acceptLen, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      const e = errno();
      if (e === EINTR) continue;
      return -e;
    }
    const { hostname, port } = sockaddrText(acceptAddr);
    return { fd, hostname, port };
  }
}

/** Host and port of a sockaddr_in or sockaddr_in6; v4-mapped addresses become IPv4. */
export function sockaddrText(sa: Uint8Array): { hostname: string; port: number } {
  const family = sa[0] | (sa[1] << 8);
  const port = (sa[2] << 8) | sa[3];
  if (family === AF_INET) return { hostname: formatIp(sa.subarray(4, 8)), port };
  if (family !== AF_INET6) return { hostname: "", port };
  const ip = sa.subarray(8, 24);
  let mapped = ip[10] === 0xff && ip[11] === 0xff;
  for (let i = 0; i < 10 && mapped; i++) mapped = ip[i] === 0;
  return { hostname: formatIp(mapped ? ip.subarray(12) : ip), port };
}

/**
 * Reads what is available into buf.
 *
 * @returns bytes read (> 0), 0 at end of stream, or a negated errno (`-EAGAIN`: nothing yet)
 */
export function recvTcp(fd: number, buf: Uint8Array): number {
  if (buf.length === 0) return 0;
  for (;;) {
    const n = libc().recv(fd, buf, BigInt(buf.length), 0);
    if (n >= 0) return n;
    const e = errno();
    if (e !== EINTR) return -e;
  }
}

/**
 * Writes as much of buf as the socket takes now; never raises SIGPIPE.
 *
 * @returns bytes written (≥ 0), or a negated errno (`-EAGAIN`: the send buffer is full)
 */
export function sendTcp(fd: number, buf: Uint8Array): number {
  if (buf.length === 0) return 0;
  for (;;) {
    const n = libc().send(fd, buf, BigInt(buf.length), MSG_NOSIGNAL);
    if (n >= 0) return n;
    const e = errno();
    if (e !== EINTR) return -e;
  }
}

/** Keep-alive timing for {@link setServerSocketOptions}, in seconds. */
export interface KeepAliveOptions {
  /** Idle time before probing. */
  idle: number;
  /** Time between probes. */
  interval: number;
  /** Probes before the connection is declared dead. */
  count: number;
}

/** How accepted sockets are tuned (see {@link setServerSocketOptions}). */
export interface ServerSocketOptions {
  /** Keep-alive timing; kernel defaults when absent. */
  keepAlive?: KeepAliveOptions;
  /** `TCP_USER_TIMEOUT` in ms; unset (the kernel's ~15 min of retransmissions) when absent or 0. */
  userTimeoutMs?: number;
}

/**
 * Sets TCP_NODELAY and SO_KEEPALIVE, plus the keep-alive timing and user timeout if given, on
 * an accepted socket. Returns false if the socket refused (it may already be gone); that is
 * not fatal.
 */
export function setServerSocketOptions(fd: number, opts: ServerSocketOptions = {}): boolean {
  let ok = setInt(fd, IPPROTO_TCP, TCP_NODELAY, 1) && setInt(fd, SOL_SOCKET, SO_KEEPALIVE, 1);
  const ka = opts.keepAlive;
  if (ka) {
    ok = setInt(fd, IPPROTO_TCP, TCP_KEEPIDLE, ka.idle) &&
      setInt(fd, IPPROTO_TCP, TCP_KEEPINTVL, ka.interval) &&
      setInt(fd, IPPROTO_TCP, TCP_KEEPCNT, ka.count) && ok;
  }
  if (opts.userTimeoutMs) ok = setInt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, opts.userTimeoutMs) && ok;
  return ok;
}

/** Reads an integer socket option; throws a SysError if the socket refuses. */
export function getIntOption(fd: number, level: number, name: number): number {
  const v = new Uint8Array(4);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, 4, true);
  if (libc().getsockopt(fd, level, name, v, len) < 0) {
    fail(`Cannot read socket option ${level}/${name} of fd ${fd}`, "getsockopt");
  }
  return new DataView(v.buffer).getInt32(0, true);
}

/** The local port a socket is bound to. */
function localPort(fd: number): number {
  const sa = new Uint8Array(SOCKADDR_IN6_SIZE);
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, sa.length, true);
  if (libc().getsockname(fd, sa, len) < 0) {
    fail(`Cannot read the address of fd ${fd}`, "getsockname");
  }
  return (sa[2] << 8) | sa[3];
}

/** A non-blocking TCP socket of the family of `host` (an IP literal), for `verb` host:port. */
function openTcpSocket(
  verb: string,
  host: string,
  port: number,
  minPort: number,
): { fd: number; ip: Uint8Array; v6: boolean; what: string } {
  const ip = parseIp(host);
  if (ip === null) throw new SyntaxError(`Cannot ${verb} "${host}": not an IP address`);
  if (!Number.isInteger(port) || port < minPort || port > 65535) {
    throw new RangeError(`Cannot ${verb} port ${port}: out of range ${minPort}-65535`);
  }
  const v6 = ip.length === 16;
  const what = `Cannot ${verb} ${v6 ? `[${host}]` : host}:${port}`;
  return {
    fd: openSocket(v6 ? AF_INET6 : AF_INET, SOCK_STREAM | SOCK_NONBLOCK, what),
    ip,
    v6,
    what,
  };
}

/** Closes a socket fd, ignoring errors. */
export function closeTcp(fd: number): void {
  closeQuietly(fd);
}

const intBuf = new Uint8Array(4);
const intView = new DataView(intBuf.buffer);

function setInt(fd: number, level: number, name: number, value: number): boolean {
  intView.setInt32(0, value, true);
  return libc().setsockopt(fd, level, name, intBuf, 4) === 0;
}

function setIntOption(fd: number, level: number, name: number, value: number, what: string) {
  if (!setInt(fd, level, name, value)) fail(what, `setsockopt(${level}, ${name})`);
}
