/**
 * SYNs to routed addresses (a subnet router's LAN, an exit node's internet)
 * waiting for their owner's verdict. Unlike a listener, which completes a
 * handshake by itself, a routed connection is accepted only once the host
 * could dial the same destination: so the tailnet client sees a refused or
 * unreachable destination as a reset, as tailscaled's netstack forwarder
 * does, instead of a connection that opens and then dies. While the verdict
 * is pending the SYN's retransmissions are ignored; the verdict comes from
 * a {@linkcode RoutedSyn}'s `accept()` or `refuse()`.
 *
 * @module
 */

import { formatIp } from "../net/ip.ts";
import type { TcpSegment } from "./tcp_segment.ts";
import type { TcpStream } from "./tcp_stream.ts";

/** An address and port as text, as a {@linkcode TcpStream} names its ends. */
export interface RoutedEnd {
  /** The address, formatted. */
  hostname: string;
  /** The port. */
  port: number;
}

/** What a pending SYN needs from its stack. */
export interface RoutedSynHost {
  /** Makes the connection from `syn` (SYN-RECEIVED, its SYN-ACK due); null if the stack closed. */
  _adopt(local: Uint8Array, remote: Uint8Array, syn: TcpSegment): TcpStream | null;
  /** Answers `syn` with a RST from `local`. */
  _refuse(local: Uint8Array, remote: Uint8Array, syn: TcpSegment): void;
}

/** A SYN to a routed address, for its owner to accept (after dialling) or refuse. */
export class RoutedSyn {
  /** Where the tailnet client wants to go: the routed address and port. */
  readonly local: RoutedEnd;
  /** The tailnet client. */
  readonly remote: RoutedEnd;
  readonly #host: RoutedSynHost;
  readonly #pending: Map<string, RoutedSyn>;
  readonly #key: string;
  readonly #localIp: Uint8Array;
  readonly #remoteIp: Uint8Array;
  readonly #syn: TcpSegment;
  #done = false;

  /** Made by {@linkcode RoutedSyns.offer}. */
  constructor(
    host: RoutedSynHost,
    pending: Map<string, RoutedSyn>,
    key: string,
    local: Uint8Array,
    remote: Uint8Array,
    syn: TcpSegment,
  ) {
    this.#host = host;
    this.#pending = pending;
    this.#key = key;
    this.#localIp = local;
    this.#remoteIp = remote;
    this.#syn = syn;
    this.local = { hostname: formatIp(local), port: syn.dstPort };
    this.remote = { hostname: formatIp(remote), port: syn.srcPort };
  }

  /** Whether accept() or refuse() was called. */
  get settled(): boolean {
    return this.#done;
  }

  /**
   * Completes the handshake: the SYN-ACK goes out and the connection is the
   * stream's. Null if already settled or the stack closed.
   */
  accept(): TcpStream | null {
    if (!this.#settle()) return null;
    return this.#host._adopt(this.#localIp, this.#remoteIp, this.#syn);
  }

  /** Resets the client (a destination that refused or could not be reached). */
  refuse(): void {
    if (this.#settle()) this.#host._refuse(this.#localIp, this.#remoteIp, this.#syn);
  }

  #settle(): boolean {
    if (this.#done) return false;
    this.#done = true;
    this.#pending.delete(this.#key);
    return true;
  }
}

/** The pending routed SYNs of one stack, by 4-tuple key. */
export class RoutedSyns {
  readonly #host: RoutedSynHost;
  readonly #pending = new Map<string, RoutedSyn>();

  /** Pending SYNs of `host`. */
  constructor(host: RoutedSynHost) {
    this.#host = host;
  }

  /** SYNs waiting for a verdict. */
  get size(): number {
    return this.#pending.size;
  }

  /** Whether the SYN for `key` waits already (a retransmission, to be ignored). */
  has(key: string): boolean {
    return this.#pending.has(key);
  }

  /** Records a SYN (copied: `syn` may view a reused buffer) and returns its request. */
  offer(key: string, local: Uint8Array, remote: Uint8Array, syn: TcpSegment): RoutedSyn {
    const own = { ...syn, options: { ...syn.options }, payload: syn.payload.slice() };
    const req = new RoutedSyn(this.#host, this.#pending, key, local.slice(), remote.slice(), own);
    this.#pending.set(key, req);
    return req;
  }

  /** Refuses every pending SYN (the stack is closing). */
  refuseAll(): void {
    for (const r of [...this.#pending.values()]) r.refuse();
  }
}
