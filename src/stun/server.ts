/**
 * STUN server: answers binding requests on one UDP socket (dual-stack when bound
 * to `::`).
 *
 * @module
 */

import dgram from "node:dgram";
import { encodeBindingResponse, parseBindingRequest } from "./codec.ts";
import { parseIp, unmap } from "../net/ip.ts";

/** Options of {@link StunServer}. */
export interface StunServerOptions {
  /** Address to bind; "::" (default) serves IPv4 and IPv6. */
  hostname?: string;
  /** UDP port (0 picks one). */
  port: number;
  /** Answer only Tailscale requests (SOFTWARE "tailnode" + FINGERPRINT), as derper. */
  tailnodeOnly?: boolean;
  /** Called for each answered request (counters). */
  onAnswer?: () => void;
  /** Called for each ignored datagram (counters). */
  onIgnore?: () => void;
}

/** A running STUN server. */
export class StunServer {
  readonly #sock: dgram.Socket;
  readonly #port: number;

  private constructor(sock: dgram.Socket, port: number) {
    this.#sock = sock;
    this.#port = port;
  }

  /**
   * Binds and starts answering.
   *
   * @throws {Error} if the socket cannot be bound
   */
  static listen(opts: StunServerOptions): Promise<StunServer> {
    const host = opts.hostname ?? "::";
    const v6 = host.includes(":");
    const sock = dgram.createSocket({ type: v6 ? "udp6" : "udp4", ipv6Only: false });
    sock.on("message", (msg: Uint8Array, rinfo: dgram.RemoteInfo) => {
      let req;
      try {
        req = parseBindingRequest(msg, opts.tailnodeOnly);
      } catch {
        opts.onIgnore?.();
        return;
      }
      if (req.changeRequest !== 0) {
        // We have one address and port: answering would mislead the client's NAT test.
        opts.onIgnore?.();
        return;
      }
      let ip: Uint8Array;
      try {
        // A link-local sender's address may carry a zone ("fe80::1%eth0"); the reply
        // carries only the address.
        ip = unmap(parseIp(rinfo.address.split("%")[0]));
      } catch {
        opts.onIgnore?.();
        return;
      }
      opts.onAnswer?.();
      sock.send(encodeBindingResponse(req.transaction, ip, rinfo.port), rinfo.port, rinfo.address);
    });
    return new Promise((resolve, reject) => {
      sock.once("error", reject);
      sock.bind(opts.port, host, () => {
        sock.off("error", reject);
        sock.on("error", () => {}); // ICMP errors on send must not kill the server
        resolve(new StunServer(sock, sock.address().port));
      });
    });
  }

  /** The bound port. */
  get port(): number {
    return this.#port;
  }

  /** Stops the server. */
  close(): Promise<void> {
    return new Promise((r) => this.#sock.close(() => r()));
  }
}
