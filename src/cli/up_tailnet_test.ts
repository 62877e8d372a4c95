import assert from "node:assert/strict";
import { parseBoolText, userspaceFromEnv } from "./up_tailnet.ts";

Deno.test("parseBoolText reads what Go's strconv.ParseBool reads, else the fallback", () => {
  for (const t of ["1", "t", "T", "TRUE", "true", "True"]) {
    assert.equal(parseBoolText(t, false), true);
  }
  for (const f of ["0", "f", "F", "FALSE", "false", "False"]) {
    assert.equal(parseBoolText(f, true), false);
  }
  for (const x of [undefined, "", "yes", "on", "tRuE", " true"]) {
    assert.equal(parseBoolText(x, false), false, `${x}`);
    assert.equal(parseBoolText(x, true), true, `${x}`);
  }
});

Deno.test("TS_USERSPACE=true asks for userspace networking; unset or unparsable does not", () => {
  const env = (v: string | undefined) => (n: string) => n === "TS_USERSPACE" ? v : undefined;
  assert.equal(userspaceFromEnv(env("true")), true);
  assert.equal(userspaceFromEnv(env("1")), true);
  assert.equal(userspaceFromEnv(env("false")), false);
  assert.equal(userspaceFromEnv(env(undefined)), false);
  assert.equal(userspaceFromEnv(env("maybe")), false);
});
