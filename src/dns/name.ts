/**
 * DNS names between text and wire (RFC 1035 §3.1, §4.1.4): reading a name
 * through compression pointers, splitting text into labels, the key a
 * compressing writer matches suffixes by, and the canonical comparison form.
 *
 * Names are text with a trailing dot (`"host.example."`, root `"."`). Label
 * bytes that are not printable ASCII, and `.` or `\` inside a label, are
 * written as `\DDD` / `\.` / `\\` as in zone files, so any wire name round
 * trips.
 *
 * @module
 */

import { MAX_LABEL_LEN, MAX_NAME_WIRE_LEN } from "./constants.ts";
import { DnsParseError } from "./parse_error.ts";

// A name of 255 wire bytes has at most 127 labels, so it never needs more pointers than
// this (miekg/dns's bound; Go's dnsmessage allows 10).
const MAX_POINTERS = (MAX_NAME_WIRE_LEN + 1) / 2 - 2;

/**
 * Converts a name to its canonical comparison form: lower case ASCII,
 * exactly one trailing dot.
 *
 * @example
 * ```ts
 * import { canonicalName } from "./name.ts";
 * canonicalName("Node-A.TSLab.test"); // "node-a.tslab.test."
 * ```
 */
export function canonicalName(name: string): string {
  let s = name.toLowerCase();
  if (!s.endsWith(".")) s += ".";
  return s;
}

/**
 * Reads the name at `start` of message `b`, following compression pointers;
 * `next` is the offset just past the name where it starts (past the first
 * pointer, if any).
 *
 * @throws {DnsParseError} when the name is malformed, runs past the end or
 *   follows more than 126 compression pointers
 */
export function readName(b: Uint8Array, start: number): { name: string; next: number } {
  let off = start;
  let next = -1;
  let wireLen = 1;
  let text = "";
  // Pointers must go strictly backwards: no loops. And few of them per name, or a chain of
  // thousands that every record points into costs time quadratic in the message size.
  let limit = start;
  let pointers = 0;
  for (;;) {
    if (off >= b.length) throw new DnsParseError("name runs past the end", off);
    const len = b[off];
    if ((len & 0xc0) === 0xc0) {
      if (off + 1 >= b.length) throw new DnsParseError("compression pointer cut short", off);
      const target = ((len & 0x3f) << 8) | b[off + 1];
      if (next < 0) next = off + 2;
      if (target >= limit) {
        throw new DnsParseError("compression pointer does not point backwards", off);
      }
      if (++pointers > MAX_POINTERS) {
        throw new DnsParseError(`name follows more than ${MAX_POINTERS} compression pointers`, off);
      }
      limit = target;
      off = target;
      continue;
    }
    if ((len & 0xc0) !== 0) {
      throw new DnsParseError(`unsupported label type 0x${len.toString(16)}`, off);
    }
    if (len === 0) {
      off++;
      break;
    }
    wireLen += len + 1;
    if (wireLen > MAX_NAME_WIRE_LEN) throw new DnsParseError("name longer than 255 bytes", off);
    if (off + 1 + len > b.length) throw new DnsParseError("label runs past the end", off);
    for (let i = off + 1; i <= off + len; i++) text += escapeByte(b[i]);
    text += ".";
    off += 1 + len;
  }
  return { name: text === "" ? "." : text, next: next < 0 ? off : next };
}

function escapeByte(c: number): string {
  if (c === 0x2e) return "\\.";
  if (c === 0x5c) return "\\\\";
  if (c > 0x20 && c < 0x7f) return String.fromCharCode(c);
  return "\\" + c.toString().padStart(3, "0");
}

/**
 * Splits a text name into label byte arrays, undoing zone-file escapes.
 *
 * @throws {SyntaxError} if a label is empty or over 63 bytes, the name over 255 bytes, or a
 *   character is not Latin-1
 */
export function nameLabels(name: string): Uint8Array[] {
  if (name === "." || name === "") return [];
  const labels: Uint8Array[] = [];
  let cur: number[] = [];
  let total = 1;
  const fail = (why: string) =>
    new SyntaxError(`Cannot encode DNS name ${JSON.stringify(name)}: ${why}`);
  // An unescaped final dot (the root) is recognised while scanning, not by the text's end: a
  // last label ending in a backslash byte is written `…\\.`, which ends in `\.` unescaped.
  for (let i = 0; i < name.length; i++) {
    const ch = name.charCodeAt(i);
    if (ch === 0x2e) {
      if (cur.length === 0) throw fail("empty label");
      labels.push(Uint8Array.from(cur));
      total += cur.length + 1;
      cur = [];
      continue;
    }
    if (ch === 0x5c) {
      const d = name.slice(i + 1, i + 4);
      if (/^[0-9]{3}$/.test(d) && Number(d) < 256) {
        cur.push(Number(d));
        i += 3;
      } else if (i + 1 < name.length) {
        cur.push(name.charCodeAt(++i) & 0xff);
      } else {
        throw fail("dangling backslash");
      }
    } else {
      if (ch > 0xff) throw fail("non-Latin-1 character (use punycode)");
      cur.push(ch);
    }
    if (cur.length > MAX_LABEL_LEN) throw fail("label longer than 63 bytes");
  }
  if (cur.length > 0) {
    labels.push(Uint8Array.from(cur));
    total += cur.length + 1;
  }
  if (total > MAX_NAME_WIRE_LEN) throw fail("name longer than 255 bytes");
  return labels;
}

/** The key of a label in a compression table: ASCII lower-cased, so matching ignores case. */
export function lowerKey(label: Uint8Array): string {
  let s = "";
  for (const c of label) s += String.fromCharCode(c >= 0x41 && c <= 0x5a ? c + 32 : c);
  // Quoted, so a label containing "." cannot collide with two labels.
  return JSON.stringify(s);
}
