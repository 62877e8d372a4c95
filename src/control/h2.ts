/**
 * Small helpers for HTTP/2 requests over the Noise channel: JSON POSTs with
 * status and body handling, and mapping of failures to one-line errors.
 *
 * @module
 */
import { ControlError, type ControlErrorKind, oneLine } from "./errors.ts";
import type { H2Connection, H2Stream } from "./h2/connection.ts";

/** An HTTP/2 response whose body is still to be read. */
export interface H2Response {
  /** HTTP status. */
  status: number;
  /** The response stream (body). */
  stream: H2Stream;
}

/**
 * Sends a JSON POST and resolves once response headers arrive.
 *
 * @throws {ControlError} "stream" if the stream fails before a response, "aborted" on abort
 */
export function postJson(
  session: H2Connection,
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
export async function h2Request(
  session: H2Connection,
  method: string,
  path: string,
  body: Uint8Array | null,
  headers: Record<string, string | string[]> = {},
  signal?: AbortSignal,
): Promise<H2Response> {
  if (signal?.aborted) throw new ControlError("aborted", "control: aborted");
  if (!session.alive) {
    throw new ControlError("stream", `control: ${method} ${path} failed: connection is down`);
  }
  try {
    const stream = await session.request({ method, path, headers, body, signal });
    return { status: stream.status, stream };
  } catch (err) {
    if (signal?.aborted) throw new ControlError("aborted", "control: aborted", { cause: err });
    throw new ControlError(
      "stream",
      `control: ${method} ${path} failed: ${oneLine((err as Error).message)}`,
      { cause: err },
    );
  }
}

/**
 * Reads a response body up to `limit` bytes (the rest is discarded).
 *
 * @throws {ControlError} "stream" when the stream is reset or the connection drops
 */
export async function readBody(stream: H2Stream, limit: number): Promise<Uint8Array> {
  try {
    return await stream.readAll(limit);
  } catch (err) {
    throw new ControlError(
      "stream",
      `control: response body lost: ${oneLine((err as Error).message)}`,
      {
        cause: err,
      },
    );
  }
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
