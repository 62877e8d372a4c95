/**
 * DNS message codec (RFC 1035 §4): header, questions and resource records,
 * A/AAAA/CNAME/PTR/NS data decoded, everything else (including EDNS0 OPT,
 * RFC 6891) carried as raw bytes. Names, their text form and compression are
 * in name.ts; the compressing writer is _writer.ts.
 *
 * @module
 */

import {
  HEADER_LEN,
  TYPE_A,
  TYPE_AAAA,
  TYPE_CNAME,
  TYPE_DNAME,
  TYPE_NS,
  TYPE_OPT,
  TYPE_PTR,
} from "./constants.ts";
import { readName } from "./name.ts";
import { DnsParseError } from "./parse_error.ts";
import { DnsWriter } from "./_writer.ts";

/** One entry of the question section. */
export interface DnsQuestion {
  /** Queried name, with a trailing dot, case as received. */
  name: string;
  /** Query type (TYPE_A …). */
  type: number;
  /** Query class (CLASS_IN). */
  class: number;
}

/** One resource record. */
export interface DnsRecord {
  /** Owner name with a trailing dot. */
  name: string;
  /** Record type. */
  type: number;
  /** Class; for OPT the sender's UDP payload size. */
  class: number;
  /** TTL in seconds (unsigned); for OPT the extended rcode, version and flags. */
  ttl: number;
  /**
   * A/AAAA: the 4- or 16-byte address. CNAME/PTR/NS/DNAME: the target name
   * (text). Any other type: the raw RDATA.
   */
  data: Uint8Array | string;
}

/** A whole DNS message. */
export interface DnsMessage {
  /** Transaction ID. */
  id: number;
  /** QR: true for a response. */
  response: boolean;
  /** Opcode (0 = QUERY). */
  opcode: number;
  /** AA: authoritative answer. */
  authoritative: boolean;
  /** TC: the message was truncated. */
  truncated: boolean;
  /** RD: recursion desired. */
  recursionDesired: boolean;
  /** RA: recursion available. */
  recursionAvailable: boolean;
  /** AD: authentic data (RFC 4035). */
  authenticData: boolean;
  /** CD: checking disabled (RFC 4035). */
  checkingDisabled: boolean;
  /** Low 4 bits of the response code. */
  rcode: number;
  /** Question section. */
  questions: DnsQuestion[];
  /** Answer section. */
  answers: DnsRecord[];
  /** Authority section. */
  authorities: DnsRecord[];
  /** Additional section (EDNS0 OPT lives here). */
  additionals: DnsRecord[];
}

/** EDNS0 parameters read from an OPT record (RFC 6891 §6.1.3). */
export interface Edns {
  /** Requestor's UDP payload size. */
  udpSize: number;
  /** EDNS version. */
  version: number;
  /** DO bit (DNSSEC OK). */
  dnssecOk: boolean;
  /** Upper 8 bits of the 12-bit extended rcode. */
  extendedRcode: number;
}

/** Options for {@linkcode buildDnsMessage}. */
export interface BuildOptions {
  /**
   * Largest message to produce. Records that do not fit are left out and
   * TC is set; the question section and OPT records are kept.
   */
  maxSize?: number;
}

/**
 * A message with every field at its zero value, to spread over.
 *
 * @example
 * ```ts
 * import { emptyMessage } from "./message.ts";
 * const m = { ...emptyMessage(), id: 7, questions: [{ name: "a.", type: 1, class: 1 }] };
 * m.questions.length; // 1
 * ```
 */
export function emptyMessage(): DnsMessage {
  return {
    id: 0,
    response: false,
    opcode: 0,
    authoritative: false,
    truncated: false,
    recursionDesired: false,
    recursionAvailable: false,
    authenticData: false,
    checkingDisabled: false,
    rcode: 0,
    questions: [],
    answers: [],
    authorities: [],
    additionals: [],
  };
}

/**
 * Parses a DNS message. Compression pointers must point backwards (which
 * also rules out loops); names are limited to 255 wire bytes.
 *
 * @example
 * ```ts
 * import { fromHex } from "../bytes/hex.ts";
 * import { parseDnsMessage } from "./message.ts";
 * const q = fromHex("df840120000100000000000004746573740000010001");
 * parseDnsMessage(q).questions[0].name; // "test."
 * ```
 * @throws {DnsParseError} when the bytes are not a well-formed message
 */
export function parseDnsMessage(b: Uint8Array): DnsMessage {
  if (b.length < HEADER_LEN) {
    throw new DnsParseError(`message of ${b.length} bytes is shorter than the header`, 0);
  }
  const flags = (b[2] << 8) | b[3];
  const m: DnsMessage = {
    id: (b[0] << 8) | b[1],
    response: (flags & 0x8000) !== 0,
    opcode: (flags >> 11) & 0xf,
    authoritative: (flags & 0x0400) !== 0,
    truncated: (flags & 0x0200) !== 0,
    recursionDesired: (flags & 0x0100) !== 0,
    recursionAvailable: (flags & 0x0080) !== 0,
    authenticData: (flags & 0x0020) !== 0,
    checkingDisabled: (flags & 0x0010) !== 0,
    rcode: flags & 0xf,
    questions: [],
    answers: [],
    authorities: [],
    additionals: [],
  };
  const counts = [4, 6, 8, 10].map((at) => (b[at] << 8) | b[at + 1]);
  let off = HEADER_LEN;
  for (let i = 0; i < counts[0]; i++) {
    const n = readName(b, off);
    off = n.next;
    if (off + 4 > b.length) throw new DnsParseError("question cut short", off);
    m.questions.push({
      name: n.name,
      type: (b[off] << 8) | b[off + 1],
      class: (b[off + 2] << 8) | b[off + 3],
    });
    off += 4;
  }
  const sections = [m.answers, m.authorities, m.additionals];
  for (let s = 0; s < 3; s++) {
    for (let i = 0; i < counts[s + 1]; i++) off = readRecord(b, off, sections[s]);
  }
  return m;
}

/**
 * Reads the EDNS0 parameters of a message's OPT record, or null if it has none.
 *
 * @example
 * ```ts
 * import { emptyMessage, getEdns } from "./message.ts";
 * const m = emptyMessage();
 * m.additionals.push({ name: ".", type: 41, class: 1232, ttl: 0, data: new Uint8Array(0) });
 * getEdns(m)?.udpSize; // 1232
 * ```
 */
export function getEdns(m: DnsMessage): Edns | null {
  const opt = m.additionals.find((r) => r.type === TYPE_OPT);
  if (!opt) return null;
  return {
    udpSize: opt.class,
    extendedRcode: (opt.ttl >>> 24) & 0xff,
    version: (opt.ttl >>> 16) & 0xff,
    dnssecOk: (opt.ttl & 0x8000) !== 0,
  };
}

/**
 * Serializes a message, compressing owner names and the names in
 * CNAME/PTR/NS data (RFC 1035 §4.1.4).
 *
 * @example
 * ```ts
 * import { buildDnsMessage, emptyMessage, parseDnsMessage } from "./message.ts";
 * const m = { ...emptyMessage(), id: 1, questions: [{ name: "a.example.", type: 1, class: 1 }] };
 * parseDnsMessage(buildDnsMessage(m)).questions[0].name; // "a.example."
 * ```
 * @throws {SyntaxError} if a name is not a valid DNS name
 * @throws {RangeError} if a field is out of range or an A/AAAA address has the wrong length
 */
export function buildDnsMessage(m: DnsMessage, opts?: BuildOptions): Uint8Array {
  const w = new DnsWriter();
  w.u16(m.id);
  let flags = (m.response ? 0x8000 : 0) | ((m.opcode & 0xf) << 11) |
    (m.authoritative ? 0x0400 : 0) | (m.truncated ? 0x0200 : 0) |
    (m.recursionDesired ? 0x0100 : 0) | (m.recursionAvailable ? 0x0080 : 0) |
    (m.authenticData ? 0x0020 : 0) | (m.checkingDisabled ? 0x0010 : 0) | (m.rcode & 0xf);
  w.u16(flags);
  w.u16(m.questions.length);
  w.u16(m.answers.length);
  w.u16(m.authorities.length);
  w.u16(m.additionals.length);
  for (const q of m.questions) {
    w.name(q.name, true);
    w.u16(q.type);
    w.u16(q.class);
  }
  const max = opts?.maxSize ?? Infinity;
  if (w.len > max) throw new RangeError(`DNS question section of ${w.len} bytes exceeds ${max}`);
  const afterQuestions = w.len;
  let truncated = false;
  outer: for (const section of [m.answers, m.authorities, m.additionals]) {
    for (const r of section) {
      writeRecord(w, r);
      if (w.len > max) {
        truncated = true;
        break outer;
      }
    }
  }
  if (truncated) {
    // Keep the question and any OPT, drop every other record, and say so.
    w.len = afterQuestions;
    w.forgetNamesFrom(afterQuestions);
    let opts = 0;
    for (const r of m.additionals) {
      if (r.type !== TYPE_OPT) continue;
      const before = w.len;
      writeRecord(w, r);
      if (w.len > max) w.len = before;
      else opts++;
    }
    flags |= 0x0200;
    const out = w.bytes();
    out[2] = flags >> 8;
    out[6] =
      out[7] =
      out[8] =
      out[9] =
        0;
    out[10] = opts >> 8;
    out[11] = opts & 0xff;
    return out;
  }
  return w.bytes();
}

// --- parsing internals ---

function readRecord(b: Uint8Array, off: number, into: DnsRecord[]): number {
  const n = readName(b, off);
  off = n.next;
  if (off + 10 > b.length) throw new DnsParseError("resource record header cut short", off);
  const type = (b[off] << 8) | b[off + 1];
  const cls = (b[off + 2] << 8) | b[off + 3];
  const ttl = ((b[off + 4] << 24) | (b[off + 5] << 16) | (b[off + 6] << 8) | b[off + 7]) >>> 0;
  const rdlen = (b[off + 8] << 8) | b[off + 9];
  off += 10;
  const end = off + rdlen;
  if (end > b.length) throw new DnsParseError(`RDATA of ${rdlen} bytes runs past the end`, off);
  let data: Uint8Array | string;
  if (type === TYPE_A || type === TYPE_AAAA) {
    const want = type === TYPE_A ? 4 : 16;
    if (rdlen !== want) {
      throw new DnsParseError(
        `${type === TYPE_A ? "A" : "AAAA"} record with ${rdlen} bytes of data`,
        off,
      );
    }
    data = b.slice(off, end);
  } else if (type === TYPE_CNAME || type === TYPE_PTR || type === TYPE_NS || type === TYPE_DNAME) {
    const t = readName(b, off);
    if (t.next !== end) throw new DnsParseError("name in RDATA does not fill RDLENGTH", off);
    data = t.name;
  } else {
    data = b.slice(off, end);
  }
  into.push({ name: n.name, type, class: cls, ttl, data });
  return end;
}

// --- building internals ---

function writeRecord(w: DnsWriter, r: DnsRecord): void {
  w.name(r.name, true);
  w.u16(r.type);
  w.u16(r.class);
  w.u32(r.ttl);
  const lenAt = w.len;
  w.u16(0);
  if (typeof r.data === "string") {
    // RFC 3597 §4: only RFC 1035 types may be compressed inside RDATA.
    w.name(r.data, r.type === TYPE_CNAME || r.type === TYPE_PTR || r.type === TYPE_NS);
  } else {
    if (r.type === TYPE_A && r.data.length !== 4) {
      throw new RangeError(
        `A record ${JSON.stringify(r.name)} needs 4 bytes, got ${r.data.length}`,
      );
    }
    if (r.type === TYPE_AAAA && r.data.length !== 16) {
      throw new RangeError(
        `AAAA record ${JSON.stringify(r.name)} needs 16 bytes, got ${r.data.length}`,
      );
    }
    w.raw(r.data);
  }
  const rdlen = w.len - lenAt - 2;
  if (rdlen > 0xffff) throw new RangeError(`RDATA of ${rdlen} bytes exceeds 65535`);
  w.buf[lenAt] = rdlen >> 8;
  w.buf[lenAt + 1] = rdlen & 0xff;
}
