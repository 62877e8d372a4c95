/**
 * A small HTTP/1.1 client over any byte stream: what `Tailnet.fetch` sends
 * through a tailnet connection. One request per connection (`Connection:
 * close`), so there is no pool to manage; the response body streams, and
 * the connection closes when it ends or is cancelled. Plain `http:` only —
 * WireGuard already encrypts and authenticates every byte on the tailnet.
 *
 * @module
 */

import { ByteReader } from "../proxy/byte_reader.ts";
import { decodeHead, encodeHead, fieldValue, type HeaderField } from "../proxy/http_head.ts";
import { bodyFor, framing, writeChunked } from "./http_body.ts";

/** A connection as the client needs it (a `TailnetConn` fits). */
export interface HttpClientConn {
  /** Bytes from the server. */
  readonly readable: ReadableStream<Uint8Array>;
  /** Bytes to the server. */
  readonly writable: WritableStream<Uint8Array>;
  /** Tears the connection down. */
  close(): void;
}

/** Opens a connection to `hostname:port` (a name or an IP literal without brackets). */
export type HttpDial = (
  hostname: string,
  port: number,
  signal?: AbortSignal,
) => Promise<HttpClientConn>;

const NULL_BODY = new Set([101, 103, 204, 205, 304]);

/**
 * `fetch` over `dial`: sends the request, resolves with the response once
 * its head arrived. A body given as a stream goes out chunked; any other
 * body is sent with its length.
 *
 * @example
 * ```ts ignore
 * const res = await httpFetch(dial, "http://peer:8080/");
 * console.log(await res.text());
 * ```
 * @throws {TypeError} for a URL that is not `http:`, or a response that is not HTTP/1.x
 */
export async function httpFetch(
  dial: HttpDial,
  input: string | URL | Request,
  init?: RequestInit,
): Promise<Response> {
  const req = new Request(input, init);
  const url = new URL(req.url);
  if (url.protocol !== "http:") {
    throw new TypeError(`Tailnet fetch speaks plain http: only, not ${url.protocol} (${url})`);
  }
  const signal = req.signal;
  signal.throwIfAborted();
  // A body we can measure goes with Content-Length: not every server reads chunked requests.
  const streamed = init?.body instanceof ReadableStream ||
    (input instanceof Request && init?.body === undefined);
  const bytes = req.body !== null && !streamed ? new Uint8Array(await req.arrayBuffer()) : null;
  const host = url.hostname.replace(/^\[(.*)\]$/, "$1");
  const conn = await dial(host, url.port === "" ? 80 : Number(url.port), signal);
  const onAbort = () => conn.close();
  signal.addEventListener("abort", onAbort, { once: true });
  try {
    const w = conn.writable.getWriter();
    const fields: HeaderField[] = [["host", url.host]];
    for (const [n, v] of req.headers) {
      if (
        !["host", "connection", "content-length", "transfer-encoding", "keep-alive"].includes(n)
      ) {
        fields.push([n, v]);
      }
    }
    if (bytes !== null) fields.push(["content-length", String(bytes.length)]);
    else if (req.body !== null) fields.push(["transfer-encoding", "chunked"]);
    else if (!["GET", "HEAD"].includes(req.method)) fields.push(["content-length", "0"]);
    fields.push(["connection", "close"]);
    await w.write(encodeHead(`${req.method} ${url.pathname}${url.search} HTTP/1.1`, fields));
    // The request body goes out while the response is read: a server may answer early.
    const sent = (async () => {
      if (bytes !== null && bytes.length > 0) await w.write(bytes);
      else if (bytes === null && req.body !== null) await writeChunked(req.body, w);
      w.releaseLock();
    })();
    sent.catch(() => {}); // a server that answers without reading everything is not an error
    const reader = new ByteReader(conn.readable);
    let head;
    do head = await reader.read("response head", decodeHead); while (
      /^1\d\d$/.test(head.start[1]) && head.start[1] !== "101"
    );
    const [version, statusText, reason] = head.start;
    if (!version.startsWith("HTTP/1.")) throw new TypeError(`Not an HTTP/1 response: ${version}`);
    const status = Number(statusText);
    const frame = req.method === "HEAD" || NULL_BODY.has(status) ? 0 : framing(
      fieldValue(head.fields, "transfer-encoding"),
      fieldValue(head.fields, "content-length"),
    );
    const body = bodyFor(reader, frame, true);
    const done = () => {
      signal.removeEventListener("abort", onAbort);
      conn.close();
    };
    if (body === null) done();
    else body.done.then(done);
    return new Response(body?.stream ?? null, {
      status,
      statusText: reason,
      headers: head.fields,
    });
  } catch (e) {
    signal.removeEventListener("abort", onAbort);
    conn.close();
    throw signal.aborted ? signal.reason : e;
  }
}
