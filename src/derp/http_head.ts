/**
 * Minimal HTTP/1.1 message heads over a raw byte stream: just enough for the DERP
 * upgrade, a few GET endpoints and the client side of the upgrade.
 *
 * @module
 */

import type { ByteReader } from "./frame.ts";

/** A parsed HTTP/1.1 head (request or response). */
export interface HttpHead {
  /** The first line split on spaces: [method, target, version] or [version, status, …reason]. */
  startLine: string[];
  /** Header values by lower-cased name; repeated headers are joined with ", ". */
  headers: Map<string, string>;
  /** Bytes read past the end of the head. */
  rest: Uint8Array;
}

/** Raised when the head is malformed or too large. */
export class HttpHeadError extends SyntaxError {
  /** Creates the error. */
  constructor(message: string) {
    super(message);
    this.name = "HttpHeadError";
  }
}

const latin1 = new TextDecoder("latin1");

/**
 * Reads one head, up to maxBytes. Resolves to null if the stream ends before any byte.
 *
 * @throws {HttpHeadError} if the head is malformed, larger than maxBytes, or cut short
 */
export async function readHttpHead(
  src: ByteReader,
  maxBytes: number,
  initial?: Uint8Array,
): Promise<HttpHead | null> {
  // Small to start: every connection makes one, and an upgrade request is a few hundred bytes.
  let buf = new Uint8Array(Math.min(1024, maxBytes + 4));
  let len = 0;
  if (initial && initial.length > 0) {
    if (initial.length > buf.length) buf = new Uint8Array(initial.length);
    buf.set(initial);
    len = initial.length;
  }
  let scanFrom = 0;
  for (;;) {
    const end = findHeadEnd(buf, scanFrom, len);
    if (end >= 0) {
      return parseHead(latin1.decode(buf.subarray(0, end)), buf.slice(end + 4, len));
    }
    scanFrom = Math.max(0, len - 3);
    if (len >= maxBytes) throw new HttpHeadError(`HTTP head is larger than ${maxBytes} bytes`);
    if (len === buf.length) {
      const next = new Uint8Array(Math.min(buf.length * 2, maxBytes + 4));
      next.set(buf);
      buf = next;
    }
    const n = await src.read(buf.subarray(len));
    if (n === null) {
      if (len === 0) return null;
      throw new HttpHeadError("Connection closed inside the HTTP head");
    }
    len += n;
  }
}

function findHeadEnd(b: Uint8Array, from: number, len: number): number {
  for (let i = from; i + 3 < len; i++) {
    if (b[i] === 13 && b[i + 1] === 10 && b[i + 2] === 13 && b[i + 3] === 10) return i;
  }
  return -1;
}

/**
 * Parses head text (without the blank line).
 *
 * @throws {HttpHeadError} on a malformed line
 */
export function parseHead(text: string, rest: Uint8Array = new Uint8Array(0)): HttpHead {
  const lines = text.split("\r\n");
  const startLine = lines[0].split(" ");
  if (startLine.length < 2) {
    throw new HttpHeadError(`Bad HTTP start line "${lines[0].slice(0, 80)}"`);
  }
  const headers = new Map<string, string>();
  for (let i = 1; i < lines.length; i++) {
    const l = lines[i];
    const c = l.indexOf(":");
    if (c <= 0) throw new HttpHeadError(`Bad HTTP header line "${l.slice(0, 80)}"`);
    const name = l.slice(0, c).trim().toLowerCase();
    const value = l.slice(c + 1).trim();
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
  }
  return { startLine, headers, rest };
}

/** Builds a response head plus body. */
export function httpResponse(
  status: number,
  reason: string,
  headers: Record<string, string>,
  body: string | Uint8Array = "",
): Uint8Array {
  const b = typeof body === "string" ? new TextEncoder().encode(body) : body;
  let h = `HTTP/1.1 ${status} ${reason}\r\n`;
  for (const [k, v] of Object.entries(headers)) h += `${k}: ${v}\r\n`;
  if (status !== 101 && status !== 204 && !("Content-Length" in headers)) {
    h += `Content-Length: ${b.length}\r\n`;
  }
  h += "\r\n";
  const head = new TextEncoder().encode(h);
  const out = new Uint8Array(head.length + b.length);
  out.set(head);
  out.set(b, head.length);
  return out;
}
