/**
 * HTTP/1.1 message bodies (RFC 9112 §6–7) over a {@linkcode ByteReader}:
 * a body of known length, a chunked one, or one that runs to end of stream,
 * each as a `ReadableStream` that reads no further than its body — so the
 * next message on a kept-alive connection stays in the reader — and the
 * chunked encoding for bodies of unknown length.
 *
 * @module
 */

import { ByteReader, UnexpectedEofError } from "../proxy/byte_reader.ts";

/** Longest chunk-size line or trailer line accepted (extensions included). */
const LINE_LIMIT = 4096;
const CRLF = Uint8Array.of(13, 10);
const ascii = new TextEncoder();
const latin1 = new TextDecoder("latin1");

/** A body being read: its stream and a promise that settles once it was read to its end. */
export interface BodyReader {
  /** The body's bytes. */
  readonly stream: ReadableStream<Uint8Array>;
  /** Resolves true once the body was read to its end, false if it was cancelled or failed. */
  readonly done: Promise<boolean>;
}

/** Up to `max` bytes of whatever the reader holds (waiting for some if it holds none). */
function upTo(r: ByteReader, max: number, what: string): Promise<Uint8Array> {
  return r.read(what, (b) => {
    if (b.length === 0) return null;
    const n = Math.min(max, b.length);
    return { value: b.slice(0, n), length: n };
  });
}

/** One line ending in CRLF, without it. */
function line(r: ByteReader, what: string): Promise<string> {
  return r.read(what, (b) => {
    for (let i = 0; i + 1 < b.length; i++) {
      if (b[i] === 13 && b[i + 1] === 10) {
        return { value: latin1.decode(b.subarray(0, i)), length: i + 2 };
      }
    }
    if (b.length > LINE_LIMIT) {
      throw new RangeError(`The ${what} is longer than ${LINE_LIMIT} bytes`);
    }
    return null;
  });
}

/** Makes a stream from a pull function that yields chunks until null. */
function bodyStream(next: () => Promise<Uint8Array | null>): BodyReader {
  let settle!: (ok: boolean) => void;
  const done = new Promise<boolean>((r) => settle = r);
  const stream = new ReadableStream<Uint8Array>({
    async pull(ctrl) {
      try {
        const chunk = await next();
        if (chunk === null) {
          ctrl.close();
          settle(true);
        } else ctrl.enqueue(chunk);
      } catch (e) {
        ctrl.error(e);
        settle(false);
      }
    },
    cancel() {
      settle(false);
    },
  }, { highWaterMark: 0 });
  return { stream, done };
}

/**
 * A body of exactly `length` bytes.
 *
 * @example
 * ```ts
 * import { ByteReader } from "../proxy/byte_reader.ts";
 * import { fixedBody } from "./http_body.ts";
 * const r = new ByteReader(ReadableStream.from([new TextEncoder().encode("hiGET")]));
 * await new Response(fixedBody(r, 2).stream).text(); // "hi"
 * ```
 */
export function fixedBody(r: ByteReader, length: number): BodyReader {
  let left = length;
  return bodyStream(async () => {
    if (left === 0) return null;
    const chunk = await upTo(r, Math.min(left, 64 * 1024), "body");
    left -= chunk.length;
    return chunk;
  });
}

/**
 * A chunked body (RFC 9112 §7.1): chunk extensions and trailer fields are
 * read and dropped.
 *
 * @example
 * ```ts
 * import { ByteReader } from "../proxy/byte_reader.ts";
 * import { chunkedBody } from "./http_body.ts";
 * const wire = new TextEncoder().encode("2\r\nhi\r\n0\r\n\r\n");
 * await new Response(chunkedBody(new ByteReader(ReadableStream.from([wire]))).stream).text(); // "hi"
 * ```
 * @throws {SyntaxError} (from the stream) if a chunk-size line is malformed
 */
export function chunkedBody(r: ByteReader): BodyReader {
  let left = 0;
  let finished = false;
  return bodyStream(async () => {
    if (finished) return null;
    if (left === 0) {
      const size = (await line(r, "chunk size")).split(";")[0].trim();
      if (!/^[0-9a-fA-F]{1,12}$/.test(size)) {
        throw new SyntaxError(`Malformed chunk size ${JSON.stringify(size)}`);
      }
      left = parseInt(size, 16);
      if (left === 0) {
        while ((await line(r, "trailer")) !== "") { /* trailers are dropped */ }
        finished = true;
        return null;
      }
    }
    const chunk = await upTo(r, Math.min(left, 64 * 1024), "chunk");
    left -= chunk.length;
    if (left === 0 && (await line(r, "chunk end")) !== "") {
      throw new SyntaxError("Chunk data longer than its size");
    }
    return chunk;
  });
}

/** A body that ends where the stream does (a response without Content-Length or chunking). */
export function untilEofBody(r: ByteReader): BodyReader {
  return bodyStream(() => r.next());
}

/**
 * The body framing a head's fields ask for: chunked, a length, or none
 * (null) — requests without either have no body (RFC 9112 §6.3).
 *
 * @throws {SyntaxError} for a Transfer-Encoding other than chunked or a bad Content-Length
 */
export function framing(
  transferEncoding: string | null,
  contentLength: string | null,
): "chunked" | number | null {
  if (transferEncoding !== null) {
    const codings = transferEncoding.toLowerCase().split(",").map((c) => c.trim());
    if (codings.at(-1) !== "chunked" || codings.length > 1) {
      throw new SyntaxError(`Unsupported Transfer-Encoding ${JSON.stringify(transferEncoding)}`);
    }
    return "chunked";
  }
  if (contentLength === null) return null;
  // A list of equal values is allowed (RFC 9110 §8.6); anything else is a smuggling vector.
  const values = new Set(contentLength.split(",").map((v) => v.trim()));
  const [v] = values;
  if (values.size !== 1 || !/^\d{1,15}$/.test(v)) {
    throw new SyntaxError(`Malformed Content-Length ${JSON.stringify(contentLength)}`);
  }
  return Number(v);
}

/** Reads the body `framing` describes; null framing reads to end of stream when `toEof`. */
export function bodyFor(
  r: ByteReader,
  frame: "chunked" | number | null,
  toEof: boolean,
): BodyReader | null {
  if (frame === "chunked") return chunkedBody(r);
  if (typeof frame === "number") return frame === 0 ? null : fixedBody(r, frame);
  return toEof ? untilEofBody(r) : null;
}

/**
 * Writes `body` to `w` in the chunked encoding, last chunk included.
 *
 * @example
 * ```ts ignore
 * await writeChunked(ReadableStream.from([new Uint8Array([104, 105])]), writer);
 * // 2\r\nhi\r\n0\r\n\r\n
 * ```
 */
export async function writeChunked(
  body: ReadableStream<Uint8Array>,
  w: WritableStreamDefaultWriter<Uint8Array>,
): Promise<void> {
  for await (const chunk of body) {
    if (chunk.length === 0) continue;
    // One write per chunk: size line, data and CRLF in one buffer.
    const head = ascii.encode(chunk.length.toString(16) + "\r\n");
    const out = new Uint8Array(head.length + chunk.length + 2);
    out.set(head);
    out.set(chunk, head.length);
    out.set(CRLF, head.length + chunk.length);
    await w.write(out);
  }
  await w.write(ascii.encode("0\r\n\r\n"));
}

/** Writes every chunk of `body` to `w` as it is. */
export async function writeRaw(
  body: ReadableStream<Uint8Array>,
  w: WritableStreamDefaultWriter<Uint8Array>,
): Promise<void> {
  for await (const chunk of body) if (chunk.length > 0) await w.write(chunk);
}

export { UnexpectedEofError };
