/**
 * HTTP/1.x message heads (RFC 9112) as pure functions: decoding a request or
 * response head from the bytes so far, encoding one, and removing the
 * hop-by-hop fields a proxy must not forward (RFC 9110 §7.6.1).
 *
 * @module
 */

/** A header field as received: the name's case is kept, lookups ignore it. */
export type HeaderField = [name: string, value: string];

/** A decoded head: the start line's three parts and the fields in order. */
export interface HttpHead {
  /** Request: method, target, version. Response: version, status, reason. */
  start: [string, string, string];
  /** The header fields in order. */
  fields: HeaderField[];
}

const latin1 = new TextDecoder("latin1");
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/**
 * Decodes a head once its blank line has arrived; null until then.
 *
 * @example
 * ```ts
 * import { decodeHead } from "./http_head.ts";
 * const bytes = new TextEncoder().encode("GET http://a/ HTTP/1.1\r\nHost: a\r\n\r\n");
 * decodeHead(bytes)?.value.start; // ["GET", "http://a/", "HTTP/1.1"]
 * ```
 * @throws {SyntaxError} if the start line or a field is malformed
 */
export function decodeHead(buf: Uint8Array): { value: HttpHead; length: number } | null {
  let end = -1;
  for (let i = 0; i + 3 < buf.length; i++) {
    if (buf[i] === 13 && buf[i + 1] === 10 && buf[i + 2] === 13 && buf[i + 3] === 10) {
      end = i;
      break;
    }
  }
  if (end < 0) return null;
  const lines = latin1.decode(buf.subarray(0, end)).split("\r\n");
  const start = parseStartLine(lines[0]);
  const fields: HeaderField[] = [];
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    const name = colon < 0 ? "" : line.slice(0, colon);
    // Obsolete line folding and spaces before the colon are request-smuggling vectors: refuse them.
    if (!TOKEN.test(name)) {
      throw new SyntaxError(`Malformed HTTP header line ${JSON.stringify(line)}`);
    }
    fields.push([name, line.slice(colon + 1).trim()]);
  }
  return { value: { start, fields }, length: end + 4 };
}

/** Request: METHOD SP target SP version. Response: version SP status [SP reason]. */
function parseStartLine(line: string): [string, string, string] {
  const bad = () => new SyntaxError(`Malformed HTTP start line ${JSON.stringify(line)}`);
  if (line.startsWith("HTTP/")) {
    const m = /^(HTTP\/\d\.\d) (\d{3})(?: (.*))?$/.exec(line);
    if (m === null) throw bad();
    return [m[1], m[2], m[3] ?? ""];
  }
  const parts = line.split(" ");
  if (parts.length !== 3 || !TOKEN.test(parts[0]) || parts[1] === "") throw bad();
  if (!/^HTTP\/\d\.\d$/.test(parts[2])) throw bad();
  return [parts[0], parts[1], parts[2]];
}

/**
 * Encodes a start line and fields as a head, blank line included.
 *
 * @example
 * ```ts
 * import { encodeHead } from "./http_head.ts";
 * new TextDecoder().decode(encodeHead("GET / HTTP/1.1", [["Host", "a"]])); // "GET / HTTP/1.1\r\nHost: a\r\n\r\n"
 * ```
 */
export function encodeHead(startLine: string, fields: HeaderField[]): Uint8Array {
  let s = startLine + "\r\n";
  for (const [n, v] of fields) s += `${n}: ${v}\r\n`;
  s += "\r\n";
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i) & 0xff;
  return out;
}

/**
 * The value of the first field called `name` (any case), or null.
 *
 * @example
 * ```ts
 * import { fieldValue } from "./http_head.ts";
 * fieldValue([["host", "a"]], "Host"); // "a"
 * ```
 */
export function fieldValue(fields: HeaderField[], name: string): string | null {
  const lower = name.toLowerCase();
  return fields.find(([n]) => n.toLowerCase() === lower)?.[1] ?? null;
}

const HOP_BY_HOP = new Set([
  "connection",
  "keep-alive",
  "proxy-connection",
  "proxy-authorization",
  "proxy-authenticate",
  "te",
  "trailer",
  "upgrade",
]);

/**
 * Drops hop-by-hop fields: the fixed set (Connection, Keep-Alive,
 * Proxy-Connection, Proxy-Authorization, Proxy-Authenticate, TE, Trailer,
 * Upgrade) and any named in Connection. Transfer-Encoding is kept: the proxy
 * forwards bodies byte for byte, so their framing must travel with them.
 *
 * @example
 * ```ts
 * import { stripHopByHop } from "./http_head.ts";
 * stripHopByHop([["Connection", "x-a"], ["X-A", "1"], ["Accept", "*"]]); // [["Accept", "*"]]
 * ```
 */
export function stripHopByHop(fields: HeaderField[]): HeaderField[] {
  const drop = new Set(HOP_BY_HOP);
  for (const [n, v] of fields) {
    if (n.toLowerCase() !== "connection" && n.toLowerCase() !== "proxy-connection") continue;
    for (const t of v.split(",")) if (t.trim() !== "") drop.add(t.trim().toLowerCase());
  }
  drop.delete("transfer-encoding");
  return fields.filter(([n]) => !drop.has(n.toLowerCase()));
}
