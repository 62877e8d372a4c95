/**
 * The TLS DERP listener over warren's own epoll sockets: an {@link FfiTcpListener} whose
 * connections are wrapped in warren's TLS 1.3 server ({@link TlsServerConn}). Accepting costs
 * the same small objects as plain HTTP; handshake state exists only from the ClientHello to
 * the client's Finished.
 *
 * @module
 */

import { canUseFfiSockets, type FfiListenOptions, FfiTcpListener } from "./ffi_listener.ts";
import type { PushConn } from "./push_conn.ts";
import type { KeepAliveOptions, ServerSocketOptions } from "../../ffi/tcp.ts";
import type { DuplexConn } from "./conn.ts";
import type { ByteReader } from "./frame.ts";
export type { ByteReader, DuplexConn, KeepAliveOptions, PushConn, ServerSocketOptions };
import { TlsServerConn } from "../tls/server_conn.ts";
import { type TlsServerIdentity, tlsServerIdentity } from "../tls/server_identity.ts";

/**
 * A listening socket whose connections speak TLS 1.3.
 *
 * @example
 * ```ts ignore
 * const l = FfiTlsListener.listen({ hostname: "127.0.0.1", port: 0 }, identity);
 * const serving = l.serveConns((conn) => conn.close());
 * l.close();
 * await serving;
 * ```
 */
export class FfiTlsListener {
  /** The bound address. */
  readonly addr: Deno.NetAddr;
  readonly #tcp: FfiTcpListener;
  readonly #identity: TlsServerIdentity;

  private constructor(tcp: FfiTcpListener, identity: TlsServerIdentity) {
    this.#tcp = tcp;
    this.addr = tcp.addr;
    this.#identity = identity;
  }

  /**
   * Binds and listens.
   *
   * @throws {SysError} if the socket cannot be bound
   */
  static listen(opts: FfiListenOptions, identity: TlsServerIdentity): FfiTlsListener {
    return new FfiTlsListener(FfiTcpListener.listen(opts), identity);
  }

  /** Connections accepted and not yet closed. */
  get openConns(): number {
    return this.#tcp.openConns;
  }

  /** Accepts connections (see {@link FfiTcpListener.serveConns}), each as TLS. */
  serveConns(
    onConn: (conn: PushConn, remoteHost: string, remotePort: number) => void,
  ): Promise<void> {
    return this.#tcp.serveConns((conn, host, port) =>
      onConn(new TlsServerConn(conn, this.#identity), host, port)
    );
  }

  /** Stops accepting; open connections keep being served. */
  close(): void {
    this.#tcp.close();
  }
}

/**
 * The listener for DERP over TLS: warren's sockets and TLS 1.3 server when they can serve
 * hostname (see {@link canUseFfiSockets}), else Deno.listenTls. certPem is the chain as
 * sent (with derper's meta certificate after it, if any).
 */
export function listenTlsDerp(
  hostname: string,
  port: number,
  certPem: string,
  keyPem: string,
  logf?: (line: string) => void,
  socket?: ServerSocketOptions,
): FfiTlsListener | Deno.TlsListener {
  if (canUseFfiSockets(hostname)) {
    return FfiTlsListener.listen(
      { hostname, port, logf, socket },
      tlsServerIdentity(certPem, keyPem),
    );
  }
  return Deno.listenTls({ hostname, port, cert: certPem, key: keyPem });
}
