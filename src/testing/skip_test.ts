import assert from "node:assert/strict";
import { planTest, skipLine, skipPolicy, testFile } from "./skip.ts";

const here = new URL(".", import.meta.url);
const FIXTURE = "src/testing/testdata/skip_fixture.ts";
const ci = { require: true, allowed: new Set<string>(), logFile: null };
const local = { require: false, allowed: new Set<string>(), logFile: null };

Deno.test("skipPolicy() requires every test only when WARREN_REQUIRE_ALL_TESTS is set and not 0", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assert.equal(skipPolicy(env({})).require, false);
  assert.equal(skipPolicy(env({ WARREN_REQUIRE_ALL_TESTS: "" })).require, false);
  assert.equal(skipPolicy(env({ WARREN_REQUIRE_ALL_TESTS: "0" })).require, false);
  assert.equal(skipPolicy(env({ WARREN_REQUIRE_ALL_TESTS: "1" })).require, true);
  const p = skipPolicy(env({ WARREN_ALLOWED_SKIPS: " tests/a_test.ts\n ffi/b_test.ts " }));
  assert.deepEqual([...p.allowed], ["tests/a_test.ts", "ffi/b_test.ts"]);
  assert.equal(p.logFile, null);
  assert.equal(skipPolicy(env({ WARREN_SKIP_LOG: "/tmp/skips" })).logFile, "/tmp/skips");
});

Deno.test("testFile() gives the path from the repository root", () => {
  assert.equal(
    testFile(new URL("../../tests/nat_test.ts", import.meta.url).href),
    "tests/nat_test.ts",
  );
  assert.equal(testFile("https://example.com/x_test.ts"), "https://example.com/x_test.ts");
  assert.equal(
    skipLine("ffi/tun_test.ts", "TUN", "needs root"),
    "SKIP ffi/tun_test.ts: TUN: needs root",
  );
});

Deno.test("planTest() registers a test that can run unchanged", () => {
  const def = { name: "runs", fn() {} };
  assert.deepEqual(planTest("t_test.ts", null, def, ci), { def, line: null });
});

Deno.test("planTest() ignores a test that cannot run, with its SKIP line", () => {
  const p = planTest("t_test.ts", "no wg", { name: "interop", fn() {} }, local);
  assert.equal(p.def.ignore, true);
  assert.equal(p.def.name, "interop (skipped: no wg)");
  assert.equal(p.line, "SKIP t_test.ts: interop: no wg");
});

Deno.test("planTest() under WARREN_REQUIRE_ALL_TESTS turns a skip into a failure naming the reason", async () => {
  let ran = false;
  const p = planTest("t_test.ts", "no wg", { name: "interop", fn: () => void (ran = true) }, ci);
  assert.notEqual(p.def.ignore, true);
  assert.equal(p.line, "SKIP t_test.ts: interop: no wg");
  await assert.rejects(
    async () => await p.def.fn({} as Deno.TestContext),
    /Cannot skip "interop" in t_test\.ts \(no wg\): WARREN_REQUIRE_ALL_TESTS is set/,
  );
  assert.equal(ran, false);
  const allowed = { require: true, allowed: new Set(["t_test.ts"]), logFile: null };
  assert.equal(
    planTest("t_test.ts", "no wg", { name: "interop", fn() {} }, allowed).def.ignore,
    true,
  );
});

/** Runs the fixture as CI runs the suite (`--quiet`), with the SKIP lines going to a file. */
async function runFixture(env: Record<string, string>) {
  const skipLog = await Deno.makeTempFile();
  try {
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "test",
        "-A",
        "--quiet",
        "--no-check",
        new URL("testdata/skip_fixture.ts", here).pathname,
      ],
      env: {
        NO_COLOR: "1",
        WARREN_REQUIRE_ALL_TESTS: "",
        WARREN_ALLOWED_SKIPS: "",
        ...env,
        WARREN_SKIP_LOG: skipLog,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    const skips = (await Deno.readTextFile(skipLog)).split("\n").filter((l) => l !== "");
    return { code: out.code, text: dec.decode(out.stdout) + dec.decode(out.stderr), skips };
  } finally {
    await Deno.remove(skipLog);
  }
}

Deno.test("a test file with skips passes locally and logs one SKIP line per skip", async () => {
  const r = await runFixture({});
  assert.equal(r.code, 0, r.text);
  assert.deepEqual(r.skips, [
    `SKIP ${FIXTURE}: needs the missing tool: a tool this fixture pretends is missing`,
    `SKIP ${FIXTURE}: checks what it can, then needs root: the rest pretends to need root`,
  ]);
  assert.match(
    r.text,
    /needs the missing tool \(skipped: a tool this fixture pretends is missing\) \.\.\. ignored/,
  );
  assert.match(r.text, /ok \| 2 passed \| 0 failed \| 1 ignored/);
});

Deno.test("the same file fails under WARREN_REQUIRE_ALL_TESTS=1 unless it is allowed to skip", async () => {
  const r = await runFixture({ WARREN_REQUIRE_ALL_TESTS: "1" });
  assert.notEqual(r.code, 0, r.text);
  assert.equal(r.skips.length, 2, r.text);
  assert.match(r.text, /FAILED \| 1 passed \| 2 failed/);
  assert.match(
    r.text,
    /Cannot skip "needs the missing tool" .*\(a tool this fixture pretends is missing\)/,
  );
  const allowed = await runFixture({
    WARREN_REQUIRE_ALL_TESTS: "1",
    WARREN_ALLOWED_SKIPS: FIXTURE,
  });
  assert.equal(allowed.code, 0, allowed.text);
  assert.equal(allowed.skips.length, 2, allowed.text);
  assert.match(allowed.text, /ok \| 2 passed \| 0 failed \| 1 ignored/);
});
