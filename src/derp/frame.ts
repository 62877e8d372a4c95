/**
 * DERP framing: `type u8 ‖ length u32 BE ‖ payload`, plus a buffered reader of
 * frames over any byte stream.
 *
 * @module
 */

import { FRAME_HEADER_LEN } from "./constants.ts";

/** One decoded frame. The payload is owned by the caller. */
export interface Frame {
  /** Frame type byte. */
  type: number;
  /** Frame payload. */
  payload: Uint8Array;
}

/** The read half of a byte stream (Deno.Conn fits). */
export interface ByteReader {
  /** Reads into p; resolves to the count read, or null at end of stream. */
  read(p: Uint8Array): Promise<number | null>;
}

/**
 * Encodes one frame.
 *
 * @example
 * ```ts
 * encodeFrame(0x06, new Uint8Array()); // KeepAlive: 06 00 00 00 00
 * ```
 */
export function encodeFrame(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(FRAME_HEADER_LEN + payload.length);
  writeFrameHeader(out, 0, type, payload.length);
  out.set(payload, FRAME_HEADER_LEN);
  return out;
}

/** Writes a frame header into buf at off. */
function writeFrameHeader(buf: Uint8Array, off: number, type: number, len: number): void {
  if (type < 0 || type > 255) throw new RangeError(`Frame type ${type} does not fit in a byte`);
  if (len < 0 || len > 0xffffffff) throw new RangeError(`Frame length ${len} does not fit in u32`);
  buf[off] = type;
  buf[off + 1] = len >>> 24;
  buf[off + 2] = (len >>> 16) & 255;
  buf[off + 3] = (len >>> 8) & 255;
  buf[off + 4] = len & 255;
}

/**
 * Decodes all complete frames in bytes (a test and fixture helper).
 *
 * @throws {SyntaxError} if bytes end inside a frame
 */
export function decodeFrames(bytes: Uint8Array): Frame[] {
  const frames: Frame[] = [];
  let off = 0;
  while (off < bytes.length) {
    if (bytes.length - off < FRAME_HEADER_LEN) {
      throw new SyntaxError(`Truncated DERP frame header at offset ${off}`);
    }
    const type = bytes[off];
    const len = readU32(bytes, off + 1);
    if (bytes.length - off - FRAME_HEADER_LEN < len) {
      throw new SyntaxError(`Truncated DERP frame of type 0x${type.toString(16)} at offset ${off}`);
    }
    frames.push({ type, payload: bytes.slice(off + 5, off + 5 + len) });
    off += FRAME_HEADER_LEN + len;
  }
  return frames;
}

function readU32(b: Uint8Array, off: number): number {
  return ((b[off] << 24) >>> 0) + (b[off + 1] << 16) + (b[off + 2] << 8) + b[off + 3];
}

/** Error raised when a frame header announces more bytes than the reader allows. */
export class FrameTooLargeError extends RangeError {
  /** Creates the error for a frame of the given type and length. */
  constructor(readonly frameType: number, readonly frameLen: number, readonly limit: number) {
    super(
      `DERP frame of type 0x${
        frameType.toString(16)
      } is ${frameLen} bytes, over the limit of ${limit}`,
    );
    this.name = "FrameTooLargeError";
  }
}

/** Largest buffer the reader grows to for ordinary traffic. */
const MAX_READ_BUFFER = 128 * 1024;

/**
 * Reads frames from a byte stream with one growable buffer.
 *
 * The buffer starts small so idle connections stay cheap, grows when reads keep
 * filling it (bulk traffic) or when one frame needs more room.
 */
export class FrameReader {
  #src: ByteReader;
  #buf: Uint8Array;
  #start = 0;
  #end = 0;
  #initialSize: number;
  #lastRead = 0;

  /** Wraps src; initial holds bytes already read past an HTTP head, if any. */
  constructor(src: ByteReader, initial?: Uint8Array, initialSize = 512) {
    this.#src = src;
    this.#initialSize = initialSize;
    const size = Math.max(initialSize, initial?.length ?? 0);
    this.#buf = new Uint8Array(size);
    if (initial) {
      this.#buf.set(initial);
      this.#end = initial.length;
    }
  }

  /** Bytes buffered but not yet consumed. */
  get buffered(): number {
    return this.#end - this.#start;
  }

  /** Removes and returns the bytes buffered but not yet consumed, to hand the stream on. */
  takeBuffered(): Uint8Array {
    const out = this.#buf.slice(this.#start, this.#end);
    this.#start = this.#end = 0;
    return out;
  }

  /** Current buffer size (tests and memory accounting). */
  get capacity(): number {
    return this.#buf.length;
  }

  /**
   * Returns the next frame if it is fully buffered, else null (call {@link fill}).
   *
   * @throws {FrameTooLargeError} if the header announces more than maxLen bytes
   */
  tryFrame(maxLen: number): Frame | null {
    const have = this.#end - this.#start;
    if (have < FRAME_HEADER_LEN) return null;
    const type = this.#buf[this.#start];
    const len = readU32(this.#buf, this.#start + 1);
    if (len > maxLen) throw new FrameTooLargeError(type, len, maxLen);
    const need = FRAME_HEADER_LEN + len;
    if (have < need) return null;
    const p = this.#start + FRAME_HEADER_LEN;
    const payload = this.#buf.slice(p, p + len);
    this.#start += need;
    if (this.#start === this.#end) this.#start = this.#end = 0;
    return { type, payload };
  }

  /**
   * Reads more bytes from the stream. Resolves false on a clean end of stream
   * between frames.
   *
   * @throws {Error} if the stream ends inside a frame
   */
  fill(): Promise<boolean> {
    const have = this.#end - this.#start;
    // How much the frame being assembled needs in all.
    const need = have >= FRAME_HEADER_LEN
      ? FRAME_HEADER_LEN + readU32(this.#buf, this.#start + 1)
      : FRAME_HEADER_LEN;
    if (this.#buf.length - this.#start < need) {
      const size = need > this.#buf.length
        ? Math.max(need, Math.min(this.#buf.length * 4, MAX_READ_BUFFER))
        : this.#buf.length;
      const next = size === this.#buf.length ? this.#buf : new Uint8Array(size);
      if (next === this.#buf) next.copyWithin(0, this.#start, this.#end);
      else next.set(this.#buf.subarray(this.#start, this.#end));
      this.#buf = next;
      this.#end = have;
      this.#start = 0;
    }
    if (
      have === 0 && this.#buf.length > this.#initialSize &&
      this.#lastRead * 8 < this.#buf.length
    ) {
      // Traffic has died down: give the big buffer back while we wait.
      this.#buf = new Uint8Array(this.#initialSize);
      this.#start = this.#end = 0;
    }
    const space = this.#buf.length - this.#end;
    // A plain promise chain (no async frame) keeps idle connections cheap.
    return this.#src.read(this.#buf.subarray(this.#end)).then((r) => {
      if (r === null) {
        if (this.#end === this.#start) return false;
        throw new Error("DERP stream ended inside a frame");
      }
      this.#end += r;
      this.#lastRead = r;
      if (r === space && this.#buf.length < MAX_READ_BUFFER) {
        // The read filled the buffer: traffic is flowing, read in bigger chunks.
        const next = new Uint8Array(Math.min(this.#buf.length * 4, MAX_READ_BUFFER));
        next.set(this.#buf.subarray(this.#start, this.#end));
        this.#end -= this.#start;
        this.#start = 0;
        this.#buf = next;
      }
      return true;
    });
  }

  /**
   * Reads the next frame. Resolves to null on a clean end of stream between frames.
   *
   * @throws {FrameTooLargeError} if the header announces more than maxLen bytes
   * @throws {Error} if the stream ends inside a frame
   */
  async readFrame(maxLen: number): Promise<Frame | null> {
    for (;;) {
      const f = this.tryFrame(maxLen);
      if (f) return f;
      if (!(await this.fill())) return null;
    }
  }
}
