/**
 * Views into a data plane's fixed batch of packet buffers, one per batch place, made once and
 * reused while the place's buffer, start and length stay the same. A bulk flow's packets are
 * all one size, so a consumer that wants each packet as its own `Uint8Array` (a packet filter,
 * the userspace stack's input) makes no new view, and no garbage, per packet: a `subarray` is
 * ~100 bytes of young-generation heap, and at 250,000 packets a second that alone made most
 * of a tailnet node's scavenges.
 *
 * @module
 */

/**
 * A cache of one view per batch place.
 *
 * @example
 * ```ts
 * import { BatchViews } from "./batch_views.ts";
 * const views = new BatchViews();
 * const buf = new Uint8Array(2048);
 * const a = views.get(0, buf, 16, 1280);
 * console.assert(a === views.get(0, buf, 16, 1280)); // the same view again
 * console.assert(a !== views.get(0, buf, 16, 60)); // another length: a new view
 * ```
 */
export class BatchViews {
  readonly #views: Uint8Array[] = [];
  readonly #bufs: Uint8Array[] = [];
  readonly #starts: number[] = [];

  /** `buf[start, start + length)`, for batch place `i`: valid until the next call for `i`. */
  get(i: number, buf: Uint8Array, start: number, length: number): Uint8Array {
    const v = this.#views[i];
    if (
      v !== undefined && this.#bufs[i] === buf && this.#starts[i] === start && v.length === length
    ) {
      return v;
    }
    this.#bufs[i] = buf;
    this.#starts[i] = start;
    return this.#views[i] = buf.subarray(start, start + length);
  }
}
