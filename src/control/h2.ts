/**
 * Small helpers for HTTP/2 requests over the Noise channel: JSON POSTs with
 * status and body handling, and mapping of failures to one-line errors.
 *
 * @module
 */
import type http2 from "node:http2";
import { ControlError, type ControlErrorKind, oneLine } from "./errors.ts";

/** An HTTP/2 response whose body is still to be read. */
export interface H2Response {
  /** HTTP status. */
  status: number;
  /** The response stream (body). */
  stream: http2.ClientHttp2Stream;
}

/**
 * Sends a JSON POST and resolves once response headers arrive.
 *
 * @throws {ControlError} "stream" if the stream fails before a response, "aborted" on abort
 */
export function postJson(
  session: http2.ClientHttp2Session,
  path: string,
  body: unknown,
  headers: Record<string, string | string[]> = {},
  signal?: AbortSignal,
): Promise<H2Response> {
  return h2Request(session, "POST", path, new TextEncoder().encode(JSON.stringify(body)), {
    "content-type": "application/json",
    ...headers,
  }, signal);
}

/**
 * Sends one request (`body` null for none) and resolves once response headers arrive.
 *
 * @throws {ControlError} "stream" if the stream fails before a response, "aborted" on abort
 */
export function h2Request(
  session: http2.ClientHttp2Session,
  method: string,
  path: string,
  body: Uint8Array | null,
  headers: Record<string, string | string[]> = {},
  signal?: AbortSignal,
): Promise<H2Response> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(new ControlError("aborted", "control: aborted"));
      return;
    }
    let stream: http2.ClientHttp2Stream;
    try {
      stream = session.request({ ":method": method, ":path": path, ...headers }, {
        endStream: body === null,
      });
    } catch (err) {
      reject(
        new ControlError("stream", `control: ${method} ${path} failed: connection is down`, {
          cause: err,
        }),
      );
      return;
    }
    const onAbort = () => {
      stream.close();
      reject(new ControlError("aborted", "control: aborted"));
    };
    signal?.addEventListener("abort", onAbort, { once: true });
    stream.once("response", (h) => {
      signal?.removeEventListener("abort", onAbort);
      resolve({ status: Number(h[":status"]), stream });
    });
    stream.once("error", (err) => {
      signal?.removeEventListener("abort", onAbort);
      reject(
        new ControlError("stream", `control: ${method} ${path} failed: ${oneLine(err.message)}`, {
          cause: err,
        }),
      );
    });
    stream.once("close", () => {
      reject(new ControlError("stream", `control: ${method} ${path} closed before a response`));
    });
    if (body !== null) stream.end(body);
  });
}

/** Reads a response body up to `limit` bytes (the rest is discarded). */
export async function readBody(
  stream: http2.ClientHttp2Stream,
  limit: number,
): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let n = 0;
  for await (const chunk of stream) {
    const c = chunk as Uint8Array;
    if (n < limit) {
      parts.push(c.subarray(0, limit - n));
      n += Math.min(c.length, limit - n);
    }
  }
  const out = new Uint8Array(n);
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/** Builds the one-line error for a non-200 reply to `path`. */
export function httpError(path: string, status: number, body: Uint8Array): ControlError {
  const text = oneLine(new TextDecoder().decode(body));
  let kind: ControlErrorKind = "http";
  if (/version/i.test(text) && status === 400) kind = "version";
  else if (status === 401 || status === 403) kind = "auth";
  else if (status === 404 && /node/i.test(text)) kind = "node-key";
  return new ControlError(
    kind,
    `control: POST ${path} returned HTTP ${status}${text ? `: ${text}` : ""}`,
    { status },
  );
}
