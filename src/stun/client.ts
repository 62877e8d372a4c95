/**
 * STUN client: one binding request, wait for the matching response.
 *
 * @module
 */

import dgram from "node:dgram";
import { encodeBindingRequest, newTxId, parseBindingResponse } from "./codec.ts";
import { STUN_TIMEOUT_MS } from "./constants.ts";
import { formatIp } from "../net/ip.ts";

/** The public endpoint a STUN server saw. */
export interface StunResult {
  /** Mapped IP, textual. */
  ip: string;
  /** Mapped port. */
  port: number;
  /** Round-trip time in ms. */
  rttMs: number;
}

/**
 * Sends a Tailscale-style binding request to host:port from a fresh socket and
 * resolves with the mapped address.
 *
 * @example
 * ```ts
 * const r = await stunQuery("127.0.0.1", 3478); // { ip: "127.0.0.1", port: 54321, rttMs: 0.3 }
 * ```
 * @throws {Error} on timeout or a bad response
 */
export function stunQuery(
  host: string,
  port: number,
  timeoutMs: number = STUN_TIMEOUT_MS,
  socket?: dgram.Socket,
): Promise<StunResult> {
  const v6 = host.includes(":");
  const sock = socket ?? dgram.createSocket(v6 ? "udp6" : "udp4");
  const txId = newTxId();
  const req = encodeBindingRequest(txId);
  return new Promise<StunResult>((resolve, reject) => {
    const started = performance.now();
    const done = (err: Error | null, r?: StunResult) => {
      clearTimeout(timer);
      sock.off("message", onMessage);
      if (!socket) sock.close();
      if (err) reject(err);
      else resolve(r!);
    };
    const onMessage = (msg: Uint8Array) => {
      let res;
      try {
        res = parseBindingResponse(msg);
      } catch {
        return; // not ours or malformed: keep waiting
      }
      for (let i = 0; i < 12; i++) if (res.txId[i] !== txId[i]) return;
      done(null, { ip: formatIp(res.ip), port: res.port, rttMs: performance.now() - started });
    };
    const timer = setTimeout(
      () => done(new Error(`STUN query to ${host}:${port} timed out after ${timeoutMs} ms`)),
      timeoutMs,
    );
    sock.on("message", onMessage);
    sock.send(req, port, host, (err) => {
      if (err) done(new Error(`STUN query to ${host}:${port} failed: ${err.message}`));
    });
  });
}
