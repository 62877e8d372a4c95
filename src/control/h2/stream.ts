/**
 * One HTTP/2 client stream as its user sees it: the response head, then the
 * body as chunks. The connection feeds it; reading a chunk hands its bytes
 * back to flow control, so a slow reader holds back the server instead of
 * growing a buffer.
 *
 * @module
 */
import { concatBytes } from "../../bytes/concat.ts";
import type { HeaderField } from "./hpack.ts";

/** What a stream needs from its connection. */
export interface StreamOwner {
  /** `n` body bytes of stream `id` were consumed: credit the windows. */
  consumed(id: number, n: number): void;
  /** The user gave up on stream `id` before it ended: reset it. */
  cancel(id: number): void;
}

/**
 * A response being received.
 *
 * @example
 * ```ts ignore
 * const s = await conn.request({ method: "POST", path: "/machine/map", body });
 * for await (const chunk of s) decoder.push(chunk);
 * ```
 */
export class H2Stream implements AsyncIterable<Uint8Array> {
  /** The stream identifier. */
  readonly id: number;
  /** The response's `:status` (0 until the head arrives). */
  status = 0;
  /** The response header fields, pseudo-headers included. */
  headers: HeaderField[] = [];
  #owner: StreamOwner;
  #chunks: Uint8Array[] = [];
  #ended = false;
  #error: Error | null = null;
  #wake: (() => void) | null = null;

  /** A stream of `owner` (only the connection makes these). */
  constructor(id: number, owner: StreamOwner) {
    this.id = id;
    this.#owner = owner;
  }

  /** Whether the body has ended, failed or been cancelled. */
  get done(): boolean {
    return this.#ended || this.#error !== null;
  }

  /** Queues a body chunk (connection side). */
  push(chunk: Uint8Array): void {
    if (this.done) return;
    this.#chunks.push(chunk);
    this.#notify();
  }

  /** The peer ended the body (connection side). */
  end(): void {
    this.#ended = true;
    this.#notify();
  }

  /** The stream failed (connection side, or {@link cancel}); queued chunks are dropped. */
  fail(err: Error): void {
    if (this.done) return;
    this.#error = err;
    this.#chunks = [];
    this.#notify();
  }

  /**
   * The next body chunk, or null at the end.
   *
   * @throws {Error} the stream's failure (reset, connection lost, cancelled)
   */
  async read(): Promise<Uint8Array | null> {
    while (true) {
      if (this.#error !== null) throw this.#error;
      const c = this.#chunks.shift();
      if (c !== undefined) {
        this.#owner.consumed(this.id, c.length);
        return c;
      }
      if (this.#ended) return null;
      await new Promise<void>((r) => this.#wake = r);
    }
  }

  /**
   * Gives up on the stream: the server is told (RST_STREAM CANCEL) and pending
   * or later reads throw `reason`. A no-op once the body has ended.
   */
  cancel(reason: Error = new Error("http2: stream cancelled")): void {
    if (this.done) return;
    this.fail(reason);
    this.#owner.cancel(this.id);
  }

  /** Iterates the body; leaving the loop early cancels the stream. */
  async *[Symbol.asyncIterator](): AsyncGenerator<Uint8Array> {
    try {
      for (let c = await this.read(); c !== null; c = await this.read()) yield c;
    } finally {
      this.cancel();
    }
  }

  /** Reads the whole body, keeping at most `limit` bytes (the rest is read and dropped). */
  async readAll(limit: number): Promise<Uint8Array> {
    const parts: Uint8Array[] = [];
    let n = 0;
    for (let c = await this.read(); c !== null; c = await this.read()) {
      if (n >= limit) continue;
      const take = c.subarray(0, limit - n);
      parts.push(take);
      n += take.length;
    }
    return concatBytes(parts);
  }

  #notify(): void {
    const w = this.#wake;
    this.#wake = null;
    w?.();
  }
}
