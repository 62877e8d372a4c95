/**
 * TCP dials that never loop into warren's own tunnel. With an exit node in
 * use, policy rules send every unmarked packet into the TUN (see
 * `src/daemon/exit_routing.ts`); warren's control (TS2021), DERP and DERP
 * latency probes must keep taking the host's own routes, so their sockets
 * carry tailscaled's "bypass" mark (0x80000), which the rules send to the
 * main table first — tailscaled's `netns` does the same for its sockets.
 *
 * `Deno.connect` gives no way to set `SO_MARK` before the SYN goes out (and
 * marking after connect is too late: the route is already chosen), so once a
 * mark is set here a dial becomes a non-blocking `connect(2)` through FFI on a
 * socket marked first, completed on a shared epoll loop and wrapped as an
 * {@link FfiConn}; TLS runs over it through node:tls (`stream_duplex.ts`).
 * Without a mark (userspace networking, tests, the DERP relay) dials stay
 * `Deno.connect`.
 *
 * The mark is process-wide, as tailscaled's netns setting is: every network of
 * a `tun up --config` file shares the host's routing rules.
 *
 * @module
 */
import { EPOLLERR, EPOLLHUP, EpollLoop, EPOLLOUT } from "../../ffi/epoll.ts";
import { EPERM, SysError } from "../../ffi/libc.ts";
import { closeTcp, connectError, startConnectTcp } from "../../ffi/tcp.ts";
import { FfiConn, type FfiConnHost } from "../derp/ffi_conn.ts";
import { isIpLiteral } from "./ip.ts";
import type { RawStream } from "./stream_duplex.ts";

/** tailscaled's bypass mark (`tsconst.LinuxBypassMarkNum`): packets warren itself sends. */
export const BYPASS_MARK = 0x80000;
/** The mark bits tailscaled claims (`tsconst.LinuxFwmarkMaskNum`): the third byte. */
export const BYPASS_MASK = 0xff0000;

let mark = 0;

/** Makes every later {@link dialTcp} mark its socket with `m` (0: plain `Deno.connect`). */
export function setBypassMark(m: number): void {
  mark = m;
}

/** The mark dials use now, 0 for none. */
export function bypassMark(): number {
  return mark;
}

/** Where to dial. */
export interface DialTcpOptions {
  /** Host name or IP literal. */
  hostname: string;
  /** TCP port. */
  port: number;
  /** Abandons the dial (the socket is closed). */
  signal?: AbortSignal;
}

/** A connected TCP stream; `Deno.TcpConn` and {@link FfiConn} both are. */
export type TcpStream = RawStream;

/**
 * Connects over TCP, with TCP_NODELAY and keep-alive, marked when a bypass
 * mark is set.
 *
 * @example
 * ```ts ignore
 * const conn = await dialTcp({ hostname: "127.0.0.1", port: 8080 });
 * await conn.write(new TextEncoder().encode("hi"));
 * conn.close();
 * ```
 */
export async function dialTcp(opts: DialTcpOptions): Promise<TcpStream> {
  if (mark !== 0) {
    const ip = isIpLiteral(opts.hostname) ? opts.hostname : await resolve(opts.hostname);
    opts.signal?.throwIfAborted();
    try {
      return await connectMarked(ip, opts.port, mark, opts.signal);
    } catch (e) {
      // No CAP_NET_ADMIN (a TUN start about to fail on that): dial unmarked, as before.
      if (!(e instanceof SysError && e.errno === EPERM && e.message.includes("mark"))) throw e;
      mark = 0;
    }
  }
  const tcp = await Deno.connect(opts);
  tcp.setNoDelay(true);
  tcp.setKeepAlive(true);
  return tcp;
}

async function resolve(hostname: string): Promise<string> {
  // Loaded on first use: a node whose DERP and control are named by address never needs it.
  const { lookup } = await import("node:dns/promises");
  const [first] = await lookup(hostname, { all: true });
  if (!first) throw new Error(`Cannot resolve ${hostname}: no address`);
  return first.address;
}

/** The epoll loop marked connections share; it stops when the last one closes. */
class SharedLoop implements FfiConnHost {
  readonly loop = new EpollLoop({ spinMs: 0 });
  readonly readBuf = new Uint8Array(0); // pull mode only: every read brings its own buffer
  #open = 0;

  constructor() {
    void this.loop.run();
  }

  /** Counts one more connection (or connect in progress). */
  acquire(): void {
    this.#open++;
  }

  connClosed(): void {
    if (--this.#open > 0) return;
    this.loop.close();
    if (shared === this) shared = null;
  }
}

let shared: SharedLoop | null = null;

function connectMarked(
  ip: string,
  port: number,
  m: number,
  signal?: AbortSignal,
): Promise<FfiConn> {
  const fd = startConnectTcp(ip, port, { mark: m });
  const host = shared ??= new SharedLoop();
  host.acquire();
  return new Promise((resolve, reject) => {
    const abandon = (e: unknown) => {
      signal?.removeEventListener("abort", onAbort);
      host.loop.forget(fd);
      closeTcp(fd);
      host.connClosed();
      reject(e);
    };
    const onAbort = () => abandon(signal!.reason);
    if (signal?.aborted) return abandon(signal.reason);
    signal?.addEventListener("abort", onAbort, { once: true });
    host.loop.add(fd, EPOLLOUT | EPOLLERR | EPOLLHUP, {
      ready() {
        const err = connectError(fd);
        if (err !== 0) {
          return abandon(new SysError(`Cannot connect to ${ip}:${port}`, "connect", err));
        }
        signal?.removeEventListener("abort", onAbort);
        host.loop.unwatch(fd); // the connection registers what it waits for itself
        resolve(new FfiConn(fd, host, -1));
      },
    });
  });
}
