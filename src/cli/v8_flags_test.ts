import assert from "node:assert/strict";
import { v8FlagsArg, WARREN_DENO_FLAGS, WARREN_V8_FLAGS } from "./v8_flags.ts";
import { warrenArgv } from "../testbed/netns.ts";

Deno.test("deno.json's warren, demo and compile tasks run with WARREN_V8_FLAGS and WARREN_DENO_FLAGS", async () => {
  const config = JSON.parse(await Deno.readTextFile(new URL("../../deno.json", import.meta.url)));
  for (const task of ["warren", "demo", "compile"]) {
    const words = String(config.tasks[task]).split(/\s+/);
    assert.ok(words.includes(v8FlagsArg()), `task ${task}: ${config.tasks[task]}`);
    for (const f of WARREN_DENO_FLAGS) assert.ok(words.includes(f), `task ${task} lacks ${f}`);
  }
  assert.ok(WARREN_V8_FLAGS.length > 0);
});

Deno.test("warrenArgv() passes the flags when it runs main.ts with deno", () => {
  const argv = warrenArgv();
  if (!/(^|\/)deno$/.test(argv[0])) return;
  assert.ok(argv.includes(v8FlagsArg()), argv.join(" "));
  for (const f of WARREN_DENO_FLAGS) assert.ok(argv.includes(f), argv.join(" "));
});
