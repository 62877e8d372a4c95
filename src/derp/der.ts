/**
 * A tiny DER encoder: just the ASN.1 types an X.509 certificate needs.
 *
 * @module
 */
import { concatBytes } from "../bytes/concat.ts";

/** Encodes a DER TLV with the given tag byte. */
function tlv(tag: number, content: Uint8Array): Uint8Array {
  const n = content.length;
  let lenBytes: number[];
  if (n < 128) lenBytes = [n];
  else {
    const b: number[] = [];
    for (let v = n; v > 0; v = Math.floor(v / 256)) b.unshift(v & 255);
    lenBytes = [0x80 | b.length, ...b];
  }
  const out = new Uint8Array(1 + lenBytes.length + n);
  out[0] = tag;
  out.set(lenBytes, 1);
  out.set(content, 1 + lenBytes.length);
  return out;
}

/** Concatenates byte strings. */
export function concat(...parts: Uint8Array[]): Uint8Array {
  return concatBytes(parts);
}

/** SEQUENCE of the given encoded elements. */
export function seq(...items: Uint8Array[]): Uint8Array {
  return tlv(0x30, concat(...items));
}

/** SET of the given encoded elements. */
export function set(...items: Uint8Array[]): Uint8Array {
  return tlv(0x31, concat(...items));
}

/** INTEGER from unsigned big-endian magnitude bytes. */
export function uint(bytes: Uint8Array): Uint8Array {
  let i = 0;
  while (i < bytes.length - 1 && bytes[i] === 0) i++;
  let b = bytes.subarray(i);
  if (b[0] & 0x80) b = concat(new Uint8Array([0]), b);
  return tlv(0x02, b);
}

/** INTEGER from a small non-negative number. */
export function int(n: number): Uint8Array {
  const b: number[] = [];
  for (let v = n; v > 0; v = Math.floor(v / 256)) b.unshift(v & 255);
  return uint(new Uint8Array(b.length ? b : [0]));
}

/** OBJECT IDENTIFIER from dotted text. */
export function oid(dotted: string): Uint8Array {
  const arcs = dotted.split(".").map(Number);
  const out: number[] = [40 * arcs[0] + arcs[1]];
  for (const a of arcs.slice(2)) {
    const b: number[] = [a & 0x7f];
    for (let v = Math.floor(a / 128); v > 0; v = Math.floor(v / 128)) b.unshift(0x80 | (v & 0x7f));
    out.push(...b);
  }
  return tlv(0x06, new Uint8Array(out));
}

/** UTF8String. */
export function utf8(s: string): Uint8Array {
  return tlv(0x0c, new TextEncoder().encode(s));
}

/** OCTET STRING. */
export function octets(b: Uint8Array): Uint8Array {
  return tlv(0x04, b);
}

/** BIT STRING with no unused bits. */
export function bits(b: Uint8Array): Uint8Array {
  return tlv(0x03, concat(new Uint8Array([0]), b));
}

/** BOOLEAN. */
export function bool(v: boolean): Uint8Array {
  return tlv(0x01, new Uint8Array([v ? 0xff : 0]));
}

/** UTCTime before 2050, GeneralizedTime from 2050 (RFC 5280 §4.1.2.5). */
export function time(d: Date): Uint8Array {
  const p = (n: number, w = 2) => String(n).padStart(w, "0");
  const y = d.getUTCFullYear();
  const rest = `${p(d.getUTCMonth() + 1)}${p(d.getUTCDate())}${p(d.getUTCHours())}` +
    `${p(d.getUTCMinutes())}${p(d.getUTCSeconds())}Z`;
  if (y < 2050) return tlv(0x17, new TextEncoder().encode(p(y % 100) + rest));
  return tlv(0x18, new TextEncoder().encode(p(y, 4) + rest));
}

/** Context-specific constructed tag [n] around content. */
export function explicit(n: number, content: Uint8Array): Uint8Array {
  return tlv(0xa0 | n, content);
}

/** Context-specific primitive tag [n] (implicit) around raw bytes. */
export function implicit(n: number, raw: Uint8Array): Uint8Array {
  return tlv(0x80 | n, raw);
}

/** Wraps DER in PEM armour. */
export function pem(label: string, der: Uint8Array): string {
  let b64 = "";
  const CH = 0x8000;
  for (let i = 0; i < der.length; i += CH) {
    b64 += String.fromCharCode(...der.subarray(i, i + CH));
  }
  b64 = btoa(b64);
  const lines = b64.match(/.{1,64}/g) ?? [];
  return `-----BEGIN ${label}-----\n${lines.join("\n")}\n-----END ${label}-----\n`;
}

/** Decodes the first PEM block with the given label. */
export function unpem(text: string, label: string): Uint8Array {
  const m = text.match(new RegExp(`-----BEGIN ${label}-----([\\s\\S]*?)-----END ${label}-----`));
  if (!m) throw new SyntaxError(`No PEM block "${label}" found`);
  const bin = atob(m[1].replace(/\s+/g, ""));
  const out = new Uint8Array(bin.length);
  for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
  return out;
}
