/**
 * Cuts a TLS byte stream into whole records. Records are handed on in place, as views of
 * the chunk they arrived in; only a record split across chunks is copied, into a buffer
 * that exists until it is complete.
 *
 * @module
 */

import { AlertCode, TlsAlert } from "./messages.ts";
import { ContentType, HEADER_LEN, MAX_CIPHERTEXT } from "./record.ts";

/** An incomplete record: 5 bytes until the header is in, then the whole record's size. */
export interface HeldRecord {
  /** The buffer being filled. */
  buf: Uint8Array;
  /** Bytes of it filled so far. */
  len: number;
}

/**
 * Hands each whole record of held ‖ chunk to onRecord, which returns false to stop; returns
 * the incomplete record to hold for the next chunk, or null.
 *
 * @throws {TlsAlert} for a header that is not TLS or announces an oversized record
 */
export function splitRecords(
  held: HeldRecord | null,
  chunk: Uint8Array,
  onRecord: (record: Uint8Array) => boolean,
): HeldRecord | null {
  let off = 0;
  if (held !== null) {
    if (held.len < HEADER_LEN) {
      const n = Math.min(HEADER_LEN - held.len, chunk.length);
      held.buf.set(chunk.subarray(0, n), held.len);
      held.len += n;
      off = n;
      if (held.len < HEADER_LEN) return held;
      const full = new Uint8Array(HEADER_LEN + recordLength(held.buf, 0));
      full.set(held.buf);
      held.buf = full;
    }
    const n = Math.min(held.buf.length - held.len, chunk.length - off);
    held.buf.set(chunk.subarray(off, off + n), held.len);
    held.len += n;
    off += n;
    if (held.len < held.buf.length) return held;
    if (!onRecord(held.buf)) return null;
  }
  while (chunk.length - off >= HEADER_LEN) {
    const end = off + HEADER_LEN + recordLength(chunk, off);
    if (end > chunk.length) break;
    if (!onRecord(chunk.subarray(off, end))) return null;
    off = end;
  }
  if (off === chunk.length) return null;
  const rest = chunk.length - off;
  const buf = new Uint8Array(
    rest < HEADER_LEN ? HEADER_LEN : HEADER_LEN + recordLength(chunk, off),
  );
  buf.set(chunk.subarray(off));
  return { buf, len: rest };
}

/** The length in a record header; a header that is not TLS fails at once, not at the deadline. */
function recordLength(b: Uint8Array, off: number): number {
  const type = b[off];
  if (
    type < ContentType.ChangeCipherSpec || type > ContentType.ApplicationData || b[off + 1] !== 3
  ) {
    throw new TlsAlert(AlertCode.DecodeError, "not a TLS record");
  }
  const len = (b[off + 3] << 8) | b[off + 4];
  if (len > MAX_CIPHERTEXT) throw new TlsAlert(AlertCode.RecordOverflow, "record too long");
  return len;
}
