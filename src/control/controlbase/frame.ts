/**
 * controlbase frame codec (protocol doc §2.3): building frames and an
 * incremental decoder that cuts a byte stream into frames.
 *
 * @module
 */
import {
  HEADER_LEN,
  MAX_FRAME_SIZE,
  MSG_TYPE_ERROR,
  MSG_TYPE_INITIATION,
  MSG_TYPE_RECORD,
  MSG_TYPE_RESPONSE,
} from "./constants.ts";

/** One decoded frame (not the initiation, which has its own 5-byte header). */
export interface Frame {
  /** Message type (1–4). */
  type: number;
  /** Payload bytes (a copy, safe to keep). */
  payload: Uint8Array;
}

/**
 * Builds a 3-byte-header frame.
 *
 * @example
 * ```ts
 * encodeFrame(4, new Uint8Array(16)).length; // 19
 * ```
 * @throws {RangeError} if the frame would exceed 4096 bytes
 */
export function encodeFrame(type: number, payload: Uint8Array): Uint8Array {
  if (HEADER_LEN + payload.length > MAX_FRAME_SIZE) {
    throw new RangeError(
      `Cannot encode controlbase frame: ${payload.length}-byte payload exceeds ${
        MAX_FRAME_SIZE - HEADER_LEN
      }`,
    );
  }
  const out = new Uint8Array(HEADER_LEN + payload.length);
  out[0] = type;
  out[1] = payload.length >>> 8;
  out[2] = payload.length & 0xff;
  out.set(payload, HEADER_LEN);
  return out;
}

/**
 * Builds an error frame carrying `message` (truncated to fit the u16 length
 * and the frame limit). The text is unauthenticated: callers must not echo
 * attacker input into it.
 */
export function encodeErrorFrame(message: string): Uint8Array {
  let text = new TextEncoder().encode(message);
  if (text.length > MAX_FRAME_SIZE - HEADER_LEN) {
    text = text.subarray(0, MAX_FRAME_SIZE - HEADER_LEN);
  }
  return encodeFrame(MSG_TYPE_ERROR, text);
}

/** Names a frame type for error messages. */
export function frameTypeName(type: number): string {
  switch (type) {
    case MSG_TYPE_INITIATION:
      return "initiation";
    case MSG_TYPE_RESPONSE:
      return "response";
    case MSG_TYPE_ERROR:
      return "error";
    case MSG_TYPE_RECORD:
      return "record";
    default:
      return `unknown type ${type}`;
  }
}

/**
 * Cuts a byte stream into frames. Feed chunks as they arrive with `push`,
 * then take complete frames with `next` until it returns null.
 *
 * @example
 * ```ts
 * const d = new FrameDecoder();
 * d.push(encodeFrame(4, new Uint8Array(20)));
 * d.next()?.payload.length; // 20
 * ```
 */
export class FrameDecoder {
  #buf = new Uint8Array(2 * MAX_FRAME_SIZE);
  #start = 0;
  #end = 0;

  /** Bytes buffered but not yet returned as frames. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Appends received bytes. */
  push(chunk: Uint8Array): void {
    if (this.#end + chunk.length > this.#buf.length) {
      const have = this.#end - this.#start;
      const size = Math.max(this.#buf.length, have + chunk.length);
      const next = size > this.#buf.length ? new Uint8Array(size) : this.#buf;
      next.set(this.#buf.subarray(this.#start, this.#end), 0);
      this.#buf = next;
      this.#start = 0;
      this.#end = have;
    }
    this.#buf.set(chunk, this.#end);
    this.#end += chunk.length;
  }

  /**
   * Returns the next complete frame, or null when more bytes are needed.
   *
   * @throws {RangeError} if the buffered header announces a frame over 4096 bytes
   */
  next(): Frame | null {
    const have = this.#end - this.#start;
    if (have < HEADER_LEN) return null;
    const b = this.#buf, s = this.#start;
    const len = (b[s + 1] << 8) | b[s + 2];
    if (HEADER_LEN + len > MAX_FRAME_SIZE) {
      throw new RangeError(
        `controlbase: received ${frameTypeName(b[s])} frame of ${
          HEADER_LEN + len
        } bytes, over the ${MAX_FRAME_SIZE}-byte limit`,
      );
    }
    if (have < HEADER_LEN + len) return null;
    const frame = { type: b[s], payload: b.slice(s + HEADER_LEN, s + HEADER_LEN + len) };
    this.#start += HEADER_LEN + len;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return frame;
  }

  /** Removes and returns every buffered byte not yet consumed as a frame. */
  drain(): Uint8Array {
    const out = this.#buf.slice(this.#start, this.#end);
    this.#start = this.#end = 0;
    return out;
  }
}
