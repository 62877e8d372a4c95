/**
 * DERP frames from pushed chunks: complete frames are cut straight out of each chunk, and
 * only a frame split across chunks is kept, in a buffer of exactly its size.
 *
 * @module
 */

import { FRAME_HEADER_LEN } from "./constants.ts";
import { type Frame, FrameTooLargeError } from "./frame.ts";

/**
 * Assembles frames from a byte stream delivered in chunks (see push_conn.ts). An idle
 * stream between frames holds no buffer.
 *
 * @example
 * ```ts
 * import { FrameAssembler } from "./frame_assembler.ts";
 * const a = new FrameAssembler();
 * const frames: number[] = [];
 * a.push(new Uint8Array([6, 0, 0, 0, 0, 6, 0]), 1024, (f) => frames.push(f.type));
 * a.push(new Uint8Array([0, 0, 0]), 1024, (f) => frames.push(f.type)); // frames: [6, 6]
 * ```
 */
export class FrameAssembler {
  /** A split frame: 5 bytes while its header is incomplete, else header plus payload. */
  #part: Uint8Array | null = null;
  #have = 0;
  /** The frame #continue just completed. */
  #done: Frame | null = null;

  /** Whether a frame has been started but not finished. */
  get partial(): boolean {
    return this.#part !== null;
  }

  /**
   * Feeds a chunk; calls onFrame (with thisArg as `this`, like Array.prototype.forEach) for
   * every frame it completes, in order. Payloads are owned by the callee. Stops early if
   * onFrame returns false. A method plus thisArg spares a long-lived receiver a closure.
   *
   * @throws {FrameTooLargeError} if a header announces more than maxLen bytes
   */
  push<T = undefined>(
    chunk: Uint8Array,
    maxLen: number,
    onFrame: (this: T, f: Frame) => boolean | void,
    thisArg?: T,
  ): void {
    let off = 0;
    const end = chunk.length;
    if (this.#part !== null) {
      off = this.#continue(chunk, maxLen);
      if (this.#part !== null) return; // still split: the whole chunk went into it
      const done = this.#done!;
      this.#done = null;
      if (onFrame.call(thisArg as T, done) === false) return;
    }
    while (end - off >= FRAME_HEADER_LEN) {
      const type = chunk[off];
      const len = readU32(chunk, off + 1);
      if (len > maxLen) throw new FrameTooLargeError(type, len, maxLen);
      const stop = off + FRAME_HEADER_LEN + len;
      if (stop > end) break;
      const payload = chunk.slice(off + FRAME_HEADER_LEN, stop);
      off = stop;
      if (onFrame.call(thisArg as T, { type, payload }) === false) return;
    }
    if (off < end) this.#start(chunk.subarray(off), maxLen);
  }

  /** Begins a split frame with the bytes at the end of a chunk. */
  #start(rest: Uint8Array, maxLen: number): void {
    if (rest.length < FRAME_HEADER_LEN) {
      this.#part = new Uint8Array(FRAME_HEADER_LEN);
    } else {
      const len = readU32(rest, 1);
      if (len > maxLen) throw new FrameTooLargeError(rest[0], len, maxLen);
      this.#part = new Uint8Array(FRAME_HEADER_LEN + len);
    }
    this.#part.set(rest);
    this.#have = rest.length;
  }

  /** Adds bytes to the split frame; returns how many of chunk it used. */
  #continue(chunk: Uint8Array, maxLen: number): number {
    let part = this.#part!;
    let off = 0;
    if (this.#have < FRAME_HEADER_LEN) {
      const take = Math.min(FRAME_HEADER_LEN - this.#have, chunk.length);
      part.set(chunk.subarray(0, take), this.#have);
      this.#have += take;
      off = take;
      if (this.#have < FRAME_HEADER_LEN) return off;
      const len = readU32(part, 1);
      if (len > maxLen) throw new FrameTooLargeError(part[0], len, maxLen);
      const full = new Uint8Array(FRAME_HEADER_LEN + len);
      full.set(part);
      this.#part = part = full;
    }
    const take = Math.min(part.length - this.#have, chunk.length - off);
    part.set(chunk.subarray(off, off + take), this.#have);
    this.#have += take;
    off += take;
    if (this.#have === part.length) {
      this.#done = { type: part[0], payload: part.subarray(FRAME_HEADER_LEN) };
      this.#part = null;
      this.#have = 0;
    }
    return off;
  }
}

function readU32(b: Uint8Array, off: number): number {
  return ((b[off] << 24) >>> 0) + (b[off + 1] << 16) + (b[off + 2] << 8) + b[off + 3];
}
