/**
 * The seam between the outbound proxies and whatever carries their traffic:
 * a byte stream, a datagram socket, and a dialer that makes both. The host
 * network and the netstack each implement {@linkcode ProxyDialer}; the SOCKS5
 * and HTTP servers only see these types.
 *
 * @module
 */

/**
 * A connection's received bytes lent in place, for the relay: no copy and no
 * stream chunk per read. Used instead of `readable`, never beside it.
 */
export interface ByteSource {
  /**
   * Waits for bytes and lends the next of them: a view valid until
   * `consume`, or null at end of stream. Rejects when the connection fails.
   */
  peek(): Promise<Uint8Array | null>;
  /** Marks the first `n` bytes of the last view as used; the next peek starts after them. */
  consume(n: number): void;
}

/** A connection's bytes to send, written without a stream; used instead of `writable`. */
export interface ByteSink {
  /**
   * Writes some of `bytes` (at least one), resolving to how many; the caller
   * may reuse `bytes` once it resolves. Rejects when the connection fails.
   */
  write(bytes: Uint8Array): Promise<number>;
  /** Half-closes, as closing `writable` does. */
  closeWrite(): Promise<void>;
}

/** A bidirectional byte stream, shaped like `Deno.Conn`'s streams. */
export interface ProxyConn {
  /** Bytes from the peer; closes at the peer's end of stream. */
  readable: ReadableStream<Uint8Array>;
  /** Bytes to the peer; closing it half-closes (FIN), it does not tear the connection down. */
  writable: WritableStream<Uint8Array>;
  /** Tears the whole connection down; safe to call more than once. */
  close(): void;
  /** The received bytes in place, where the connection can lend them (the relay prefers it). */
  source?: ByteSource;
  /** Sending without a stream, where the connection offers it (the relay prefers it). */
  sink?: ByteSink;
  /** Our end of the connection, when known (a SOCKS5 CONNECT reply reports it as BND.ADDR). */
  localAddr?: ProxyAddr;
}

/** A host (an IP literal or a name) and a port, as `Deno.NetAddr` spells them. */
export interface ProxyAddr {
  /** An IP literal (IPv6 without brackets) or a DNS name. */
  hostname: string;
  /** 0–65535. */
  port: number;
}

/** A connection a proxy server accepted: the stream plus both ends' addresses. */
export interface AcceptedConn extends ProxyConn {
  /** Our end: where the client reached us (the SOCKS5 UDP relay binds to its IP). */
  localAddr: ProxyAddr;
  /** The client's end (SOCKS5 UDP ASSOCIATE only accepts datagrams from its IP). */
  remoteAddr: ProxyAddr;
}

/** One datagram with the address it came from or goes to. */
export interface ProxyDatagram extends ProxyAddr {
  /** The payload. */
  data: Uint8Array;
}

/** An unconnected datagram socket: send anywhere, receive from anyone. */
export interface ProxyDatagramSocket {
  /** Sends one datagram; `hostname` may be a name, which the socket resolves. */
  send(data: Uint8Array, hostname: string, port: number): Promise<void>;
  /** The next datagram, or null once the socket is closed. */
  receive(): Promise<ProxyDatagram | null>;
  /** Closes the socket; a pending {@linkcode receive} resolves null. */
  close(): void;
}

/** Decides where a destination goes and dials it: tailnet names/IPs through the netstack, others from the host. */
export interface ProxyDialer {
  /**
   * Opens a TCP stream to `host:port`; `host` may be a name, resolved by the
   * dialer. Failures should be a {@linkcode ProxyDialError} so the servers can
   * answer with the right reply code (other errors count as general failures).
   */
  dialTcp(host: string, port: number, signal?: AbortSignal): Promise<ProxyConn>;
  /** For SOCKS5 UDP ASSOCIATE: a datagram socket-like object. */
  openUdp(): Promise<ProxyDatagramSocket>;
}

/** Why a dial failed, in the terms a SOCKS5 reply or an HTTP status can express. */
export type DialFailure = "refused" | "unreachable" | "timeout" | "failed";

/** A dial failure with its kind; what a {@linkcode ProxyDialer} throws. */
export class ProxyDialError extends Error {
  /** The kind of failure. */
  readonly kind: DialFailure;
  /**
   * Makes the error.
   * @param kind the kind of failure
   * @param message what failed, naming the destination
   * @param options the underlying error as `cause`
   */
  constructor(kind: DialFailure, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = "ProxyDialError";
    this.kind = kind;
  }
}

/**
 * Classifies any dial error: a {@linkcode ProxyDialError} by its kind, Deno's
 * own socket errors by their class, anything else as "failed".
 *
 * @example
 * ```ts
 * import { dialFailureOf } from "./types.ts";
 * dialFailureOf(new Deno.errors.ConnectionRefused("no")); // "refused"
 * ```
 */
export function dialFailureOf(err: unknown): DialFailure {
  if (err instanceof ProxyDialError) return err.kind;
  if (err instanceof Deno.errors.ConnectionRefused) return "refused";
  if (err instanceof Deno.errors.TimedOut) return "timeout";
  if (err instanceof DOMException && (err.name === "TimeoutError")) return "timeout";
  if (
    err instanceof Deno.errors.NetworkUnreachable || err instanceof Deno.errors.NotFound ||
    err instanceof Deno.errors.AddrNotAvailable
  ) return "unreachable";
  // Name resolution failures come back as plain errors with this text.
  if (
    err instanceof Error && /failed to lookup address|Name or service not known/i.test(err.message)
  ) {
    return "unreachable";
  }
  return "failed";
}
