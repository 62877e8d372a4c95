/**
 * `--verify-client-url` admission control (protocol doc §5.5): POST
 * `{"NodePublic":"nodekey:…","Source":"1.2.3.4"}`, allow only on HTTP 200 with
 * `{"Allow":true}`. Fails closed: errors and timeouts deny.
 *
 * @module
 */

import { VERIFY_CLIENT_TIMEOUT_MS } from "./constants.ts";
import type { VerifyClient } from "./server_handshake.ts";
import { formatNodePublic } from "../key/node_key.ts";

/**
 * Makes a {@link VerifyClient} that asks url.
 *
 * @example
 * ```ts
 * const verify = verifyClientUrl("http://127.0.0.1:8080/admit");
 * await verify(nodeKey, "192.0.2.1"); // throws when not allowed
 * ```
 */
export function verifyClientUrl(url: string, timeoutMs = VERIFY_CLIENT_TIMEOUT_MS): VerifyClient {
  return async (nodeKey, sourceIp) => {
    const body = JSON.stringify({ NodePublic: formatNodePublic(nodeKey), Source: sourceIp });
    let res: Response;
    try {
      res = await fetch(url, {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body,
        signal: AbortSignal.timeout(timeoutMs),
      });
    } catch (e) {
      throw new Error(`admission controller unreachable: ${(e as Error).message}`);
    }
    const text = await res.text().catch(() => "");
    if (res.status !== 200) throw new Error(`admission controller replied ${res.status}`);
    let allow = false;
    try {
      const o = JSON.parse(text.slice(0, 4096));
      for (const [k, v] of Object.entries(o ?? {})) {
        if (k.toLowerCase() === "allow") allow = v === true;
      }
    } catch {
      throw new Error("admission controller replied with bad JSON");
    }
    if (!allow) throw new Error(`admission controller did not allow ${formatNodePublic(nodeKey)}`);
  };
}
