/**
 * The data plane's endpoint form: a 28-byte `struct sockaddr_in6` (IPv4 peers
 * as v4-mapped addresses) that the engine stores, compares and copies without
 * objects, with its text form and conversions.
 *
 * @module
 */
import {
  AF_INET,
  AF_INET6,
  formatIp,
  ifNameToIndex,
  parseIp,
  SOCKADDR_IN6_SIZE,
  sockaddrIn6,
} from "./libc.ts";

/** Size of an endpoint: a `struct sockaddr_in6`. */
export const ENDPOINT_SIZE: number = SOCKADDR_IN6_SIZE;

/** Rewrites, in place, a sockaddr_in the kernel wrote into an endpoint as its v4-mapped form. */
export function v4ToEndpoint(ep: Uint8Array): void {
  const p0 = ep[2], p1 = ep[3], a = ep[4], b = ep[5], c = ep[6], d = ep[7];
  ep.fill(0);
  ep[0] = AF_INET6;
  ep[2] = p0;
  ep[3] = p1;
  ep[18] = 0xff;
  ep[19] = 0xff;
  ep[20] = a;
  ep[21] = b;
  ep[22] = c;
  ep[23] = d;
}

/** Writes a v4-mapped endpoint as sockaddr_in at `out[off]`; other endpoints get a family the
 * kernel rejects, so that one datagram is dropped. */
export function endpointToV4(ep: Uint8Array, out: Uint8Array, off: number): void {
  out[off] = isV4Mapped(ep) ? AF_INET : AF_INET6;
  out[off + 1] = 0;
  out[off + 2] = ep[2];
  out[off + 3] = ep[3];
  out[off + 4] = ep[20];
  out[off + 5] = ep[21];
  out[off + 6] = ep[22];
  out[off + 7] = ep[23];
}

/** Whether an endpoint holds an IPv4-mapped address (::ffff:a.b.c.d). */
export function isV4Mapped(ep: Uint8Array): boolean {
  for (let i = 8; i < 18; i++) if (ep[i] !== 0) return false;
  return ep[18] === 0xff && ep[19] === 0xff;
}

/**
 * An endpoint for an address and port: a 28-byte sockaddr_in6, v4-mapped for a 4-byte
 * address.
 */
export function endpointFromIp(ip: Uint8Array, port: number, scopeId = 0): Uint8Array {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Invalid port ${port}: must be 0-65535`);
  }
  if (ip.length === 4) {
    const mapped = new Uint8Array(16);
    mapped[10] = 0xff;
    mapped[11] = 0xff;
    mapped.set(ip, 12);
    return sockaddrIn6(mapped, port);
  }
  if (ip.length !== 16) throw new RangeError(`Invalid IP address: ${ip.length} bytes`);
  return sockaddrIn6(ip, port, scopeId);
}

/** The address of an endpoint: 4 bytes if it is IPv4(-mapped), else 16. A copy. */
export function endpointIp(ep: Uint8Array): Uint8Array {
  return isV4Mapped(ep) ? ep.slice(20, 24) : ep.slice(8, 24);
}

/** The port of an endpoint. */
export function endpointPort(ep: Uint8Array): number {
  return (ep[2] << 8) | ep[3];
}

/**
 * Parses `"1.2.3.4:51820"` or `"[fd00::1]:51820"` (an IPv6 zone such as `[fe80::1%eth0]` is
 * allowed) into a 28-byte endpoint, v4-mapped for IPv4. Throws SyntaxError on bad input.
 *
 * @example
 * ```ts
 * import { endpointFromString, endpointToString } from "./udp.ts";
 * const ep = endpointFromString("192.0.2.1:51820");
 * console.assert(endpointToString(ep) === "192.0.2.1:51820");
 * ```
 */
export function endpointFromString(s: string): Uint8Array {
  const bad = (why: string) => new SyntaxError(`Cannot parse endpoint "${s}": ${why}`);
  let host: string, portText: string;
  if (s.startsWith("[")) {
    const close = s.indexOf("]");
    if (close < 0 || s[close + 1] !== ":") throw bad("expected [address]:port");
    host = s.slice(1, close);
    portText = s.slice(close + 2);
  } else {
    const colon = s.lastIndexOf(":");
    if (colon < 0) throw bad("missing port");
    host = s.slice(0, colon);
    portText = s.slice(colon + 1);
    if (host.includes(":")) throw bad("IPv6 addresses must be in brackets");
  }
  if (!/^[0-9]{1,5}$/.test(portText) || Number(portText) > 65535) {
    throw bad(`port "${portText}" is not 0-65535`);
  }
  const port = Number(portText);
  let scope = 0;
  const pct = host.indexOf("%");
  if (pct >= 0) {
    const zone = host.slice(pct + 1);
    host = host.slice(0, pct);
    if (!s.startsWith("[") || zone === "") throw bad("bad zone");
    if (/^[0-9]+$/.test(zone)) scope = Number(zone);
    else {
      scope = ifNameToIndex(zone);
      if (scope === 0) throw bad(`no interface named "${zone}"`);
    }
    if (scope > 0xffffffff) throw bad("zone index out of range");
  }
  const ip = parseIp(host);
  if (ip === null) throw bad(`"${host}" is not an IP address`);
  if (s.startsWith("[") !== (ip.length === 16)) throw bad("only IPv6 addresses go in brackets");
  return endpointFromIp(ip, port, scope);
}

/**
 * Text form of an endpoint: `"1.2.3.4:port"` for IPv4-mapped, `"[v6]:port"` (with `%scope`
 * if set) otherwise.
 */
export function endpointToString(ep: Uint8Array): string {
  if (ep.length < ENDPOINT_SIZE || (ep[0] | (ep[1] << 8)) !== AF_INET6) {
    throw new TypeError(`Not an endpoint: expected a 28-byte sockaddr_in6`);
  }
  const port = endpointPort(ep);
  if (isV4Mapped(ep)) return `${ep[20]}.${ep[21]}.${ep[22]}.${ep[23]}:${port}`;
  const scope = new DataView(ep.buffer, ep.byteOffset, ep.byteLength).getUint32(24, true);
  return `[${formatIp(ep.subarray(8, 24))}${scope ? `%${scope}` : ""}]:${port}`;
}

/** True if two endpoints have the same family, port, address and scope (flowinfo ignored). */
export function endpointEquals(a: Uint8Array, b: Uint8Array): boolean {
  if (a[0] !== b[0] || a[1] !== b[1] || a[2] !== b[2] || a[3] !== b[3]) return false;
  for (let i = 8; i < ENDPOINT_SIZE; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Whether two 28-byte endpoints are the same address, port and scope. */
export function sameEndpoint(a: Uint8Array, b: Uint8Array): boolean {
  if (a === b) return true;
  for (let i = 2; i < 24; i++) if (a[i] !== b[i]) return false;
  return a[0] === b[0] && a[1] === b[1] && a[24] === b[24] && a[25] === b[25] &&
    a[26] === b[26] && a[27] === b[27];
}
