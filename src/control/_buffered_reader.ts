/**
 * Reading the HTTP upgrade response and the Noise handshake reply from a stream, with
 * pushback, until the Noise connection takes the stream over.
 *
 * @module
 */
import type { ByteStream } from "./controlbase/conn.ts";
import { findHeadEnd } from "./http_head.ts";

/** Reads from a stream with pushback, until the Noise conn takes over. */
export class BufferedReader {
  #stream: ByteStream;
  #buf = new Uint8Array(0);

  /** Reads from `stream`. */
  constructor(stream: ByteStream) {
    this.#stream = stream;
  }

  /** Puts bytes back in front of what is buffered. */
  unshift(bytes: Uint8Array): void {
    const b = new Uint8Array(bytes.length + this.#buf.length);
    b.set(bytes);
    b.set(this.#buf, bytes.length);
    this.#buf = b;
  }

  /** Takes everything buffered. */
  drain(): Uint8Array {
    const b = this.#buf;
    this.#buf = new Uint8Array(0);
    return b;
  }

  async #fill(): Promise<boolean> {
    const chunk = new Uint8Array(4096);
    const n = await this.#stream.read(chunk);
    if (n === null) return false;
    const b = new Uint8Array(this.#buf.length + n);
    b.set(this.#buf);
    b.set(chunk.subarray(0, n), this.#buf.length);
    this.#buf = b;
    return true;
  }

  /** Reads up to the end of an HTTP head (a blank line), at most `limit` bytes. */
  async readHead(limit: number): Promise<Uint8Array> {
    while (findHeadEnd(this.#buf) < 0) {
      if (this.#buf.length > limit) throw new RangeError(`response head over ${limit} bytes`);
      if (!(await this.#fill())) {
        throw new Error(
          this.#buf.length === 0
            ? "connection closed without a response"
            : "connection closed inside the response head",
        );
      }
    }
    return this.drain();
  }

  /** Reads exactly `n` bytes. */
  async readExact(n: number): Promise<Uint8Array> {
    while (this.#buf.length < n) {
      if (!(await this.#fill())) {
        throw new Error(`connection closed after ${this.#buf.length} of ${n} expected bytes`);
      }
    }
    const out = this.#buf.slice(0, n);
    this.#buf = this.#buf.slice(n);
    return out;
  }

  /** Reads whatever arrives within `ms` (for an error body), up to `max` bytes. */
  async readSome(max: number, ms: number): Promise<Uint8Array> {
    const deadline = Date.now() + ms;
    while (this.#buf.length < max && Date.now() < deadline) {
      const more = await Promise.race([
        this.#fill(),
        new Promise<boolean>((r) => setTimeout(() => r(false), Math.max(0, deadline - Date.now()))),
      ]);
      if (!more) break;
    }
    return this.drain().subarray(0, max);
  }
}
