/**
 * Minimal HTTP/1.1 response-head parsing for the TS2021 upgrade: the status
 * line and headers up to the blank line; bytes after it belong to
 * controlbase.
 *
 * @module
 */

/** A parsed response head. */
export interface ResponseHead {
  /** Status code. */
  status: number;
  /** Reason phrase. */
  reason: string;
  /** Headers, names lower-cased, repeated values joined with ", ". */
  headers: Map<string, string>;
  /** Bytes received after the head. */
  rest: Uint8Array;
}

/** Finds `\r\n\r\n`; returns the index after it, or -1. */
export function findHeadEnd(buf: Uint8Array, len = buf.length): number {
  for (let i = 3; i < len; i++) {
    if (buf[i] === 10 && buf[i - 1] === 13 && buf[i - 2] === 10 && buf[i - 3] === 13) return i + 1;
  }
  return -1;
}

/**
 * Parses a complete head (`buf` must contain `\r\n\r\n`).
 *
 * @throws {SyntaxError} if the status line is not HTTP/1.x
 */
export function parseResponseHead(buf: Uint8Array): ResponseHead {
  const end = findHeadEnd(buf);
  if (end < 0) throw new SyntaxError("Cannot parse HTTP response head: no blank line");
  const text = new TextDecoder().decode(buf.subarray(0, end - 4));
  const lines = text.split("\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})(?: (.*))?$/.exec(lines[0]);
  if (m === null) {
    throw new SyntaxError(
      `Cannot parse HTTP status line ${JSON.stringify(lines[0].slice(0, 80))}`,
    );
  }
  const headers = new Map<string, string>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const prev = headers.get(name);
    headers.set(name, prev === undefined ? value : `${prev}, ${value}`);
  }
  return { status: Number(m[1]), reason: m[2] ?? "", headers, rest: buf.slice(end) };
}
