/**
 * Map-stream message framing (protocol doc §4.2): `len:u32 LE ‖ payload`,
 * where the payload is a zstd frame of the JSON MapResponse when the request
 * asked for `Compress: "zstd"`, raw JSON otherwise. Pure.
 *
 * @module
 */
import { zstdDecompress } from "../compress/zstd/mod.ts";
import type { MapResponse } from "../netmap/tailcfg.ts";
import { MAX_MAP_JSON, MAX_MAP_MESSAGE } from "./constants.ts";

/**
 * Cuts the map response body into messages.
 *
 * @example
 * ```ts
 * const d = new MapMessageDecoder();
 * d.push(Uint8Array.of(2, 0, 0, 0, 0x7b, 0x7d));
 * d.next(); // Uint8Array [0x7b, 0x7d] ("{}")
 * ```
 */
export class MapMessageDecoder {
  #chunks: Uint8Array[] = [];
  #have = 0;
  readonly #max: number;

  /** `maxMessage` bounds a single message's length. */
  constructor(maxMessage = MAX_MAP_MESSAGE) {
    this.#max = maxMessage;
  }

  /** Bytes buffered but not yet returned. */
  get buffered(): number {
    return this.#have;
  }

  /** Appends body bytes. */
  push(chunk: Uint8Array): void {
    if (chunk.length === 0) return;
    this.#chunks.push(chunk);
    this.#have += chunk.length;
  }

  /**
   * Returns the next complete message payload, or null if more bytes are needed.
   *
   * @throws {RangeError} if a length prefix exceeds the limit
   */
  next(): Uint8Array | null {
    if (this.#have < 4) return null;
    const head = this.#peek(4);
    const len = (head[0] | (head[1] << 8) | (head[2] << 16) | (head[3] << 24)) >>> 0;
    if (len > this.#max) {
      throw new RangeError(`control: map message of ${len} bytes exceeds the ${this.#max} limit`);
    }
    if (this.#have < 4 + len) return null;
    this.#take(4);
    return this.#take(len);
  }

  #peek(n: number): Uint8Array {
    const first = this.#chunks[0];
    if (first.length >= n) return first.subarray(0, n);
    const all = new Uint8Array(n);
    let off = 0;
    for (const c of this.#chunks) {
      const t = Math.min(c.length, n - off);
      all.set(c.subarray(0, t), off);
      off += t;
      if (off === n) break;
    }
    return all;
  }

  #take(n: number): Uint8Array {
    const out = new Uint8Array(n);
    let off = 0;
    while (off < n) {
      const c = this.#chunks[0];
      const t = Math.min(c.length, n - off);
      out.set(c.subarray(0, t), off);
      off += t;
      if (t === c.length) this.#chunks.shift();
      else this.#chunks[0] = c.subarray(t);
    }
    this.#have -= n;
    return out;
  }
}

/**
 * Decodes one map message payload into a MapResponse.
 *
 * @param maxJson the most a zstd payload may decompress to (default {@link MAX_MAP_JSON})
 * @throws {SyntaxError} if it is not (zstd-compressed) JSON
 * @throws {RangeError} if it decompresses to more than maxJson bytes
 */
export function decodeMapMessage(
  payload: Uint8Array,
  zstd: boolean,
  maxJson = MAX_MAP_JSON,
): MapResponse {
  let json: Uint8Array = payload;
  if (zstd) {
    try {
      json = zstdDecompress(payload, maxJson);
    } catch (err) {
      if (err instanceof RangeError) {
        throw new RangeError(
          `control: map message of ${payload.length} bytes decompresses to more than ${maxJson}`,
          { cause: err },
        );
      }
      throw new SyntaxError(`control: map message of ${payload.length} bytes is not zstd`, {
        cause: err,
      });
    }
  }
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(json));
  } catch (err) {
    throw new SyntaxError(`control: map message is not JSON`, { cause: err });
  }
  if (value === null || typeof value !== "object" || Array.isArray(value)) {
    throw new SyntaxError(`control: map message is not a JSON object`);
  }
  return value as MapResponse;
}

/**
 * Frames one map message payload (for test servers): u32 LE length, then the payload. The
 * zstd compression a server adds lives with the test servers (tests/control/map_message.ts), so
 * that nothing here loads node:zlib.
 */
export function frameMapMessage(payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(4 + payload.length);
  new DataView(out.buffer).setUint32(0, payload.length, true);
  out.set(payload, 4);
  return out;
}
