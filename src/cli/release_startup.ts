/**
 * Once a foreground node has started, give back what only start-up needed (see
 * ffi/resident.ts): about 25 MB of a `tun up` node's resident memory are pages of the deno
 * binary it touched while loading and never again (`deno task bench:memory`).
 *
 * `WARREN_RELEASE_STARTUP=0` in the environment keeps them, to compare.
 *
 * @module
 */
import { releaseStartupPages } from "../../ffi/resident.ts";
import { envGet } from "./up_flags.ts";
import { lastResortGc } from "../runtime/gc.ts";

/** How long after a node is up its start-up pages are released: the first map, DERP and
 * disco exchanges are over by then, so what they touched and still use comes back at once. */
export const RELEASE_AFTER_MS = 3_000;

/**
 * Schedules one release `delayMs` from now, on a timer that does not keep the process alive;
 * returns the function that cancels it. A failure (no `--allow-ffi`, not Linux) is logged
 * once and changes nothing else.
 */
export function scheduleStartupRelease(
  log: (line: string) => void,
  delayMs: number = RELEASE_AFTER_MS,
): () => void {
  if (envGet("WARREN_RELEASE_STARTUP") === "0") return () => {};
  const timer = setTimeout(() => {
    try {
      // A memory-reducing full collection (where --expose-gc made gc() available, as
      // WARREN_V8_FLAGS does): start-up's garbage would otherwise hold V8 heap pages until
      // the memory reducer's idle GCs, ~30 s later. It runs inside the release, once
      // /proc/self/smaps is read: run before, as it was, the garbage of reading and splitting
      // that text kept 2.7 MB of new heap pages resident (a `tun up --wg-config` node's
      // heapTotal 5.4 → 8.1 MB; idle RSS 35 → 30 MB, `deno task bench:memory --only wg`).
      releaseStartupPages(() => lastResortGc());
    } catch (e) {
      log(`cannot release start-up memory: ${e instanceof Error ? e.message : e}`);
    }
  }, delayMs);
  Deno.unrefTimer(timer);
  return () => clearTimeout(timer);
}
