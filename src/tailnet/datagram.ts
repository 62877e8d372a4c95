/**
 * Tailnet UDP shaped like `Deno.DatagramConn`: `send` to a peer (by IP or
 * MagicDNS name), `receive` with the sender's address, `for await` over
 * what arrives, over the userspace stack's UDP endpoints.
 *
 * @module
 */

import { formatIp } from "../net/ip.ts";

/** Turns a hostname (IP literal or MagicDNS name) into an address, or throws. */
export type ResolveIp = (hostname: string) => Promise<Uint8Array>;

/** A bound UDP endpoint of the stack, as {@linkcode TailnetDatagramConn} wraps it (`UdpEndpoint` fits). */
export interface TailnetUdpEndpoint {
  /** The bound port. */
  readonly port: number;
  /** Whether it was closed. */
  readonly closed: boolean;
  /** Sends one datagram. */
  send(payload: Uint8Array, to: { ip: Uint8Array; port: number }): void;
  /** The next datagram; rejects once closed. */
  receive(): Promise<{ src: { ip: Uint8Array; port: number }; payload: Uint8Array }>;
  /** Unbinds. */
  close(): void;
}

/** A bound UDP port on the node's tailnet addresses, shaped like `Deno.DatagramConn`. */
export class TailnetDatagramConn implements AsyncIterable<[Uint8Array, Deno.NetAddr]>, Disposable {
  /** Where it is bound: every tailnet address of the node (so `0.0.0.0`), and the port. */
  readonly addr: Deno.NetAddr;
  readonly #ep: TailnetUdpEndpoint;
  readonly #resolve: ResolveIp;
  readonly #onClose: () => void;

  /** Wraps a netstack UDP endpoint; `resolve` turns send addresses into IPs. */
  constructor(ep: TailnetUdpEndpoint, resolve: ResolveIp, onClose: () => void = () => {}) {
    this.#ep = ep;
    this.#resolve = resolve;
    this.#onClose = onClose;
    this.addr = { transport: "udp", hostname: "0.0.0.0", port: ep.port };
  }

  /**
   * Sends one datagram to `addr` (an IP literal or a MagicDNS name); resolves
   * with the bytes sent. Datagrams the tailnet cannot carry are lost, as UDP's are.
   *
   * @throws {Deno.errors.NotFound} (rejects) for a name that is not the tailnet's
   * @throws {RangeError} (rejects) for a payload over 65507 bytes
   */
  async send(p: Uint8Array, addr: { hostname: string; port: number }): Promise<number> {
    const ip = await this.#resolve(addr.hostname);
    this.#ep.send(p, { ip, port: addr.port });
    return p.length;
  }

  /**
   * The next datagram and its sender. With `p`, the payload is copied into
   * it (truncated to its length) and the filled part returned.
   *
   * @throws {Deno.errors.BadResource} (rejects) once closed
   */
  async receive(p?: Uint8Array): Promise<[Uint8Array, Deno.NetAddr]> {
    const d = await this.#ep.receive();
    const from: Deno.NetAddr = { transport: "udp", hostname: formatIp(d.src.ip), port: d.src.port };
    if (p === undefined) return [d.payload, from];
    const n = Math.min(p.length, d.payload.length);
    p.set(d.payload.subarray(0, n));
    return [p.subarray(0, n), from];
  }

  /** Unbinds; pending receives reject. Idempotent. */
  close(): void {
    if (this.#ep.closed) return;
    this.#ep.close();
    this.#onClose();
  }

  /** Closes the socket (`using sock = node.listenDatagram(...)`). */
  [Symbol.dispose](): void {
    this.close();
  }

  /** Datagrams as they arrive, until closed. */
  async *[Symbol.asyncIterator](): AsyncGenerator<[Uint8Array, Deno.NetAddr]> {
    while (!this.#ep.closed) {
      try {
        yield await this.receive();
      } catch (e) {
        if (this.#ep.closed) return;
        throw e;
      }
    }
  }
}
