/**
 * The host network as a {@linkcode ProxyDialer}: `Deno.connect` for TCP
 * (stable, no flag) and a dual-stack `node:dgram` socket for UDP (no
 * `--unstable-net` needed, unlike `Deno.listenDatagram`).
 *
 * @module
 */

import { fromDenoConn } from "./deno_conn.ts";
import { dialFailureOf, ProxyDialError } from "./types.ts";
import type { ProxyConn, ProxyDatagramSocket, ProxyDialer } from "./types.ts";
import { bindHostUdp } from "./udp_socket.ts";

/**
 * Dials from the host: names are resolved by the system resolver.
 *
 * @example
 * ```ts ignore
 * import { hostDialer } from "./host_dialer.ts";
 * const conn = await hostDialer().dialTcp("127.0.0.1", 8080);
 * conn.close();
 * ```
 */
export function hostDialer(): ProxyDialer {
  return {
    async dialTcp(host: string, port: number, signal?: AbortSignal): Promise<ProxyConn> {
      try {
        return fromDenoConn(await Deno.connect({ hostname: host, port, signal }));
      } catch (err) {
        const kind = signal?.aborted ? "timeout" : dialFailureOf(err);
        throw new ProxyDialError(kind, `Cannot dial ${host}:${port}: ${errText(err)}`, {
          cause: err,
        });
      }
    },
    async openUdp(): Promise<ProxyDatagramSocket> {
      try {
        return await bindHostUdp("::");
      } catch {
        // IPv6 disabled (common in containers): an IPv4-only socket still reaches IPv4.
        return await bindHostUdp("0.0.0.0");
      }
    },
  };
}

function errText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
