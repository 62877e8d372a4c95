// Run by skip_test.ts as `deno test` in a child process: one test that cannot run here, one that
// skips the rest of its body, one that runs.
import { skipRest, testOrSkip } from "../skip.ts";

testOrSkip(import.meta, "a tool this fixture pretends is missing", {
  name: "needs the missing tool",
  fn() {},
});

Deno.test("checks what it can, then needs root", (t) => {
  return skipRest(t, "the rest pretends to need root");
});

testOrSkip(import.meta, null, { name: "needs nothing", fn() {} });
