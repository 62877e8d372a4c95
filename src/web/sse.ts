/**
 * Server-Sent Events fan-out for the status page: one stream per browser,
 * each with a bounded queue. A client whose queue is full (its socket stopped
 * draining) is dropped, so a stuck tab costs at most `queueLimit` frames.
 *
 * @module
 */

/** Limits of a {@link SseHub}. */
export interface SseHubOptions {
  /** Streams open at once; {@link SseHub.open} refuses more. */
  maxClients: number;
  /** Frames queued for one client before it is dropped. */
  queueLimit: number;
}

/** Thrown into a dropped client's stream (the connection is then reset). */
export class SlowClientError extends Error {
  /**
   * Names how far behind the client was.
   *
   * @param queued frames that were waiting when the client was dropped
   */
  constructor(queued: number) {
    super(`Status page client dropped: ${queued} events queued and not read`);
    this.name = "SlowClientError";
  }
}

/** One SSE frame: `event:` (when named) and `data:` lines. */
export function sseFrame(data: string, event?: string): string {
  const lines = data.split(/\r\n|\r|\n/).map((l) => `data: ${l}`).join("\n");
  return `${event ? `event: ${event}\n` : ""}${lines}\n\n`;
}

/**
 * Streams that receive every published frame, the latest one first on open.
 *
 * @example
 * ```ts
 * import { SseHub } from "./sse.ts";
 * const hub = new SseHub({ maxClients: 1, queueLimit: 4 });
 * const stream = hub.open()!;
 * console.assert(hub.open() === null);
 * hub.publish('{"networks":{}}');
 * await stream.cancel(); // the browser went away
 * console.assert(hub.size === 0);
 * ```
 */
export class SseHub {
  #opts: SseHubOptions;
  #clients = new Set<ReadableStreamDefaultController<Uint8Array>>();
  #last: string | null = null;
  #dropped = 0;
  #enc = new TextEncoder();

  /**
   * A hub with no client yet.
   *
   * @param opts the limits
   */
  constructor(opts: SseHubOptions) {
    this.#opts = opts;
  }

  /** Open streams. */
  get size(): number {
    return this.#clients.size;
  }

  /** Clients dropped for not reading so far. */
  get dropped(): number {
    return this.#dropped;
  }

  /**
   * A new client's byte stream, starting with a reconnect delay and the last
   * frame published; null when {@link SseHubOptions.maxClients} are open.
   */
  open(): ReadableStream<Uint8Array> | null {
    if (this.#clients.size >= this.#opts.maxClients) return null;
    let ctl!: ReadableStreamDefaultController<Uint8Array>;
    const stream = new ReadableStream<Uint8Array>({
      start: (c) => {
        ctl = c;
      },
      cancel: () => {
        this.#clients.delete(ctl);
      },
    }, new CountQueuingStrategy({ highWaterMark: this.#opts.queueLimit }));
    this.#clients.add(ctl);
    this.#send(ctl, this.#enc.encode(`retry: 2000\n\n${this.#last ?? ""}`));
    return stream;
  }

  /**
   * Sends a frame to every client unless it repeats the last one; returns
   * whether it was sent.
   */
  publish(data: string, event?: string): boolean {
    const frame = sseFrame(data, event);
    if (frame === this.#last) return false;
    this.#last = frame;
    this.#broadcast(frame);
    return true;
  }

  /** Sends a comment line, which keeps proxies and idle timers from closing the stream. */
  keepAlive(): void {
    this.#broadcast(": keep-alive\n\n");
  }

  /** Forgets the last frame (it is stale once nobody polls). */
  forget(): void {
    this.#last = null;
  }

  /** Ends every stream at once, without waiting for slow clients to drain. */
  close(): void {
    for (const c of this.#clients) c.error(new Error("Status page is shutting down"));
    this.#clients.clear();
  }

  #broadcast(frame: string): void {
    const bytes = this.#enc.encode(frame);
    // Each stream gets its own copy: a consumer may transfer the buffer it reads.
    for (const c of [...this.#clients]) this.#send(c, bytes.slice());
  }

  #send(c: ReadableStreamDefaultController<Uint8Array>, bytes: Uint8Array): void {
    if ((c.desiredSize ?? 0) <= 0) {
      this.#clients.delete(c);
      this.#dropped++;
      c.error(new SlowClientError(this.#opts.queueLimit));
      return;
    }
    c.enqueue(bytes);
  }
}
