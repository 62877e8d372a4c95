/**
 * What importing modules costs a fresh Deno process: RSS, RssAnon and V8's
 * used heap after two full GCs, for the module specifiers given (none: an
 * empty process). Run it with the node's V8 flags so the figures compare:
 *
 *   deno run -A --no-code-cache --v8-flags=--max-semi-space-size=4,--expose-gc \
 *     bench/_import_cost.ts ./src/cli/up_tailnet.ts node:zlib
 *
 * Relative paths resolve against the working directory, so one copy of this
 * script measures whichever checkout it is run in.
 *
 * @module
 */
const specs = Deno.args;
const base = `file://${Deno.cwd()}/`;
for (const s of specs) {
  await import(s.startsWith(".") || s.startsWith("/") ? new URL(s, base).href : s);
}
const gc = (globalThis as { gc?: () => void }).gc;
if (gc === undefined) console.error("no --expose-gc: figures include garbage");
for (let i = 0; i < 2; i++) {
  await new Promise((r) => setTimeout(r, 300));
  gc?.();
}
const status = Deno.readTextFileSync("/proc/self/status");
const mb = (key: string) =>
  (Number(new RegExp(`${key}:\\s+(\\d+)`).exec(status)?.[1]) * 1024 / 1e6).toFixed(1);
console.log(
  `${specs.join(" ") || "(nothing)"}: RSS ${mb("VmRSS")} MB, anon ${
    mb("RssAnon")
  } MB, V8 heap used ${(Deno.memoryUsage().heapUsed / 1e6).toFixed(2)} MB`,
);
