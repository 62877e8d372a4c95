/**
 * Records that must all reach a {@linkcode ByteRing}'s reader, in order, even when the ring is
 * full for a moment (the reader busy with a burst): what does not fit waits here, in order, and
 * is tried again on the next push and on a short timer until the reader has made room.
 *
 * @module
 */
import type { ByteRing } from "./byte_ring.ts";

/** How soon records the full ring refused are tried again, ms. */
const RETRY_MS = 5;

/**
 * An ordered, lossless writer in front of a ring.
 *
 * @example
 * ```ts
 * import { ByteRing } from "./byte_ring.ts";
 * import { RingQueue } from "./ring_queue.ts";
 * const ring = new ByteRing(ByteRing.allocate(64));
 * const q = new RingQueue(ring, () => {});
 * q.push(new Uint8Array(40));
 * q.push(new Uint8Array(40)); // waits: the ring holds one of these
 * q.waiting; // 1
 * q.close();
 * ```
 */
export class RingQueue {
  readonly #ring: ByteRing;
  readonly #written: () => void;
  readonly #retryMs: number;
  readonly #waiting: Uint8Array[] = [];
  #timer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /** Writes to `ring`, calling `written` after each push or retry that wrote something. */
  constructor(ring: ByteRing, written: () => void, retryMs = RETRY_MS) {
    this.#ring = ring;
    this.#written = written;
    this.#retryMs = retryMs;
  }

  /** Records not yet in the ring. */
  get waiting(): number {
    return this.#waiting.length;
  }

  /**
   * Appends `record` after every record pushed before it.
   *
   * @throws {RangeError} if the record could never fit the ring
   */
  push(record: Uint8Array): void {
    if (record.length > this.#ring.maxRecord) {
      throw new RangeError(`A record of ${record.length} bytes does not fit the ring`);
    }
    if (this.#closed) return;
    this.#waiting.push(record);
    this.#flush();
  }

  /** Drops what waits and stops retrying. */
  close(): void {
    this.#closed = true;
    clearTimeout(this.#timer);
    this.#waiting.length = 0;
  }

  #flush(): void {
    let wrote = false;
    while (this.#waiting.length > 0 && this.#ring.write(this.#waiting[0])) {
      this.#waiting.shift();
      wrote = true;
    }
    if (wrote) this.#written();
    if (this.#waiting.length > 0 && this.#timer === undefined && !this.#closed) {
      this.#timer = setTimeout(() => {
        this.#timer = undefined;
        this.#flush();
      }, this.#retryMs);
    }
  }
}
