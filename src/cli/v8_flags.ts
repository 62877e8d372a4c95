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
 * @module
 */

/** V8 flags for every warren process. */
export const WARREN_V8_FLAGS: readonly string[] = ["--max-semi-space-size=4"];

/** The same, as the one `--v8-flags=…` argument `deno run` and `deno compile` take. */
export function v8FlagsArg(): string {
  return `--v8-flags=${WARREN_V8_FLAGS.join(",")}`;
}
