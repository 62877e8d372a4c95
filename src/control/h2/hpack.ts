/**
 * HPACK (RFC 7541): a decoder with the static table, the dynamic table and its
 * size updates, and Huffman-coded literals; and an encoder that sends only
 * literals without indexing (or static-table indices), so it keeps no state.
 *
 * @module
 */
import { ErrorCode, H2Error } from "./frame.ts";
import { huffmanDecode } from "./huffman.ts";

/** One header field, name lower-case. */
export type HeaderField = [name: string, value: string];

/** The static table (RFC 7541 Appendix A), index 1 first: name, a space, the value. */
const STATIC_TEXT = `:authority
:method GET
:method POST
:path /
:path /index.html
:scheme http
:scheme https
:status 200
:status 204
:status 206
:status 304
:status 400
:status 404
:status 500
accept-charset
accept-encoding gzip, deflate
accept-language
accept-ranges
accept
access-control-allow-origin
age
allow
authorization
cache-control
content-disposition
content-encoding
content-language
content-length
content-location
content-range
content-type
cookie
date
etag
expect
expires
from
host
if-match
if-modified-since
if-none-match
if-range
if-unmodified-since
last-modified
link
location
max-forwards
proxy-authenticate
proxy-authorization
range
referer
refresh
retry-after
server
set-cookie
strict-transport-security
transfer-encoding
user-agent
vary
via
www-authenticate`;
const STATIC: HeaderField[] = STATIC_TEXT.split("\n").map((line) => {
  const sp = line.indexOf(" ");
  return sp < 0 ? [line, ""] : [line.slice(0, sp), line.slice(sp + 1)];
});

/** Per-entry overhead counted toward the dynamic table size (RFC 7541 §4.1). */
const ENTRY_OVERHEAD = 32;

const decodeText = (b: Uint8Array) => new TextDecoder().decode(b);

/**
 * Decodes header blocks of one connection, in order; the dynamic table lives
 * across blocks.
 *
 * @example
 * ```ts
 * const d = new HpackDecoder();
 * d.decode(new Uint8Array([0x88])); // [[":status", "200"]]
 * ```
 */
export class HpackDecoder {
  /** Newest first. */
  #table: HeaderField[] = [];
  #size = 0;
  #maxSize: number;
  readonly #limit: number;
  readonly #maxListSize: number;

  /**
   * `maxTableSize` is the SETTINGS_HEADER_TABLE_SIZE this side advertised (the
   * ceiling for the peer's size updates); `maxListSize` bounds one decoded list.
   */
  constructor(maxTableSize = 4096, maxListSize = 256 * 1024) {
    this.#maxSize = maxTableSize;
    this.#limit = maxTableSize;
    this.#maxListSize = maxListSize;
  }

  /** The dynamic table's current size in RFC 7541 octets. */
  get tableSize(): number {
    return this.#size;
  }

  /** The dynamic table's entries, newest (index 62) first. */
  get table(): readonly HeaderField[] {
    return this.#table;
  }

  /**
   * Decodes one complete header block.
   *
   * @throws {H2Error} COMPRESSION_ERROR on any malformed representation
   */
  decode(block: Uint8Array): HeaderField[] {
    const out: HeaderField[] = [];
    let listSize = 0;
    const pos = { off: 0 };
    let fields = false;
    while (pos.off < block.length) {
      const b = block[pos.off];
      let field: HeaderField;
      if (b & 0x80) {
        field = this.#entry(readInt(block, pos, 7));
      } else if ((b & 0xe0) === 0x20) {
        const size = readInt(block, pos, 5);
        if (fields) throw compressionError("table size update after a header field");
        if (size > this.#limit) {
          throw compressionError(`table size update to ${size}, above the ${this.#limit} allowed`);
        }
        this.#maxSize = size;
        this.#evict(0);
        continue;
      } else {
        // 01xxxxxx with indexing (6-bit prefix); 0000xxxx without, 0001xxxx never (4-bit).
        const indexing = (b & 0xc0) === 0x40;
        const index = readInt(block, pos, indexing ? 6 : 4);
        const name = index === 0 ? decodeText(readString(block, pos)) : this.#entry(index)[0];
        field = [name, decodeText(readString(block, pos))];
        if (indexing) this.#add(field);
      }
      fields = true;
      listSize += field[0].length + field[1].length + ENTRY_OVERHEAD;
      if (listSize > this.#maxListSize) {
        throw compressionError(`header list over ${this.#maxListSize} bytes`);
      }
      out.push(field);
    }
    return out;
  }

  #entry(index: number): HeaderField {
    if (index >= 1 && index <= STATIC.length) return STATIC[index - 1];
    const e = this.#table[index - STATIC.length - 1];
    if (e === undefined) throw compressionError(`index ${index} is not in the tables`);
    return e;
  }

  #add(field: HeaderField): void {
    const size = entrySize(field);
    // An entry larger than the table empties it and is not added (RFC 7541 §4.4).
    this.#evict(size);
    if (size <= this.#maxSize) {
      this.#table.unshift(field);
      this.#size += size;
    }
  }

  /** Evicts oldest entries until `room` more octets fit (or the table is empty). */
  #evict(room: number): void {
    while (this.#table.length > 0 && this.#size + room > this.#maxSize) {
      this.#size -= entrySize(this.#table.pop()!);
    }
  }
}

/**
 * Encodes header lists as literals without indexing (static-table indices
 * where the table has the field or its name), with raw (not Huffman) strings.
 */
export class HpackEncoder {
  /** Encodes `fields` (names must already be lower-case). */
  encode(fields: readonly HeaderField[]): Uint8Array {
    const out: number[] = [];
    const enc = new TextEncoder();
    for (const [name, value] of fields) {
      const full = STATIC.findIndex(([n, v]) => n === name && v === value);
      if (full >= 0) {
        writeInt(out, 0x80, 7, full + 1);
        continue;
      }
      const named = STATIC.findIndex(([n]) => n === name);
      writeInt(out, 0x00, 4, named + 1);
      if (named < 0) writeString(out, enc.encode(name));
      writeString(out, enc.encode(value));
    }
    return new Uint8Array(out);
  }
}

function entrySize([name, value]: HeaderField): number {
  // Sizes count octets; header names and values here are ASCII in practice.
  return new TextEncoder().encode(name).length + new TextEncoder().encode(value).length +
    ENTRY_OVERHEAD;
}

/** Reads an integer with an `n`-bit prefix at `pos.off` (RFC 7541 §5.1). */
function readInt(p: Uint8Array, pos: { off: number }, n: number): number {
  if (pos.off >= p.length) throw compressionError("truncated integer");
  const mask = (1 << n) - 1;
  let v = p[pos.off++] & mask;
  if (v < mask) return v;
  let shift = 0;
  while (true) {
    if (pos.off >= p.length) throw compressionError("truncated integer");
    const b = p[pos.off++];
    v += (b & 0x7f) * 2 ** shift;
    shift += 7;
    if (v > 0x7fffffff) throw compressionError("integer too large");
    if ((b & 0x80) === 0) return v;
  }
}

/** Reads a string literal (length with a Huffman bit, then the octets). */
function readString(p: Uint8Array, pos: { off: number }): Uint8Array {
  if (pos.off >= p.length) throw compressionError("truncated string");
  const huffman = (p[pos.off] & 0x80) !== 0;
  const len = readInt(p, pos, 7);
  if (pos.off + len > p.length) throw compressionError("string runs past the block");
  const raw = p.subarray(pos.off, pos.off + len);
  pos.off += len;
  return huffman ? huffmanDecode(raw) : raw;
}

function writeInt(out: number[], first: number, n: number, v: number): void {
  const mask = (1 << n) - 1;
  if (v < mask) {
    out.push(first | v);
    return;
  }
  out.push(first | mask);
  v -= mask;
  while (v >= 0x80) {
    out.push((v & 0x7f) | 0x80);
    v = Math.floor(v / 128);
  }
  out.push(v);
}

function writeString(out: number[], bytes: Uint8Array): void {
  writeInt(out, 0x00, 7, bytes.length);
  for (const b of bytes) out.push(b);
}

function compressionError(what: string): H2Error {
  return new H2Error(ErrorCode.COMPRESSION_ERROR, `hpack: ${what}`);
}
