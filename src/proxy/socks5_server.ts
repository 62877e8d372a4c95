/**
 * The SOCKS5 server (RFC 1928) behind `--socks5-server`: no-auth or RFC 1929
 * username/password (when credentials are configured, no-auth is refused),
 * CONNECT to IPv4, IPv6 and domain-name destinations (names are resolved by
 * the dialer, i.e. `curl --socks5-hostname` semantics), UDP ASSOCIATE (§7),
 * and "command not supported" for BIND.
 *
 * Each connection is independent: a malformed or stalled handshake closes
 * that connection only, and a connection over the limit is closed on arrival.
 *
 * @module
 */

import { ConnTracker } from "./conn_tracker.ts";
import { bytesEqual } from "../bytes/equal.ts";
import { formatIp, unmap } from "../net/ip.ts";
import { ByteReader } from "./byte_reader.ts";
import {
  CMD_CONNECT,
  CMD_UDP_ASSOCIATE,
  DEFAULT_DIAL_TIMEOUT_MS,
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  DEFAULT_MAX_CONNECTIONS,
  METHOD_NO_AUTH,
  METHOD_NONE_ACCEPTABLE,
  METHOD_USERPASS,
  REP_COMMAND_NOT_SUPPORTED,
  REP_CONNECTION_REFUSED,
  REP_GENERAL_FAILURE,
  REP_HOST_UNREACHABLE,
  REP_SUCCEEDED,
} from "./constants.ts";
import { credentialsMatch, type ProxyCredentials } from "./credentials.ts";
import { relay } from "./relay.ts";
import {
  decodeGreeting,
  decodeRequest,
  decodeUdpDatagram,
  decodeUserPass,
  encodeMethodChoice,
  encodeReply,
  encodeUdpDatagram,
  encodeUserPassStatus,
  ipOrNull,
  Socks5CodecError,
  type Socks5Request,
} from "./socks5_codec.ts";
import { dialFailureOf } from "./types.ts";
import type { AcceptedConn, DialFailure, ProxyConn, ProxyDialer } from "./types.ts";
import { bindHostUdp } from "./udp_socket.ts";

/** Options for {@linkcode Socks5Server}. */
export interface Socks5ServerOptions {
  /** Where CONNECT and UDP ASSOCIATE traffic goes. */
  dialer: ProxyDialer;
  /** When set, clients must authenticate with these (no-auth is refused). */
  credentials?: ProxyCredentials;
  /** Time to finish greeting, authentication and request; default 10 s. */
  handshakeTimeoutMs?: number;
  /** Time a CONNECT dial may take; default 15 s. */
  dialTimeoutMs?: number;
  /** Concurrent connections (UDP associations included); default 1024. */
  maxConnections?: number;
  /** Receives one line per notable event (refused client, failed dial). */
  log?: (line: string) => void;
}

/** Maps a dial failure to the REP code a client understands. */
export function replyForDialFailure(kind: DialFailure): number {
  switch (kind) {
    case "refused":
      return REP_CONNECTION_REFUSED;
    case "unreachable":
    case "timeout":
      return REP_HOST_UNREACHABLE;
    default:
      return REP_GENERAL_FAILURE;
  }
}

/**
 * Serves SOCKS5 on accepted connections; {@linkcode handle} one per connection.
 *
 * @example
 * ```ts ignore
 * import { hostDialer } from "./host_dialer.ts";
 * import { fromDenoConn } from "./deno_conn.ts";
 * import { Socks5Server } from "./socks5_server.ts";
 * const server = new Socks5Server({ dialer: hostDialer() });
 * for await (const c of Deno.listen({ port: 1055 })) server.handle(fromDenoConn(c));
 * ```
 */
export class Socks5Server {
  #opts: Socks5ServerOptions;
  readonly #conns: ConnTracker;

  /** Configures the server; it serves nothing until {@linkcode handle} is called. */
  constructor(opts: Socks5ServerOptions) {
    this.#opts = opts;
    this.#conns = new ConnTracker(
      opts.maxConnections ?? DEFAULT_MAX_CONNECTIONS,
      "socks5",
      opts.log,
    );
  }

  /** Connections being served now. */
  get connections(): number {
    return this.#conns.size;
  }

  /**
   * Serves one client connection to its end and closes it. Never rejects.
   */
  async handle(conn: AcceptedConn): Promise<void> {
    await this.#conns.serve(conn, (c) => this.#serve(c));
  }

  /** Closes every connection; later ones are refused. */
  close(): void {
    this.#conns.close();
  }

  #log(line: string): void {
    this.#opts.log?.(line);
  }

  async #serve(conn: AcceptedConn): Promise<void> {
    const timer = setTimeout(
      () => conn.close(),
      this.#opts.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS,
    );
    const reader = new ByteReader(conn.readable, 1024);
    const writer = conn.writable.getWriter();
    let request: Socks5Request;
    try {
      if (!await this.#negotiate(reader, writer)) return;
      try {
        request = await reader.read("SOCKS5 request", decodeRequest);
      } catch (err) {
        if (err instanceof Socks5CodecError) await writer.write(encodeReply(err.reply));
        throw err;
      }
    } finally {
      clearTimeout(timer);
    }
    if (request.command === CMD_CONNECT) {
      await this.#connect(conn, reader, writer, request);
    } else if (request.command === CMD_UDP_ASSOCIATE) {
      await this.#associate(conn, reader, writer, request);
    } else {
      await writer.write(encodeReply(REP_COMMAND_NOT_SUPPORTED));
    }
  }

  /** Greeting and authentication; false when the client was turned away. */
  async #negotiate(
    reader: ByteReader,
    writer: WritableStreamDefaultWriter<Uint8Array>,
  ): Promise<boolean> {
    const methods = await reader.read("SOCKS5 greeting", decodeGreeting);
    const creds = this.#opts.credentials;
    const want = creds === undefined ? METHOD_NO_AUTH : METHOD_USERPASS;
    if (!methods.includes(want)) {
      await writer.write(encodeMethodChoice(METHOD_NONE_ACCEPTABLE));
      this.#log("socks5: client offered no acceptable authentication method");
      return false;
    }
    await writer.write(encodeMethodChoice(want));
    if (creds === undefined) return true;
    const got = await reader.read("SOCKS5 username/password", decodeUserPass);
    const ok = credentialsMatch(creds, got.username, got.password);
    await writer.write(encodeUserPassStatus(ok));
    if (!ok) this.#log(`socks5: wrong credentials for user ${JSON.stringify(got.username)}`);
    return ok;
  }

  async #connect(
    conn: AcceptedConn,
    reader: ByteReader,
    writer: WritableStreamDefaultWriter<Uint8Array>,
    req: Socks5Request,
  ): Promise<void> {
    const { hostname, port } = req.dest;
    const signal = AbortSignal.any([
      this.#conns.signal,
      AbortSignal.timeout(this.#opts.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS),
    ]);
    let upstream: ProxyConn;
    try {
      upstream = await this.#opts.dialer.dialTcp(hostname, port, signal);
    } catch (err) {
      const kind = signal.aborted ? "timeout" : dialFailureOf(err);
      this.#log(`socks5: CONNECT ${hostname}:${port}: ${err instanceof Error ? err.message : err}`);
      await writer.write(encodeReply(replyForDialFailure(kind)));
      return;
    }
    try {
      await writer.write(encodeReply(REP_SUCCEEDED, upstream.localAddr));
    } catch (err) {
      upstream.close();
      throw err;
    }
    writer.releaseLock();
    await relay(conn, upstream, { toUpstream: reader.release() });
  }

  async #associate(
    conn: AcceptedConn,
    reader: ByteReader,
    writer: WritableStreamDefaultWriter<Uint8Array>,
    req: Socks5Request,
  ): Promise<void> {
    const clientIp = ipOrNull(conn.remoteAddr.hostname);
    const localIp = ipOrNull(conn.localAddr.hostname);
    if (clientIp === null || localIp === null) {
      await writer.write(encodeReply(REP_GENERAL_FAILURE));
      return;
    }
    let relaySock, upstream;
    try {
      // The relay listens where the client reached us, so it is reachable by the same route.
      relaySock = await bindHostUdp(formatIp(unmap(localIp)));
      upstream = await this.#opts.dialer.openUdp();
    } catch (err) {
      relaySock?.close();
      this.#log(`socks5: UDP ASSOCIATE: ${err instanceof Error ? err.message : err}`);
      await writer.write(encodeReply(REP_GENERAL_FAILURE));
      return;
    }
    const client = unmap(clientIp);
    // A dual-stack listener reports IPv4 clients as ::ffff:a.b.c.d; the relay socket is plain IPv4 then.
    const clientHost = formatIp(client);
    // RFC 1928 §7: DST.PORT is the port the client will send from, or 0 if it does not know yet.
    let clientPort = req.dest.port === 0 ? null : req.dest.port;
    try {
      await writer.write(encodeReply(REP_SUCCEEDED, relaySock.addr));
      const fromClient = (async () => {
        for (let d = await relaySock.receive(); d !== null; d = await relaySock.receive()) {
          const src = ipOrNull(d.hostname);
          if (src === null || !bytesEqual(unmap(src), client)) continue;
          if (clientPort === null) clientPort = d.port;
          else if (d.port !== clientPort) continue;
          let dg;
          try {
            dg = decodeUdpDatagram(d.data);
          } catch {
            continue;
          }
          if (dg.frag !== 0) continue; // no reassembly; RFC 1928 lets us drop fragments
          upstream.send(dg.data, dg.addr.hostname, dg.addr.port).catch(() => {});
        }
      })();
      const toClient = (async () => {
        for (let d = await upstream.receive(); d !== null; d = await upstream.receive()) {
          if (clientPort === null) continue;
          const wrapped = encodeUdpDatagram(d.hostname, d.port, d.data);
          relaySock.send(wrapped, clientHost, clientPort).catch(() => {});
        }
      })();
      // The association lives as long as its TCP connection (§7); anything sent on it is ignored.
      while (await reader.next() !== null) { /* discard */ }
      relaySock.close();
      upstream.close();
      await Promise.all([fromClient, toClient]);
    } finally {
      relaySock.close();
      upstream.close();
    }
  }
}
