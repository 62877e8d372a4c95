/**
 * A buffered reader for the handshake phase of a proxy connection: it feeds
 * incremental decoders until they have a whole message, and afterwards hands
 * back the bytes it read past the message (a client may send its first
 * payload right behind the request), so the tunnel loses nothing.
 *
 * @module
 */

/** Thrown when the peer ends the stream in the middle of a message. */
export class UnexpectedEofError extends Error {
  /** Names the message that was cut short.
   * @param what the message that was cut short
   */
  constructor(what: string) {
    super(`Connection closed in the middle of the ${what}`);
    this.name = "UnexpectedEofError";
  }
}

/** Reads whole messages off a byte stream with incremental decoders. */
export class ByteReader {
  #reader: ReadableStreamDefaultReader<Uint8Array>;
  #buf: Uint8Array = new Uint8Array(0);
  #limit: number;

  /**
   * Locks `readable` for reading.
   * @param readable the stream to read; it stays locked until {@linkcode release}
   * @param limit most bytes buffered for one message; a longer one is an error
   */
  constructor(readable: ReadableStream<Uint8Array>, limit = 64 * 1024) {
    this.#reader = readable.getReader();
    this.#limit = limit;
  }

  /**
   * Reads until `decode` returns a value (it is given all unconsumed bytes each
   * time) and consumes the bytes it says it used.
   *
   * @example
   * ```ts
   * import { ByteReader } from "./byte_reader.ts";
   * const r = new ByteReader(ReadableStream.from([new Uint8Array([1, 2, 3])]));
   * await r.read("pair", (b) => b.length >= 2 ? { value: b[0] + b[1], length: 2 } : null); // 3
   * ```
   * @throws {UnexpectedEofError} if the stream ends first
   * @throws {RangeError} if the message would exceed the limit
   * @throws whatever `decode` throws
   */
  async read<T>(
    what: string,
    decode: (buf: Uint8Array) => { value: T; length: number } | null,
  ): Promise<T> {
    while (true) {
      const got = decode(this.#buf);
      if (got !== null) {
        this.#buf = this.#buf.subarray(got.length);
        return got.value;
      }
      if (this.#buf.length >= this.#limit) {
        throw new RangeError(`The ${what} is longer than ${this.#limit} bytes`);
      }
      const { value, done } = await this.#reader.read();
      if (done) throw new UnexpectedEofError(what);
      if (value.length === 0) continue;
      if (this.#buf.length === 0) {
        this.#buf = value;
      } else {
        const next = new Uint8Array(this.#buf.length + value.length);
        next.set(this.#buf);
        next.set(value, this.#buf.length);
        this.#buf = next;
      }
    }
  }

  /** Reads the next chunk (buffered bytes first); null at end of stream. */
  async next(): Promise<Uint8Array | null> {
    if (this.#buf.length > 0) {
      const out = this.#buf;
      this.#buf = new Uint8Array(0);
      return out;
    }
    const { value, done } = await this.#reader.read();
    return done ? null : value;
  }

  /**
   * Unlocks the stream and returns the bytes read past the last message; the
   * caller forwards them before piping the rest of the stream.
   */
  release(): Uint8Array {
    this.#reader.releaseLock();
    const rest = this.#buf;
    this.#buf = new Uint8Array(0);
    return rest;
  }
}
