/**
 * The V8 flags warren runs with. `deno compile` bakes them into the binary;
 * deno.json's `warren`, `demo` and `compile` tasks and every warren process the
 * testbed or a benchmark starts pass the same (tests/cli_test.ts checks).
 *
 * `--max-semi-space-size=4` (MiB): V8 grows its young generation to 16 MiB per
 * semi-space when many objects survive, as when a DERP server takes 10,000
 * connections at once, and keeps it. Capped at 4, the server holding 10,000 idle
 * connections measured 82–84 MiB RSS against 103–105 uncapped (`deno task
 * bench:derp --idle-only`, and `--server-v8-flags=` to compare); 3 did as well,
 * 1–2 worse (more is promoted early), 5–8 ~90. The tunnel bench was unchanged.
 *
 * `--expose-gc`: a node runs one memory-reducing full collection when its start-up is over
 * (src/cli/release_startup.ts); V8's own memory reducer would hold start-up's garbage for
 * ~30 s more. A tailnet node's V8 heap 12 s after start: 19.9 → 13.2 MB
 * (`deno task bench:memory`). It only defines a global `gc`.
 *
 * Beside them, one flag of `deno run` and `deno compile` themselves,
 * {@link WARREN_DENO_FLAGS}.
 *
 * @module
 */

/** V8 flags for every warren process. */
export const WARREN_V8_FLAGS: readonly string[] = ["--max-semi-space-size=4", "--expose-gc"];

/** The same, as the one `--v8-flags=…` argument `deno run` and `deno compile` take. */
export function v8FlagsArg(): string {
  return `--v8-flags=${WARREN_V8_FLAGS.join(",")}`;
}

/**
 * Flags of `deno run` / `deno compile` (not V8's) for every warren process; the same tasks
 * and the testbed pass them.
 *
 * `--no-code-cache`: Deno otherwise looks every module up in its V8 code cache (an SQLite
 * database) and hands V8 the cached code, and what that leaves behind stays resident for the
 * node's life: importing a tailnet node's modules measured 60–63 MB RSS with the cache
 * against 56 MB without, with the same V8 heap, and an idle tailnet node 70 s after `tun up`
 * 4–6 MB less (`deno task bench:memory`, paired runs). It costs ~30 ms of start-up for the
 * tailnet node's ~190 modules; a node starts once and then runs for days.
 */
export const WARREN_DENO_FLAGS: readonly string[] = ["--no-code-cache"];
