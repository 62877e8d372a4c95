/**
 * IP addresses and prefixes as bytes: parsing, RFC 5952 formatting, masking,
 * and `host:port` splitting for endpoints.
 *
 * Addresses are plain `Uint8Array`s (4 bytes for IPv4, 16 for IPv6) so the
 * data plane can compare them against packet bytes without conversion.
 *
 * @module
 */

/** An IP prefix (CIDR): an address and how many leading bits are significant. */
export interface IpPrefix {
  /** 4 bytes (IPv4) or 16 bytes (IPv6); host bits are zero unless the parser was told to keep them. */
  ip: Uint8Array;
  /** Prefix length: 0–32 for IPv4, 0–128 for IPv6. */
  bits: number;
}

/** Options for {@linkcode parsePrefix}. */
export interface ParsePrefixOptions {
  /**
   * Keep the host bits as written ("10.0.0.1/24" stays 10.0.0.1) — what an
   * interface address needs. The default zeroes them ("10.0.0.0/24"), which is
   * what a route or an AllowedIPs entry means.
   */
  keepHostBits?: boolean;
}

/**
 * Parses an IPv4 dotted quad or an IPv6 address in any RFC 4291 text form
 * (`::` compression, embedded IPv4 as in `::ffff:1.2.3.4`).
 *
 * Rejected: IPv4 fields with leading zeros (ambiguous: octal in some parsers),
 * zone identifiers (`fe80::1%eth0`), brackets, surrounding whitespace.
 *
 * @example
 * ```ts
 * import { parseIp } from "./ip.ts";
 * parseIp("10.1.2.3"); // Uint8Array [10, 1, 2, 3]
 * parseIp("::1").length; // 16
 * ```
 * @throws {SyntaxError} naming the input and what is wrong with it
 */
export function parseIp(s: string): Uint8Array {
  const out = new Uint8Array(s.includes(":") ? 16 : 4);
  const reason = parseIpInto(s, out);
  if (reason !== null) throw new SyntaxError(`Cannot parse IP address ${q(s)}: ${reason}`);
  return out;
}

/**
 * Whether `s` is an IP address literal (IPv4 or IPv6, as {@link parseIp} reads them).
 *
 * @example
 * ```ts
 * import { isIpLiteral } from "./ip.ts";
 * isIpLiteral("10.0.0.1"); // true
 * isIpLiteral("derp.example.com"); // false
 * ```
 */
export function isIpLiteral(s: string): boolean {
  return parseIpInto(s, new Uint8Array(s.includes(":") ? 16 : 4)) === null;
}

/**
 * Formats an address: dotted quad for IPv4, RFC 5952 canonical text for IPv6
 * (lower case, no leading zeros, the longest run of two or more zero groups
 * compressed, IPv4-mapped addresses as `::ffff:1.2.3.4`).
 *
 * @example
 * ```ts
 * import { formatIp, parseIp } from "./ip.ts";
 * formatIp(parseIp("2001:DB8:0:0:1:0:0:1")); // "2001:db8::1:0:0:1"
 * ```
 * @throws {TypeError} if `ip` is not 4 or 16 bytes long
 */
export function formatIp(ip: Uint8Array): string {
  if (ip.length === 4) return `${ip[0]}.${ip[1]}.${ip[2]}.${ip[3]}`;
  if (ip.length !== 16) throw new TypeError(`Cannot format IP address of ${ip.length} bytes`);
  let mapped = true;
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) mapped = false;
  if (mapped && ip[10] === 0xff && ip[11] === 0xff) {
    return `::ffff:${ip[12]}.${ip[13]}.${ip[14]}.${ip[15]}`;
  }
  const groups: number[] = [];
  for (let i = 0; i < 16; i += 2) groups.push((ip[i] << 8) | ip[i + 1]);
  // RFC 5952 §4.2: compress the longest run of >= 2 zero groups, the first on a tie.
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/**
 * Parses a prefix in CIDR notation. A bare address is a host prefix (/32 or
 * /128). Host bits are zeroed unless `keepHostBits` is set.
 *
 * @example
 * ```ts
 * import { formatPrefix, parsePrefix } from "./ip.ts";
 * formatPrefix(parsePrefix("10.0.0.1/24")); // "10.0.0.0/24"
 * formatPrefix(parsePrefix("10.0.0.1/24", { keepHostBits: true })); // "10.0.0.1/24"
 * ```
 * @throws {SyntaxError} if the address or the length is malformed
 * @throws {RangeError} if the length is out of range for the address family
 */
export function parsePrefix(s: string, opts?: ParsePrefixOptions): IpPrefix {
  const slash = s.indexOf("/");
  const ipText = slash < 0 ? s : s.slice(0, slash);
  const ip = new Uint8Array(ipText.includes(":") ? 16 : 4);
  const reason = parseIpInto(ipText, ip);
  if (reason !== null) throw new SyntaxError(`Cannot parse prefix ${q(s)}: ${reason}`);
  const max = ip.length * 8;
  let bits = max;
  if (slash >= 0) {
    const bitsText = s.slice(slash + 1);
    if (!/^(0|[1-9][0-9]*)$/.test(bitsText)) {
      throw new SyntaxError(
        `Cannot parse prefix ${q(s)}: prefix length ${q(bitsText)} is not a decimal number`,
      );
    }
    bits = Number(bitsText);
    if (bits > max) {
      throw new RangeError(
        `Cannot parse prefix ${q(s)}: prefix length out of range (0-${max} for IPv${
          max === 32 ? 4 : 6
        })`,
      );
    }
  }
  if (!opts?.keepHostBits) maskInPlace(ip, bits);
  return { ip, bits };
}

/**
 * Formats a prefix as `address/bits`.
 *
 * @example
 * ```ts
 * import { formatPrefix } from "./ip.ts";
 * formatPrefix({ ip: new Uint8Array([10, 0, 0, 0]), bits: 8 }); // "10.0.0.0/8"
 * ```
 * @throws {TypeError} if the address is not 4 or 16 bytes
 * @throws {RangeError} if `bits` is out of range for the family
 */
export function formatPrefix(p: IpPrefix): string {
  checkPrefix(p);
  return `${formatIp(p.ip)}/${p.bits}`;
}

/**
 * The family of an address by its length.
 *
 * @example
 * ```ts
 * import { ipFamily } from "./ip.ts";
 * ipFamily(new Uint8Array(16)); // 6
 * ```
 * @throws {TypeError} if `ip` is not 4 or 16 bytes long
 */
export function ipFamily(ip: Uint8Array): 4 | 6 {
  if (ip.length === 4) return 4;
  if (ip.length === 16) return 6;
  throw new TypeError(`IP address must be 4 or 16 bytes, got ${ip.length}`);
}

/**
 * A copy of `ip` with every bit after the first `bits` set to zero.
 *
 * @example
 * ```ts
 * import { formatIp, maskIp, parseIp } from "./ip.ts";
 * formatIp(maskIp(parseIp("10.1.2.3"), 16)); // "10.1.0.0"
 * ```
 * @throws {RangeError} if `bits` is out of range for the family
 */
export function maskIp(ip: Uint8Array, bits: number): Uint8Array {
  checkPrefix({ ip, bits });
  const out = ip.slice();
  maskInPlace(out, bits);
  return out;
}

/**
 * Whether `ip` lies inside `prefix`. Addresses of the other family are never
 * inside (an IPv4-mapped IPv6 address is not in an IPv4 prefix).
 *
 * @example
 * ```ts
 * import { parseIp, parsePrefix, prefixContains } from "./ip.ts";
 * prefixContains(parsePrefix("10.0.0.0/8"), parseIp("10.9.9.9")); // true
 * ```
 */
export function prefixContains(prefix: IpPrefix, ip: Uint8Array): boolean {
  if (prefix.ip.length !== ip.length) return false;
  const whole = prefix.bits >> 3;
  for (let i = 0; i < whole; i++) if (prefix.ip[i] !== ip[i]) return false;
  const rest = prefix.bits & 7;
  if (rest === 0) return true;
  const m = (0xff << (8 - rest)) & 0xff;
  return (prefix.ip[whole] & m) === (ip[whole] & m);
}

/**
 * Whether `ip` is an IPv4-mapped IPv6 address (`::ffff:a.b.c.d`).
 *
 * @example
 * ```ts
 * import { isV4Mapped, parseIp } from "./ip.ts";
 * isV4Mapped(parseIp("::ffff:10.0.0.1")); // true
 * ```
 */
export function isV4Mapped(ip: Uint8Array): boolean {
  if (ip.length !== 16) return false;
  for (let i = 0; i < 10; i++) if (ip[i] !== 0) return false;
  return ip[10] === 0xff && ip[11] === 0xff;
}

/**
 * The 16-byte form wire formats carry: IPv4 becomes `::ffff:a.b.c.d` (a new
 * array); a 16-byte address is returned as it is.
 *
 * @example
 * ```ts
 * import { formatIp, parseIp, to16 } from "./ip.ts";
 * formatIp(to16(parseIp("192.0.2.1"))); // "::ffff:192.0.2.1"
 * ```
 */
export function to16(ip: Uint8Array): Uint8Array {
  if (ip.length === 16) return ip;
  const out = new Uint8Array(16);
  out[10] = 0xff;
  out[11] = 0xff;
  out.set(ip, 12);
  return out;
}

/**
 * The 4-byte form of an IPv4-mapped address (a copy), as Go's `netip.Addr.Unmap`;
 * any other address is returned as it is.
 *
 * @example
 * ```ts
 * import { formatIp, parseIp, unmap } from "./ip.ts";
 * formatIp(unmap(parseIp("::ffff:192.0.2.1"))); // "192.0.2.1"
 * ```
 */
export function unmap(ip: Uint8Array): Uint8Array {
  return isV4Mapped(ip) ? ip.slice(12) : ip;
}

/** A `host:port` pair split by {@linkcode splitHostPort}. */
export interface HostPort {
  /** The host as written, without brackets: an IP literal or a DNS name. */
  host: string;
  /** The parsed address when `host` is an IP literal, else null (a name to resolve). */
  ip: Uint8Array | null;
  /** The port, 1–65535. */
  port: number;
}

/**
 * Splits and validates an endpoint: `host:port`, `1.2.3.4:port` or
 * `[v6]:port`. IPv6 literals must be in brackets (otherwise the port is
 * ambiguous) and must not carry a zone.
 *
 * @example
 * ```ts
 * import { splitHostPort } from "./ip.ts";
 * splitHostPort("[2001:db8::1]:51820").port; // 51820
 * splitHostPort("vpn.example.com:51820").ip; // null
 * ```
 * @throws {SyntaxError} if the text is not a valid endpoint
 * @throws {RangeError} if the port is 0 or above 65535
 */
export function splitHostPort(s: string): HostPort {
  const fail = (reason: string) => new SyntaxError(`Cannot parse endpoint ${q(s)}: ${reason}`);
  let host: string;
  let portText: string;
  let ip: Uint8Array | null = null;
  if (s.startsWith("[")) {
    const close = s.indexOf("]");
    if (close < 0) throw fail("missing ']' after the IPv6 address");
    host = s.slice(1, close);
    if (s[close + 1] !== ":") throw fail("expected ':port' after ']'");
    portText = s.slice(close + 2);
    if (!host.includes(":")) throw fail("brackets are only for IPv6 addresses");
    ip = new Uint8Array(16);
    const reason = parseIpInto(host, ip);
    if (reason !== null) throw fail(reason);
  } else {
    const colon = s.lastIndexOf(":");
    if (colon < 0) throw fail("missing ':port'");
    host = s.slice(0, colon);
    portText = s.slice(colon + 1);
    if (host.includes(":")) throw fail("an IPv6 address needs brackets, as in [2001:db8::1]:51820");
    if (host === "") throw fail("missing host");
    if (/^[0-9.]+$/.test(host)) {
      ip = new Uint8Array(4);
      const reason = parseIpInto(host, ip);
      if (reason !== null) throw fail(reason);
    } else {
      const reason = hostnameProblem(host);
      if (reason !== null) throw fail(reason);
    }
  }
  if (!/^[0-9]{1,5}$/.test(portText)) {
    throw fail(portText === "" ? "missing port" : `port ${q(portText)} is not a decimal number`);
  }
  const port = Number(portText);
  if (port < 1 || port > 65535) {
    throw new RangeError(`Cannot parse endpoint ${q(s)}: port ${port} out of range 1-65535`);
  }
  return { host, ip, port };
}

// --- internals ---

function q(s: string): string {
  return JSON.stringify(s);
}

function checkPrefix(p: IpPrefix): void {
  const max = ipFamily(p.ip) === 4 ? 32 : 128;
  if (!Number.isInteger(p.bits) || p.bits < 0 || p.bits > max) {
    throw new RangeError(`Prefix length ${p.bits} out of range 0-${max}`);
  }
}

function maskInPlace(ip: Uint8Array, bits: number): void {
  for (let i = 0; i < ip.length; i++) {
    const keep = bits - i * 8;
    if (keep >= 8) continue;
    ip[i] = keep <= 0 ? 0 : ip[i] & (0xff << (8 - keep));
  }
}

/** RFC 1123 host name (underscores tolerated, as many real DNS names use them). */
function hostnameProblem(h: string): string | null {
  const name = h.endsWith(".") ? h.slice(0, -1) : h;
  if (name.length > 253) return "host name longer than 253 characters";
  for (const label of name.split(".")) {
    if (label === "") return `host name ${q(h)} has an empty label`;
    if (label.length > 63) return `host name label ${q(label)} is longer than 63 characters`;
    if (!/^[A-Za-z0-9_]([A-Za-z0-9_-]*[A-Za-z0-9_])?$/.test(label)) {
      return `host name ${q(h)} has invalid characters or a label starting or ending with '-'`;
    }
  }
  return null;
}

/**
 * Parses `s` into `out` (4 or 16 bytes, chosen by the caller from whether `s`
 * has a colon). Returns null on success or the reason it failed.
 */
function parseIpInto(s: string, out: Uint8Array): string | null {
  if (s === "") return "empty address";
  if (s.trim() !== s) return "leading or trailing whitespace";
  if (out.length === 4) {
    if (/[^0-9.]/.test(s)) {
      return /^[0-9a-fA-F.]+$/.test(s) && /[a-fA-F]/.test(s)
        ? "IPv4 fields must be decimal"
        : "not an IPv4 address (digits and dots) or an IPv6 address (has ':')";
    }
    return parseV4Into(s, out, 0);
  }
  return parseV6Into(s, out);
}

function parseV4Into(s: string, out: Uint8Array, at: number): string | null {
  const fields = s.split(".");
  if (fields.length !== 4) return `IPv4 address needs 4 fields, got ${fields.length}`;
  for (let i = 0; i < 4; i++) {
    const f = fields[i];
    if (f === "") return "empty IPv4 field";
    if (!/^[0-9]+$/.test(f)) return `IPv4 field ${q(f)} is not a decimal number`;
    if (f.length > 1 && f[0] === "0") return `IPv4 field ${q(f)} has a leading zero`;
    const v = f.length > 3 ? 256 : Number(f);
    if (v > 255) return `IPv4 field ${q(f)} is out of range 0-255`;
    out[at + i] = v;
  }
  return null;
}

function parseV6Into(s: string, out: Uint8Array): string | null {
  if (s.includes("%")) return "zone identifiers (such as %eth0) are not supported";
  if (s.startsWith("[") || s.endsWith("]")) return "brackets belong only around an endpoint host";
  const dbl = s.indexOf("::");
  if (dbl >= 0 && s.indexOf("::", dbl + 1) >= 0) return "'::' may appear only once";
  const head: number[] = [];
  const tail: number[] = [];
  // Without "::" the whole text is the head and may end in an embedded IPv4 address.
  const headReason = parseGroups(dbl < 0 ? s : s.slice(0, dbl), head, dbl < 0);
  if (headReason !== null) return headReason;
  if (dbl < 0) {
    if (head.length !== 8) return `IPv6 address needs 8 groups, got ${head.length}`;
  } else {
    const tailReason = parseGroups(s.slice(dbl + 2), tail, true);
    if (tailReason !== null) return tailReason;
    // "::" stands for at least one zero group (RFC 4291 §2.2).
    if (head.length + tail.length > 7) return "too many groups for an address with '::'";
  }
  out.fill(0);
  for (let i = 0; i < head.length; i++) {
    out[2 * i] = head[i] >> 8;
    out[2 * i + 1] = head[i] & 0xff;
  }
  for (let i = 0; i < tail.length; i++) {
    const at = 8 - tail.length + i;
    out[2 * at] = tail[i] >> 8;
    out[2 * at + 1] = tail[i] & 0xff;
  }
  return null;
}

/** Colon-separated 16-bit groups into `into`; an IPv4 tail counts as two groups. */
function parseGroups(text: string, into: number[], v4LastOk: boolean): string | null {
  if (text === "") return null;
  const parts = text.split(":");
  for (let i = 0; i < parts.length; i++) {
    const g = parts[i];
    if (g.includes(".")) {
      if (!v4LastOk || i !== parts.length - 1) {
        return "an embedded IPv4 address may only end the address";
      }
      const v4 = new Uint8Array(4);
      const reason = parseV4Into(g, v4, 0);
      if (reason !== null) return reason;
      into.push((v4[0] << 8) | v4[1], (v4[2] << 8) | v4[3]);
    } else if (g === "") {
      return "empty group (a single ':' at the start or end)";
    } else if (!/^[0-9a-fA-F]{1,4}$/.test(g)) {
      return g.length > 4 ? `group ${q(g)} has more than 4 hex digits` : `group ${q(g)} is not hex`;
    } else {
      into.push(parseInt(g, 16));
    }
  }
  return null;
}
