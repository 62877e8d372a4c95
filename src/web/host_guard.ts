/**
 * The DNS-rebinding guard of the status page, as tailscale's web client has:
 * a page on 127.0.0.1 is reachable from any web site whose name an attacker
 * re-points at 127.0.0.1, and the only trace of that is the `Host` header
 * naming the attacker's domain. So a request is served only when its `Host`
 * names the listen address, a loopback name, or (on a wildcard address) an
 * IP literal, with the listening port.
 *
 * @module
 */

/** Where the page listens. */
export interface ListenAddress {
  /** Listen hostname or IP (IPv6 with or without brackets). */
  hostname: string;
  /** Listening port. */
  port: number;
}

const LOOPBACK = new Set(["localhost", "127.0.0.1", "::1"]);

function isIpLiteral(host: string): boolean {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(host) || (host.includes(":") && /^[0-9a-f:.]+$/.test(host));
}

/** "[::1]:80" → ["::1", 80]; null when the header is malformed. */
function splitHost(header: string): [string, number] | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]]+))(?::(\d{1,5}))?$/.exec(header);
  if (!m) return null;
  return [(m[1] ?? m[2]).toLowerCase(), m[3] === undefined ? 80 : Number(m[3])];
}

/**
 * Whether a request with this `Host` header may be served.
 *
 * @example
 * ```ts
 * import { hostAllowed } from "./host_guard.ts";
 * const at = { hostname: "127.0.0.1", port: 8384 };
 * console.assert(hostAllowed("localhost:8384", at));
 * console.assert(!hostAllowed("evil.example:8384", at));
 * ```
 */
export function hostAllowed(header: string | null, listen: ListenAddress): boolean {
  if (header === null) return false;
  const parts = splitHost(header.trim());
  if (parts === null) return false;
  const [host, port] = parts;
  if (port !== listen.port) return false;
  const self = listen.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  if (host === self || LOOPBACK.has(host)) return true;
  // A wildcard listener has no one name; an IP literal cannot be rebound.
  return (self === "0.0.0.0" || self === "::") && isIpLiteral(host);
}
