/**
 * A small HTTP/1.1 server over any stream listener — the tailnet's, or a
 * `Deno.Listener` through `fromDenoConn` in tests — with `Deno.serve`'s
 * handler shape: a `Request` in, a `Response` out. Connections are kept
 * alive for sequential requests (HTTP/1.1's default; `Connection: close`
 * and HTTP/1.0 close after one); bodies of unknown length go out chunked.
 * Heads are parsed by the proxy's {@linkcode decodeHead}, so both speak
 * the same strict HTTP.
 *
 * @module
 */

import { ByteReader, UnexpectedEofError } from "../proxy/byte_reader.ts";
import { decodeHead, encodeHead, fieldValue, type HeaderField } from "../proxy/http_head.ts";
import { bodyFor, framing, writeChunked, writeRaw } from "./http_body.ts";
import type { TailnetStream } from "./conn.ts";

/** The connection as the server needs it (a `TailnetConn`, or a `Deno.Conn` through `fromDenoConn`). */
export type HttpServerConn = TailnetStream;

/** What the handler learns besides the request, as `Deno.ServeHandlerInfo`. */
export interface HttpServeInfo {
  /** The client's address. */
  remoteAddr: Deno.NetAddr;
}

/** A request handler, as `Deno.serve` takes. */
export type HttpHandler = (req: Request, info: HttpServeInfo) => Response | Promise<Response>;

/** Options of {@linkcode serveConn}. */
export interface ServeConnOptions {
  /** Answers a handler that threw (default: a plain 500, and the error logged to the console). */
  onError?: (error: unknown) => Response | Promise<Response>;
  /** Largest request head accepted; default 64 KiB (bigger draws 431). */
  maxHeadBytes?: number;
}

const NO_BODY_STATUS = new Set([101, 204, 205, 304]);
const REASONS: Record<number, string> = {
  200: "OK",
  201: "Created",
  204: "No Content",
  301: "Moved Permanently",
  302: "Found",
  304: "Not Modified",
  400: "Bad Request",
  404: "Not Found",
  405: "Method Not Allowed",
  413: "Content Too Large",
  431: "Request Header Fields Too Large",
  500: "Internal Server Error",
  501: "Not Implemented",
};

function defaultOnError(e: unknown): Response {
  console.error("tailnet serve: the handler failed:", e);
  return new Response("Internal Server Error", { status: 500 });
}

/**
 * Serves requests on one connection until the client closes it, asks to,
 * or sends something malformed (answered 400 and closed). Never rejects.
 */
export async function serveConn(
  conn: HttpServerConn,
  handler: HttpHandler,
  opts: ServeConnOptions = {},
): Promise<void> {
  const reader = new ByteReader(conn.readable, opts.maxHeadBytes ?? 64 * 1024);
  const w = conn.writable.getWriter();
  const remoteAddr: Deno.NetAddr = { transport: "tcp", ...conn.remoteAddr };
  try {
    while (true) {
      let head;
      try {
        head = await reader.read("request head", decodeHead);
      } catch (e) {
        // A client that goes away between requests is the normal end of a connection.
        if (!(e instanceof UnexpectedEofError)) {
          await writeStatus(w, e instanceof RangeError ? 431 : 400);
        }
        return;
      }
      const [method, target, version] = head.start;
      // A response's start line where a request belongs.
      if (method.startsWith("HTTP/")) return void await writeStatus(w, 400);
      let req: Request, body;
      try {
        const frame = framing(
          fieldValue(head.fields, "transfer-encoding"),
          fieldValue(head.fields, "content-length"),
        );
        body = bodyFor(reader, frame, false);
        req = new Request(requestUrl(target, head.fields, conn.localAddr), {
          method,
          headers: head.fields,
          body: body?.stream ?? null,
        });
      } catch {
        return void await writeStatus(w, 400);
      }
      const keepAlive = version === "HTTP/1.1" &&
        !/(^|,)\s*close\s*(,|$)/i.test(fieldValue(head.fields, "connection") ?? "");
      let res: Response;
      try {
        res = await handler(req, { remoteAddr });
        if (!(res instanceof Response)) {
          throw new TypeError("The handler did not return a Response");
        }
      } catch (e) {
        res = await (opts.onError ?? defaultOnError)(e);
      }
      await writeResponse(w, res, method === "HEAD", keepAlive);
      // The next request starts after this one's body: read what the handler left, or stop.
      if (!keepAlive || (body && !(await drain(body.stream, body.done)))) return;
    }
  } catch {
    // The client reset or the body failed mid-stream: nothing more can be said on this connection.
  } finally {
    conn.close();
  }
}

/** Reads the rest of a request body the handler did not; false if that failed. */
async function drain(stream: ReadableStream<Uint8Array>, done: Promise<boolean>): Promise<boolean> {
  if (!stream.locked) {
    try {
      for await (const _ of stream) { /* discarded */ }
    } catch {
      return false;
    }
  }
  return await done;
}

/** The request's URL: absolute-form as given, origin-form against Host (or our address). */
function requestUrl(
  target: string,
  fields: HeaderField[],
  local: { hostname: string; port: number },
): string {
  if (/^https?:\/\//i.test(target)) return target;
  if (!target.startsWith("/")) throw new SyntaxError(`Unsupported request target ${target}`);
  const host = fieldValue(fields, "host") ??
    (local.hostname.includes(":")
      ? `[${local.hostname}]:${local.port}`
      : `${local.hostname}:${local.port}`);
  return `http://${host}${target}`;
}

async function writeStatus(
  w: WritableStreamDefaultWriter<Uint8Array>,
  status: number,
): Promise<void> {
  await writeResponse(w, new Response(REASONS[status] ?? "", { status }), false, false).catch(
    () => {},
  );
}

/** Writes a response: Content-Length when the handler gave one, else chunked. */
async function writeResponse(
  w: WritableStreamDefaultWriter<Uint8Array>,
  res: Response,
  head: boolean,
  keepAlive: boolean,
): Promise<void> {
  const fields: HeaderField[] = [];
  for (const [n, v] of res.headers) {
    // Framing and connection management are the server's, not the handler's.
    if (!["connection", "transfer-encoding", "keep-alive"].includes(n)) fields.push([n, v]);
  }
  const length = res.headers.get("content-length");
  const noBody = NO_BODY_STATUS.has(res.status) || (res.status >= 100 && res.status < 200);
  const chunked = !noBody && length === null && res.body !== null;
  if (!noBody && res.body === null && length === null) fields.push(["content-length", "0"]);
  if (chunked) fields.push(["transfer-encoding", "chunked"]);
  if (!keepAlive) fields.push(["connection", "close"]);
  const reason = res.statusText || REASONS[res.status] || "";
  await w.write(encodeHead(`HTTP/1.1 ${res.status} ${reason}`.trimEnd(), fields));
  if (head || noBody || res.body === null) {
    await res.body?.cancel();
    return;
  }
  if (chunked) await writeChunked(res.body, w);
  else await writeRaw(res.body, w);
}
