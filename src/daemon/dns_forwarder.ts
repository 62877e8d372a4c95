/**
 * Forwarding DNS queries the quad-100 responder does not answer itself to
 * upstream resolvers over UDP (first answer wins, resolvers tried in order).
 *
 * @module
 */
import dgram from "node:dgram";
import type { DnsForwarder } from "../dns/quad100.ts";
import type { DNSResolver } from "../netmap/tailcfg.ts";

/** Per-upstream timeout before the next resolver is tried. */
const UPSTREAM_TIMEOUT_MS = 2000;

/** "1.1.1.1", "1.1.1.1:5353", "[2606::1]:53" → host/port; null for DoH and other forms. */
export function udpUpstream(addr: string): { host: string; port: number } | null {
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(addr);
  if (v6) return { host: v6[1], port: Number(v6[2] ?? 53) };
  const v4 = /^(\d+\.\d+\.\d+\.\d+)(?::(\d+))?$/.exec(addr);
  if (v4) return { host: v4[1], port: Number(v4[2] ?? 53) };
  if (/^[0-9a-f:]+$/i.test(addr) && addr.includes(":")) return { host: addr, port: 53 };
  return null;
}

/** A forwarder that asks each usable upstream over UDP in turn. */
export function udpDnsForwarder(timeoutMs = UPSTREAM_TIMEOUT_MS): DnsForwarder {
  return async (query: Uint8Array, upstreams: readonly DNSResolver[]) => {
    for (const r of upstreams) {
      const up = r.Addr ? udpUpstream(r.Addr) : null;
      if (!up) continue; // DoH and PeerAPI resolvers are not spoken yet
      const answer = await askOnce(query, up.host, up.port, timeoutMs);
      if (answer) return answer;
    }
    return null;
  };
}

function askOnce(query: Uint8Array, host: string, port: number, timeoutMs: number) {
  return new Promise<Uint8Array | null>((resolve) => {
    const sock = dgram.createSocket(host.includes(":") ? "udp6" : "udp4");
    const id = (query[0] << 8) | query[1];
    const finish = (v: Uint8Array | null) => {
      clearTimeout(timer);
      sock.close();
      resolve(v);
    };
    const timer = setTimeout(() => finish(null), timeoutMs);
    sock.on("error", () => finish(null));
    sock.on("message", (msg: Uint8Array) => {
      if (msg.length >= 2 && ((msg[0] << 8) | msg[1]) === id) finish(new Uint8Array(msg));
    });
    sock.send(query, port, host);
  });
}
