/**
 * SOCKS5 messages (RFC 1928) and the username/password sub-negotiation
 * (RFC 1929) as pure functions over bytes.
 *
 * Decoders take whatever has arrived so far: they return null while the
 * message is incomplete, the value and its length once it is whole, and throw
 * {@linkcode Socks5CodecError} as soon as the bytes cannot be a valid message,
 * so a server never waits on garbage.
 *
 * @module
 */

import { formatIp, parseIp, unmap } from "../net/ip.ts";
import {
  ATYP_DOMAIN,
  ATYP_IPV4,
  ATYP_IPV6,
  REP_ADDRESS_TYPE_NOT_SUPPORTED,
  REP_GENERAL_FAILURE,
  SOCKS_VERSION,
  USERPASS_FAILURE,
  USERPASS_SUCCESS,
  USERPASS_VERSION,
} from "./constants.ts";
import type { ProxyAddr } from "./types.ts";

/** A decoded message and how many bytes of the input it took. */
export interface Decoded<T> {
  /** The message. */
  value: T;
  /** Its length in bytes; anything after it belongs to what follows. */
  length: number;
}

/** Bytes that cannot be a valid SOCKS5 message; `reply` is the REP code to answer with. */
export class Socks5CodecError extends SyntaxError {
  /** The REP code a request reply should carry (general failure unless more specific). */
  readonly reply: number;
  /**
   * Makes the error.
   * @param message what is wrong, naming the field
   * @param reply the REP code to answer a request with
   */
  constructor(message: string, reply = REP_GENERAL_FAILURE) {
    super(message);
    this.name = "Socks5CodecError";
    this.reply = reply;
  }
}

/** A destination as a request or UDP header carries it: an IP literal (as text) or a domain name. */
export interface Socks5Address extends ProxyAddr {
  /** ATYP_IPV4, ATYP_IPV6 or ATYP_DOMAIN. */
  atyp: number;
}

/** A request (RFC 1928 §4): the command and its destination. */
export interface Socks5Request {
  /** CMD: CONNECT, BIND or UDP ASSOCIATE (others are passed through for the server to refuse). */
  command: number;
  /** DST.ADDR and DST.PORT. */
  dest: Socks5Address;
}

/** Credentials from an RFC 1929 request. */
export interface UserPass {
  /** UNAME, decoded as UTF-8. */
  username: string;
  /** PASSWD, decoded as UTF-8. */
  password: string;
}

/** A UDP datagram as the relay sees it (RFC 1928 §7). */
export interface Socks5UdpDatagram {
  /** FRAG: 0 for a whole datagram; anything else is a fragment, which we drop. */
  frag: number;
  /** DST.ADDR/DST.PORT from the client, or the source when we send to the client. */
  addr: Socks5Address;
  /** DATA. */
  data: Uint8Array;
}

const utf8 = new TextDecoder();
const utf8Encoder = new TextEncoder();

/**
 * Decodes the greeting: VER(5) NMETHODS METHODS…; returns the offered methods.
 *
 * @example
 * ```ts
 * import { decodeGreeting } from "./socks5_codec.ts";
 * decodeGreeting(new Uint8Array([5, 1, 0]))?.value; // [0]
 * ```
 * @throws {Socks5CodecError} if VER is not 5 or no method is offered
 */
export function decodeGreeting(buf: Uint8Array): Decoded<number[]> | null {
  if (buf.length < 1) return null;
  if (buf[0] !== SOCKS_VERSION) {
    throw new Socks5CodecError(`SOCKS5 greeting: version ${buf[0]} is not 5`);
  }
  if (buf.length < 2) return null;
  const n = buf[1];
  if (n === 0) throw new Socks5CodecError("SOCKS5 greeting: no authentication method offered");
  if (buf.length < 2 + n) return null;
  return { value: [...buf.subarray(2, 2 + n)], length: 2 + n };
}

/**
 * Encodes the method selection: VER(5) METHOD.
 *
 * @example
 * ```ts
 * import { encodeMethodChoice } from "./socks5_codec.ts";
 * encodeMethodChoice(0); // Uint8Array [5, 0]
 * ```
 */
export function encodeMethodChoice(method: number): Uint8Array {
  return new Uint8Array([SOCKS_VERSION, method]);
}

/**
 * Decodes an RFC 1929 request: VER(1) ULEN UNAME PLEN PASSWD.
 *
 * @example
 * ```ts
 * import { decodeUserPass } from "./socks5_codec.ts";
 * decodeUserPass(new Uint8Array([1, 1, 97, 1, 98]))?.value; // { username: "a", password: "b" }
 * ```
 * @throws {Socks5CodecError} if VER is not 1
 */
export function decodeUserPass(buf: Uint8Array): Decoded<UserPass> | null {
  if (buf.length < 1) return null;
  if (buf[0] !== USERPASS_VERSION) {
    throw new Socks5CodecError(`SOCKS5 username/password: version ${buf[0]} is not 1`);
  }
  if (buf.length < 2) return null;
  const ulen = buf[1];
  if (buf.length < 3 + ulen) return null;
  const plen = buf[2 + ulen];
  const end = 3 + ulen + plen;
  if (buf.length < end) return null;
  return {
    value: {
      username: utf8.decode(buf.subarray(2, 2 + ulen)),
      password: utf8.decode(buf.subarray(3 + ulen, end)),
    },
    length: end,
  };
}

/**
 * Encodes an RFC 1929 reply: VER(1) STATUS.
 *
 * @example
 * ```ts
 * import { encodeUserPassStatus } from "./socks5_codec.ts";
 * encodeUserPassStatus(true); // Uint8Array [1, 0]
 * ```
 */
export function encodeUserPassStatus(ok: boolean): Uint8Array {
  return new Uint8Array([USERPASS_VERSION, ok ? USERPASS_SUCCESS : USERPASS_FAILURE]);
}

/** Decodes ATYP ADDR PORT at `off`; null if incomplete. */
function decodeAddress(buf: Uint8Array, off: number): Decoded<Socks5Address> | null {
  if (buf.length < off + 1) return null;
  const atyp = buf[off];
  let hostname: string;
  let end: number;
  if (atyp === ATYP_IPV4 || atyp === ATYP_IPV6) {
    const n = atyp === ATYP_IPV4 ? 4 : 16;
    end = off + 1 + n;
    if (buf.length < end + 2) return null;
    hostname = formatIp(buf.slice(off + 1, end));
  } else if (atyp === ATYP_DOMAIN) {
    if (buf.length < off + 2) return null;
    const n = buf[off + 1];
    if (n === 0) throw new Socks5CodecError("SOCKS5 address: empty domain name");
    end = off + 2 + n;
    if (buf.length < end + 2) return null;
    hostname = utf8.decode(buf.subarray(off + 2, end));
  } else {
    throw new Socks5CodecError(
      `SOCKS5 address: address type ${atyp} is not supported`,
      REP_ADDRESS_TYPE_NOT_SUPPORTED,
    );
  }
  const port = (buf[end] << 8) | buf[end + 1];
  return { value: { atyp, hostname, port }, length: end + 2 - off };
}

/**
 * Decodes a request: VER(5) CMD RSV ATYP DST.ADDR DST.PORT. The command is
 * not checked here (the server answers an unknown one with "command not
 * supported"); RSV is ignored, as most servers do.
 *
 * @example
 * ```ts
 * import { decodeRequest } from "./socks5_codec.ts";
 * decodeRequest(new Uint8Array([5, 1, 0, 1, 127, 0, 0, 1, 0, 80]))?.value.dest.hostname; // "127.0.0.1"
 * ```
 * @throws {Socks5CodecError} if VER is not 5, the domain is empty, or ATYP is unknown (reply 8)
 */
export function decodeRequest(buf: Uint8Array): Decoded<Socks5Request> | null {
  if (buf.length < 1) return null;
  if (buf[0] !== SOCKS_VERSION) {
    throw new Socks5CodecError(`SOCKS5 request: version ${buf[0]} is not 5`);
  }
  if (buf.length < 3) return null;
  const addr = decodeAddress(buf, 3);
  if (addr === null) return null;
  return { value: { command: buf[1], dest: addr.value }, length: 3 + addr.length };
}

/**
 * Encodes ATYP ADDR PORT for `hostname` and `port`: an IP literal as IPv4 or
 * IPv6 (an IPv4-mapped IPv6 address as plain IPv4), anything else as a domain.
 *
 * @example
 * ```ts
 * import { encodeAddress } from "./socks5_codec.ts";
 * encodeAddress("10.0.0.1", 1080); // Uint8Array [1, 10, 0, 0, 1, 4, 56]
 * ```
 * @throws {RangeError} if a domain name is longer than 255 bytes or the port is out of range
 */
export function encodeAddress(hostname: string, port: number): Uint8Array {
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RangeError(`SOCKS5 address: port ${port} out of range 0-65535`);
  }
  let head: Uint8Array;
  const ip = ipOrNull(hostname);
  if (ip !== null) {
    const a = unmap(ip);
    head = new Uint8Array(1 + a.length);
    head[0] = a.length === 4 ? ATYP_IPV4 : ATYP_IPV6;
    head.set(a, 1);
  } else {
    const name = utf8Encoder.encode(hostname);
    if (name.length === 0 || name.length > 255) {
      throw new RangeError(`SOCKS5 address: domain name of ${name.length} bytes (1-255 allowed)`);
    }
    head = new Uint8Array(2 + name.length);
    head[0] = ATYP_DOMAIN;
    head[1] = name.length;
    head.set(name, 2);
  }
  const out = new Uint8Array(head.length + 2);
  out.set(head);
  out[head.length] = port >> 8;
  out[head.length + 1] = port & 0xff;
  return out;
}

/**
 * Encodes a reply: VER(5) REP RSV(0) ATYP BND.ADDR BND.PORT; the bound address
 * defaults to 0.0.0.0:0, which is what a failure reply carries.
 *
 * @example
 * ```ts
 * import { encodeReply } from "./socks5_codec.ts";
 * encodeReply(0x05); // Uint8Array [5, 5, 0, 1, 0, 0, 0, 0, 0, 0]
 * ```
 */
export function encodeReply(
  rep: number,
  bound: ProxyAddr = { hostname: "0.0.0.0", port: 0 },
): Uint8Array {
  const addr = encodeAddress(bound.hostname, bound.port);
  const out = new Uint8Array(3 + addr.length);
  out[0] = SOCKS_VERSION;
  out[1] = rep;
  out.set(addr, 3);
  return out;
}

/**
 * Decodes a relayed UDP datagram: RSV(2) FRAG ATYP DST.ADDR DST.PORT DATA.
 *
 * @example
 * ```ts
 * import { decodeUdpDatagram } from "./socks5_codec.ts";
 * decodeUdpDatagram(new Uint8Array([0, 0, 0, 1, 127, 0, 0, 1, 0, 53, 42])).data; // Uint8Array [42]
 * ```
 * @throws {Socks5CodecError} if the header is truncated or ATYP is unknown
 */
export function decodeUdpDatagram(buf: Uint8Array): Socks5UdpDatagram {
  if (buf.length < 4) throw new Socks5CodecError("SOCKS5 UDP header: truncated");
  const addr = decodeAddress(buf, 3);
  if (addr === null) throw new Socks5CodecError("SOCKS5 UDP header: truncated address");
  return { frag: buf[2], addr: addr.value, data: buf.subarray(3 + addr.length) };
}

/**
 * Encodes a datagram for the client: RSV(0,0) FRAG(0), the source address, DATA.
 *
 * @example
 * ```ts
 * import { encodeUdpDatagram } from "./socks5_codec.ts";
 * encodeUdpDatagram("127.0.0.1", 53, new Uint8Array([42])).length; // 11
 * ```
 */
export function encodeUdpDatagram(hostname: string, port: number, data: Uint8Array): Uint8Array {
  const addr = encodeAddress(hostname, port);
  const out = new Uint8Array(3 + addr.length + data.length);
  out.set(addr, 3);
  out.set(data, 3 + addr.length);
  return out;
}

/** The address bytes when `s` is an IP literal, else null. */
export function ipOrNull(s: string): Uint8Array | null {
  if (!/^[0-9.]+$/.test(s) && !s.includes(":")) return null;
  try {
    return parseIp(s);
  } catch {
    return null;
  }
}
