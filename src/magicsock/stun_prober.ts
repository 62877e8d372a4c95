/**
 * STUN binding requests sent from magicsock's own UDP socket, so the mapped
 * address a server reports is the one peers can reach us at (the NAT mapping
 * of the WireGuard socket itself, not of some other socket).
 *
 * @module
 */
import { toHex } from "../bytes/hex.ts";
import { encodeBindingRequest, newTxId, parseBindingResponse } from "../stun/codec.ts";
import { endpointFromIp } from "../../ffi/endpoint.ts";
import { parseIp } from "../net/ip.ts";

/** What a STUN server saw. */
export interface StunMapping {
  /** Mapped address, 4 or 16 bytes. */
  ip: Uint8Array;
  /** Mapped port. */
  port: number;
  /** Round trip, ms. */
  rttMs: number;
}

interface Pending {
  resolve: (m: StunMapping | null) => void;
  started: number;
  timer: ReturnType<typeof setTimeout>;
}

/** Matches STUN responses to outstanding requests by transaction ID. */
export class StunProber {
  readonly #send: (packet: Uint8Array, to: Uint8Array) => void;
  readonly #pending = new Map<string, Pending>();

  /**
   * Sends through the caller's socket so STUN probes leave from the port peers see.
   *
   * @param send transmits a datagram from the shared socket
   */
  constructor(send: (packet: Uint8Array, to: Uint8Array) => void) {
    this.#send = send;
  }

  /** Sends one binding request to `to`; resolves with the mapping, or null after `timeoutMs`. */
  probe(to: Uint8Array, timeoutMs = 3000): Promise<StunMapping | null> {
    const tx = newTxId();
    const id = toHex(tx);
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve(null);
      }, timeoutMs);
      this.#pending.set(id, { resolve, started: performance.now(), timer });
      this.#send(encodeBindingRequest(tx), to);
    });
  }

  /**
   * The round trip of one probe to ip:port in ms, null without an answer or when the send
   * fails: the `stun` of `measureRegions`.
   */
  rtt(ip: string, port: number, timeoutMs: number): Promise<number | null> {
    return this.probe(endpointFromIp(parseIp(ip), port), timeoutMs).then((m) => m?.rttMs ?? null)
      .catch(() => null);
  }

  /** Feeds a datagram that looked like a STUN response; unknown or malformed ones are ignored. */
  handle(buf: Uint8Array): void {
    let res;
    try {
      res = parseBindingResponse(buf);
    } catch {
      return;
    }
    const id = toHex(res.txId);
    const p = this.#pending.get(id);
    if (!p) return;
    this.#pending.delete(id);
    clearTimeout(p.timer);
    p.resolve({ ip: res.ip, port: res.port, rttMs: performance.now() - p.started });
  }

  /** Gives up every outstanding probe. */
  close(): void {
    for (const p of this.#pending.values()) {
      clearTimeout(p.timer);
      p.resolve(null);
    }
    this.#pending.clear();
  }
}
