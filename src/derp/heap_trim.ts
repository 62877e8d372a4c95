/**
 * Hands the memory of a connect storm back once it is over. A storm of TLS handshakes leaves
 * tens of MiB of garbage in the V8 heap, and native buffers that garbage holds, for the
 * seconds until V8 collects on its own; and glibc keeps freed pages that sit below
 * long-lived allocations. One second after the last accept of a storm this runs V8's
 * last-resort collection (src/runtime/gc.ts) and `malloc_trim(0)`: after 10,000 TLS
 * handshakes, a plain `gc()` left ~22 MiB more resident 3 s later.
 *
 * @module
 */

import { libc } from "../../ffi/libc.ts";
import { exposeGc, lastResortGc } from "../runtime/gc.ts";

/** Quiet time after the last accept before the storm counts as over. */
const QUIET_MS = 1000;
/** Accepts that make a storm: a trickle of reconnects is left to V8. */
const STORM_ACCEPTS = 256;

/**
 * Watches accepts; after a storm of at least STORM_ACCEPTS, once QUIET_MS pass without
 * one, collects garbage and trims the native heap.
 *
 * @example
 * ```ts ignore
 * const trim = new HeapTrimmer();
 * trim.noteAccept(); // on each accepted connection
 * trim.close();
 * ```
 */
export class HeapTrimmer {
  #timer: ReturnType<typeof setInterval> | undefined;
  #accepts = 0;
  #last = 0;
  /** Trims done (tests). */
  trims = 0;

  /** Counts an accept; starts watching for the storm's end. */
  noteAccept(): void {
    this.#accepts++;
    this.#last = performance.now();
    if (this.#timer !== undefined) return;
    this.#timer = setInterval(() => this.#check(), QUIET_MS);
    Deno.unrefTimer(this.#timer);
  }

  #check(): void {
    if (performance.now() - this.#last < QUIET_MS) return;
    clearInterval(this.#timer);
    this.#timer = undefined;
    const storm = this.#accepts >= STORM_ACCEPTS;
    this.#accepts = 0;
    if (storm) void this.trimNow();
  }

  /** Collects garbage, releasing the freed pages, and trims the native heap at once. */
  async trimNow(): Promise<void> {
    await exposeGc();
    lastResortGc();
    try {
      libc().malloc_trim(0);
    } catch {
      // No glibc (musl, another OS): nothing to trim.
    }
    this.trims++;
  }

  /** Stops watching. */
  close(): void {
    clearInterval(this.#timer);
    this.#timer = undefined;
  }
}
