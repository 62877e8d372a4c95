/**
 * The shapes an HTTP/2 connection is built and used with (its transport,
 * options and a request), and the header list a request is sent as.
 *
 * @module
 */
import type { HeaderField } from "./hpack.ts";

/** The byte stream HTTP/2 runs over (a `NoiseConn` satisfies it). */
export interface H2Transport {
  /** The next chunk, or null at EOF. */
  read(): Promise<Uint8Array | null>;
  /** Writes all of `p`; calls may overlap and must stay in order. */
  write(p: Uint8Array): Promise<void>;
  /** Closes the transport. */
  close(): void;
}

/** Options for {@link H2Connection}. */
export interface H2ConnectionOptions {
  /** `:authority` of every request. */
  authority: string;
  /** `:scheme` of every request (default `https`, as tailscaled sends over Noise). */
  scheme?: string;
  /** Receive window of each stream (default 1 MiB). */
  streamWindow?: number;
  /** Receive window of the connection (default 2 MiB). */
  connectionWindow?: number;
}

/** One request. */
export interface H2RequestInit {
  /** Method, e.g. `POST`. */
  method: string;
  /** Path and query. */
  path: string;
  /** Regular header fields; names are lower-cased, an array value sends the field once per item. */
  headers?: Record<string, string | string[]>;
  /** The body, or null for none. */
  body?: Uint8Array | null;
  /** Aborts the request (before its response: it rejects; after: the body read fails). */
  signal?: AbortSignal;
}

/** The header fields of a request: pseudo-headers first, then `init.headers` lower-cased. */
export function requestFields(
  init: H2RequestInit,
  scheme: string,
  authority: string,
  body: Uint8Array | null,
): HeaderField[] {
  const fields: HeaderField[] = [
    [":method", init.method],
    [":scheme", scheme],
    [":authority", authority],
    [":path", init.path],
  ];
  for (const [k, v] of Object.entries(init.headers ?? {})) {
    for (const one of Array.isArray(v) ? v : [v]) fields.push([k.toLowerCase(), one]);
  }
  if (body !== null) fields.push(["content-length", String(body.length)]);
  return fields;
}
