/**
 * `AddrPort`: an IP address and UDP port, the unit disco pings, pongs and
 * CallMeMaybe endpoints are about. IPv4 is always held as 4 bytes (a
 * v4-mapped IPv6 address is unmapped on the way in, as Go's `Unmap` does), so
 * two spellings of one endpoint compare equal and get one map key.
 *
 * @module
 */

import { bytesEqual } from "../bytes/equal.ts";
import { formatIp, isV4Mapped, splitHostPort, unmap } from "../net/ip.ts";

/** An IP address (4 bytes for IPv4, 16 for IPv6) and a port. */
export interface AddrPort {
  /** 4 bytes (IPv4, never v4-mapped) or 16 bytes (IPv6). */
  readonly ip: Uint8Array;
  /** 0–65535. */
  readonly port: number;
}

/**
 * Makes an `AddrPort`, unmapping `::ffff:a.b.c.d` to 4 bytes and copying the address.
 *
 * @example
 * ```ts
 * import { addrPort, formatAddrPort } from "./addr.ts";
 * formatAddrPort(addrPort(new Uint8Array([10, 0, 0, 1]), 41641)); // "10.0.0.1:41641"
 * ```
 * @throws {TypeError} if `ip` is not 4 or 16 bytes
 * @throws {RangeError} if `port` is not an integer 0–65535
 */
export function addrPort(ip: Uint8Array, port: number): AddrPort {
  if (ip.length !== 4 && ip.length !== 16) {
    throw new TypeError(`IP address must be 4 or 16 bytes, got ${ip.length}`);
  }
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`Port ${port} out of range 0-65535`);
  }
  return { ip: isV4Mapped(ip) ? ip.slice(12) : ip.slice(), port };
}

/**
 * Parses a netmap endpoint such as `"192.0.2.1:41641"` or `"[2001:db8::1]:41641"`.
 *
 * @example
 * ```ts
 * import { parseAddrPort } from "./addr.ts";
 * parseAddrPort("[::ffff:10.0.0.1]:5").ip.length; // 4
 * ```
 * @throws {SyntaxError} if the text is not an IP literal with a port
 * @throws {RangeError} if the port is out of range
 */
export function parseAddrPort(text: string): AddrPort {
  const hp = splitHostPort(text);
  if (hp.ip === null) {
    throw new SyntaxError(
      `Cannot parse endpoint ${JSON.stringify(text)}: host is not an IP address`,
    );
  }
  return addrPort(hp.ip, hp.port);
}

/**
 * Text form `1.2.3.4:5` or `[2001:db8::1]:5`; also a stable map key.
 *
 * @example
 * ```ts
 * import { formatAddrPort, parseAddrPort } from "./addr.ts";
 * formatAddrPort(parseAddrPort("[2001:DB8::1]:7")); // "[2001:db8::1]:7"
 * ```
 */
export function formatAddrPort(a: AddrPort): string {
  return a.ip.length === 4 ? `${formatIp(a.ip)}:${a.port}` : `[${formatIp(a.ip)}]:${a.port}`;
}

/** Whether two endpoints have the same address (after unmapping) and port. */
export function addrPortEqual(a: AddrPort, b: AddrPort): boolean {
  if (a.port !== b.port) return false;
  return bytesEqual(unmap(a.ip), unmap(b.ip));
}

/** Whether the address is IPv6 (and not v4-mapped). */
export function isIPv6(ip: Uint8Array): boolean {
  return ip.length === 16 && !isV4Mapped(ip);
}

/** 127.0.0.0/8 or ::1 (Go's `IsLoopback`). */
export function isLoopback(ip: Uint8Array): boolean {
  const a = unmap(ip);
  if (a.length === 4) return a[0] === 127;
  for (let i = 0; i < 15; i++) if (a[i] !== 0) return false;
  return a[15] === 1;
}

/** 169.254.0.0/16 or fe80::/10 (Go's `IsLinkLocalUnicast`). */
export function isLinkLocalUnicast(ip: Uint8Array): boolean {
  const a = unmap(ip);
  if (a.length === 4) return a[0] === 169 && a[1] === 254;
  return a[0] === 0xfe && (a[1] & 0xc0) === 0x80;
}

/** RFC 1918 IPv4 or RFC 4193 fc00::/7 (Go's `IsPrivate`). */
export function isPrivate(ip: Uint8Array): boolean {
  const a = unmap(ip);
  if (a.length === 4) {
    return a[0] === 10 || (a[0] === 172 && (a[1] & 0xf0) === 16) ||
      (a[0] === 192 && a[1] === 168);
  }
  return (a[0] & 0xfe) === 0xfc;
}
