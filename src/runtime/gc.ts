/**
 * V8's last-resort garbage collection, for the moments warren knows a burst of garbage is over
 * (start-up done, a connect storm past). A plain `gc()` frees the objects but keeps their pages
 * committed for reuse; the last-resort flavour collects until nothing more is freed and hands
 * the pages back, so resident memory falls at once instead of after V8's memory reducer runs.
 *
 * `gc()` exists where `--expose-gc` is among the V8 flags, as warren's own are
 * (src/cli/v8_flags.ts); {@link exposeGc} makes it available in a process started without.
 *
 * @module
 */

/** The options V8's exposed gc() takes (its gc extension). */
interface GcOptions {
  type: "major";
  execution: "sync";
  flavor: "last-resort";
}

type GcFunction = (opts?: GcOptions) => void;

const LAST_RESORT: GcOptions = { type: "major", execution: "sync", flavor: "last-resort" };

let exposed: GcFunction | null | undefined;

function globalGc(): GcFunction | null {
  const g = (globalThis as { gc?: unknown }).gc;
  return typeof g === "function" ? g as GcFunction : null;
}

/**
 * Runs one last-resort collection if gc() is available (the global one, or one
 * {@link exposeGc} found); returns whether it ran.
 */
export function lastResortGc(): boolean {
  const gc = globalGc() ?? exposed ?? null;
  gc?.(LAST_RESORT);
  return gc !== null;
}

/**
 * Makes gc() available to {@link lastResortGc} in a process started without `--expose-gc`
 * (tests, a library user's program); returns whether it is.
 */
export async function exposeGc(): Promise<boolean> {
  if (globalGc() !== null) return true;
  if (exposed !== undefined) return exposed !== null;
  try {
    const v8 = await import("node:v8");
    const vm = await import("node:vm");
    v8.setFlagsFromString("--expose-gc");
    const f = vm.runInNewContext("gc") as unknown;
    exposed = typeof f === "function" ? f as GcFunction : null;
  } catch {
    exposed = null;
  }
  return exposed !== null;
}
