/**
 * The growable byte writer the DNS message builder lays a message out in,
 * with the table of names already written that later names point back to
 * (RFC 1035 §4.1.4).
 *
 * @module
 */

import { lowerKey, nameLabels } from "./name.ts";

/** A DNS message being written: bytes so far and the compression targets among them. */
export class DnsWriter {
  /** The buffer; bytes past {@linkcode len} are not part of the message. */
  buf = new Uint8Array(512);
  /** Bytes written so far; setting it lower rolls the message back. */
  len = 0;
  /** Lower-cased suffix text → offset where it was written (offsets < 0x4000 only). */
  names = new Map<string, number>();

  /** Makes room for `n` more bytes. */
  ensure(n: number): void {
    if (this.len + n <= this.buf.length) return;
    const nb = new Uint8Array(Math.max(this.buf.length * 2, this.len + n));
    nb.set(this.buf.subarray(0, this.len));
    this.buf = nb;
  }
  /** Appends one byte. */
  u8(v: number): void {
    this.ensure(1);
    this.buf[this.len++] = v;
  }
  /**
   * Appends a big-endian 16-bit field.
   *
   * @throws {RangeError} if v is not an integer in 0-65535
   */
  u16(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffff) {
      throw new RangeError(`DNS field ${v} out of range 0-65535`);
    }
    this.ensure(2);
    this.buf[this.len++] = v >> 8;
    this.buf[this.len++] = v & 0xff;
  }
  /**
   * Appends a big-endian 32-bit TTL.
   *
   * @throws {RangeError} if v is not an integer in 0-4294967295
   */
  u32(v: number): void {
    if (!Number.isInteger(v) || v < 0 || v > 0xffffffff) {
      throw new RangeError(`DNS TTL ${v} out of range 0-4294967295`);
    }
    this.u16(Math.floor(v / 0x10000));
    this.u16(v & 0xffff);
  }
  /** Appends bytes as they are. */
  raw(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.len);
    this.len += b.length;
  }
  /**
   * Appends a name; with `compress`, ends it with a pointer to a suffix written
   * before and records its own suffixes as targets.
   *
   * @throws {SyntaxError} if the name is not a valid DNS name
   */
  name(name: string, compress: boolean): void {
    const labels = nameLabels(name);
    for (let i = 0; i < labels.length; i++) {
      const key = labels.slice(i).map(lowerKey).join(".");
      const at = compress ? this.names.get(key) : undefined;
      if (at !== undefined) {
        this.u16(0xc000 | at);
        return;
      }
      if (compress && this.len < 0x4000) this.names.set(key, this.len);
      this.u8(labels[i].length);
      this.raw(labels[i]);
    }
    this.u8(0);
  }
  /** Drops compression targets written at or after `offset` (they were rolled back). */
  forgetNamesFrom(offset: number): void {
    for (const [k, v] of this.names) if (v >= offset) this.names.delete(k);
  }
  /** A copy of the message written so far. */
  bytes(): Uint8Array {
    return this.buf.slice(0, this.len);
  }
}
