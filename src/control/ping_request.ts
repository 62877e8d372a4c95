/**
 * Answering control's PingRequest (a MapResponse field, honoured even on
 * keep-alives), as tailscaled's controlclient does:
 *
 * - no Types: a HEAD to URL proves the node is alive (Headscale's `/machine/ping-response`
 *   debug ping) — over Noise when URLIsNoise, else plain HTTP(S);
 * - Types "c2n": the payload is an HTTP request for the node's c2n handler; the
 *   HTTP response is POSTed to URL, always over Noise;
 * - other Types ("disco", "TSMP", "ICMP", "peerapi", comma-separated): ping IP
 *   that way and POST the JSON PingResponse to URL. warren does "disco"; the
 *   rest are logged as unsupported.
 *
 * The same URL twice is answered once (control may resend it in a later map).
 *
 * @module
 */

import type { PingRequest, PingResponse } from "../netmap/tailcfg.ts";
import { encodeC2nResponse, handleC2n, parseC2nRequest } from "./c2n.ts";
import { decodeBase64 } from "./_base64.ts";

/** The I/O a {@link PingAnswerer} needs. */
export interface PingAnswererIo {
  /** An HTTP request over the Noise channel; resolves to the status. */
  noise(method: string, url: string, body: Uint8Array | null): Promise<number>;
  /** A plain HTTP(S) request (not over Noise); resolves to the status. */
  http(method: string, url: string, body: Uint8Array | null): Promise<number>;
  /** Pings ip with a "disco" ping; absent when the node has no data plane yet. */
  discoPing?(ip: string): Promise<PingResponse>;
  /** One log line. */
  log(line: string): void;
}

/** Answers PingRequests, one per distinct URL. */
export class PingAnswerer {
  readonly #io: PingAnswererIo;
  #lastUrl = "";

  /** Wraps the I/O. */
  constructor(io: PingAnswererIo) {
    this.#io = io;
  }

  /**
   * Answers pr in the background (never throws; failures are logged). Returns
   * the work's promise, for tests; null when pr is skipped (no URL, or seen).
   */
  answer(pr: PingRequest | null | undefined): Promise<void> | null {
    if (!pr || !pr.URL || pr.URL === this.#lastUrl) return null;
    this.#lastUrl = pr.URL;
    return this.#answer(pr).catch((e) =>
      this.#io.log(`ping request ${pr.URL}: ${e instanceof Error ? e.message : e}`)
    );
  }

  async #answer(pr: PingRequest): Promise<void> {
    const types = pr.Types ?? "";
    if (types === "") {
      const t0 = performance.now();
      const status = pr.URLIsNoise
        ? await this.#io.noise("HEAD", pr.URL, null)
        : await this.#io.http("HEAD", pr.URL, null);
      this.#done(pr, `HEAD answered with ${status}`, t0);
      return;
    }
    if (types === "c2n") {
      const t0 = performance.now();
      const req = parseC2nRequest(decodeBase64(pr.Payload ?? ""));
      const res = encodeC2nResponse(handleC2n(req));
      const status = await this.#io.noise("POST", pr.URL, res);
      this.#done(pr, `c2n ${req.method} ${req.path} answered, POST got ${status}`, t0);
      return;
    }
    await Promise.all(
      types.split(",").map(async (type) => {
        if (type !== "disco") {
          this.#io.log(`ping request: unsupported ping type "${type}"`);
          return;
        }
        if (!pr.IP || !this.#io.discoPing) {
          this.#io.log(`ping request: disco ping needs an IP and a running data plane`);
          return;
        }
        const t0 = performance.now();
        const result = await this.#io.discoPing(pr.IP);
        const body = new TextEncoder().encode(JSON.stringify(result));
        const status = pr.URLIsNoise
          ? await this.#io.noise("POST", pr.URL, body)
          : await this.#io.http("POST", pr.URL, body);
        this.#done(pr, `disco ping to ${pr.IP} reported, POST got ${status}`, t0);
      }),
    );
  }

  #done(pr: PingRequest, what: string, t0: number): void {
    if (pr.Log) {
      this.#io.log(`ping request: ${what} after ${Math.round(performance.now() - t0)} ms`);
    }
  }
}
