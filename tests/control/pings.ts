/**
 * Control-initiated pings (Headscale's `PingNode` change): a PingRequest goes
 * down one node's map stream with a unique `/machine/ping-response?id=…` URL,
 * and the node's HEAD or POST to that URL — plain HTTP or over Noise —
 * completes it.
 *
 * @module
 */

import type { PingRequest } from "../../src/netmap/tailcfg.ts";
import { encodeBase64 } from "../../src/control/_base64.ts";
import { toHex } from "../../src/bytes/hex.ts";

/** The path nodes answer on. */
export const PING_RESPONSE_PATH = "/machine/ping-response";

/** How a node answered. */
export interface PingAnswer {
  /** HEAD or POST. */
  method: string;
  /** Whether it came over the Noise channel. */
  overNoise: boolean;
  /** Milliseconds from sending the request to the answer. */
  latencyMs: number;
  /** The POST body (c2n response, or PingResponse JSON), as text. */
  body: string;
}

/** What to ask of a node. */
export interface PingSpec {
  /** PingRequest.Types ("" = HEAD, "c2n", "disco", …). */
  types?: string;
  /** Ask for the answer over Noise. */
  noise?: boolean;
  /** Ping target IP for typed pings. */
  ip?: string;
  /** For c2n: the raw HTTP request text. */
  payload?: string;
}

interface Pending {
  sentAt: number;
  resolve: (a: PingAnswer) => void;
}

/** The pings waiting for an answer. */
export class PingBook {
  readonly #pending = new Map<string, Pending>();

  /**
   * Makes a PingRequest for serverUrl; `answer` resolves with the node's answer,
   * or null after timeoutMs.
   */
  create(
    serverUrl: string,
    spec: PingSpec,
    timeoutMs: number,
  ): { request: PingRequest; answer: Promise<PingAnswer | null> } {
    const id = toHex(crypto.getRandomValues(new Uint8Array(16)));
    const request: PingRequest = { URL: `${serverUrl}${PING_RESPONSE_PATH}?id=${id}`, Log: true };
    if (spec.noise) request.URLIsNoise = true;
    if (spec.types) request.Types = spec.types;
    if (spec.ip) request.IP = spec.ip;
    if (spec.payload !== undefined) {
      request.Payload = encodeBase64(new TextEncoder().encode(spec.payload));
    }
    const answer = new Promise<PingAnswer | null>((resolve) => {
      const timer = setTimeout(() => {
        this.#pending.delete(id);
        resolve(null);
      }, timeoutMs);
      this.#pending.set(id, {
        sentAt: performance.now(),
        resolve: (a) => {
          clearTimeout(timer);
          resolve(a);
        },
      });
    });
    return { request, answer };
  }

  /**
   * Completes the ping named by a request to PING_RESPONSE_PATH (its full URL
   * or path with the query). False for an unknown or finished id.
   */
  complete(url: string, method: string, overNoise: boolean, body: Uint8Array): boolean {
    const id = new URL(url, "http://x").searchParams.get("id") ?? "";
    const p = this.#pending.get(id);
    if (!p) return false;
    this.#pending.delete(id);
    p.resolve({
      method,
      overNoise,
      latencyMs: Math.round((performance.now() - p.sentAt) * 10) / 10,
      body: new TextDecoder().decode(body),
    });
    return true;
  }
}
