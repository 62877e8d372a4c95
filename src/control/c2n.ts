/**
 * Control-to-node (c2n) requests: a PingRequest of type "c2n" carries an
 * HTTP/1.x request in its payload; the node runs it through its c2n handler
 * and POSTs the HTTP/1.1 response, bytes and all, back over Noise.
 *
 * warren answers `/echo` (the body back: what control uses to probe that a node
 * is alive, e.g. to pick among high-availability subnet routers) and, as
 * tailscaled, 400 "unknown c2n path" for the rest.
 *
 * @module
 */

/** A parsed c2n request. */
export interface C2nRequest {
  /** Method, e.g. "GET". */
  method: string;
  /** Path without the query. */
  path: string;
  /** Header names lower-cased. */
  headers: Map<string, string>;
  /** The body (by Content-Length, else the rest). */
  body: Uint8Array;
}

/** A c2n response before serialisation. */
export interface C2nResponse {
  /** Status code. */
  status: number;
  /** Headers to send (Content-Length is added). */
  headers: Record<string, string>;
  /** The body. */
  body: Uint8Array;
}

/** The largest c2n request accepted (tailscaled's PingRequest payloads are small). */
const MAX_REQUEST = 1 << 20;

const REASONS: Record<number, string> = {
  200: "OK",
  400: "Bad Request",
  405: "Method Not Allowed",
};

/**
 * Parses an HTTP/1.0 or 1.1 request (Go `http.ReadRequest`'s input).
 *
 * @throws {SyntaxError} when the request line, its target URL or a header is malformed
 */
export function parseC2nRequest(raw: Uint8Array): C2nRequest {
  if (raw.length > MAX_REQUEST) throw new SyntaxError("c2n request is too large");
  const text = new TextDecoder("latin1").decode(raw);
  const end = text.indexOf("\r\n\r\n");
  if (end < 0) throw new SyntaxError("c2n request has no end of headers");
  const [line, ...fields] = text.slice(0, end).split("\r\n");
  const m = line.match(/^([A-Z]+) (\S+) HTTP\/1\.[01]$/);
  if (!m) throw new SyntaxError(`c2n request line "${line.slice(0, 80)}" is not HTTP/1.x`);
  const headers = new Map<string, string>();
  for (const f of fields) {
    const colon = f.indexOf(":");
    if (colon <= 0) throw new SyntaxError(`c2n header "${f.slice(0, 80)}" has no name`);
    headers.set(f.slice(0, colon).trim().toLowerCase(), f.slice(colon + 1).trim());
  }
  let body = raw.subarray(end + 4);
  const cl = headers.get("content-length");
  if (cl !== undefined) {
    if (!/^\d+$/.test(cl) || Number(cl) > body.length) {
      throw new SyntaxError(`c2n Content-Length "${cl}" does not match the body`);
    }
    body = body.subarray(0, Number(cl));
  }
  let target: URL;
  try {
    target = new URL(m[2], "http://c2n");
  } catch {
    // The URL parser throws TypeError; a bad target is bad input like any other.
    throw new SyntaxError(`c2n request target "${m[2].slice(0, 80)}" is not a URL`);
  }
  return { method: m[1], path: target.pathname, headers, body: body.slice() };
}

/** Runs a request through warren's c2n handlers (tailscaled's matching rules). */
export function handleC2n(req: C2nRequest): C2nResponse {
  if (req.path === "/echo") return { status: 200, headers: {}, body: req.body };
  return textError(400, "unknown c2n path");
}

/** Serialises a response as Go's `http.Response.Write` would (HTTP/1.1, Content-Length). */
export function encodeC2nResponse(res: C2nResponse): Uint8Array {
  let head = `HTTP/1.1 ${res.status} ${REASONS[res.status] ?? "Status"}\r\n`;
  for (const [k, v] of Object.entries(res.headers)) head += `${k}: ${v}\r\n`;
  head += `Content-Length: ${res.body.length}\r\n\r\n`;
  const h = new TextEncoder().encode(head);
  const out = new Uint8Array(h.length + res.body.length);
  out.set(h);
  out.set(res.body, h.length);
  return out;
}

/** As Go's `http.Error`: text/plain, nosniff, the message plus a newline. */
function textError(status: number, message: string): C2nResponse {
  return {
    status,
    headers: {
      "Content-Type": "text/plain; charset=utf-8",
      "X-Content-Type-Options": "nosniff",
    },
    body: new TextEncoder().encode(`${message}\n`),
  };
}
