// .ci/summarize, the part of .ci/run that reads the test log: on saved sample logs, and on the
// log of a real `deno test --quiet` run of src/testing/testdata/skip_fixture.ts.
import assert from "node:assert/strict";

const SCRIPT = new URL("../.ci/summarize", import.meta.url).pathname;
const FIXTURE = "src/testing/testdata/skip_fixture.ts";
const NAT_SKIP = "SKIP tests/nat_test.ts: NAT traversal: nft (nftables) is not installed";
const STUN_SKIP = "SKIP tests/stun_loopback_test.ts: stun-client: stun is not installed";

async function summarize(testLog: string, skipLog: string | null, allowed = "") {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.writeTextFile(`${dir}/test.log`, testLog);
    if (skipLog !== null) await Deno.writeTextFile(`${dir}/skip.log`, skipLog);
    const out = await new Deno.Command("bash", {
      args: [SCRIPT, `${dir}/test.log`, `${dir}/skip.log`],
      env: { WARREN_ALLOWED_SKIPS: allowed },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const dec = new TextDecoder();
    return {
      code: out.code,
      lines: dec.decode(out.stdout).trimEnd().split("\n"),
      err: dec.decode(out.stderr),
    };
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

Deno.test(".ci/summarize passes a run with no skips and closes with the test counts", async () => {
  const log =
    "running 3 tests from ./a_test.ts\n...\n\x1b[0m\x1b[32mok\x1b[0m | 680 passed (12 steps) | 0 failed \x1b[0m\x1b[38;5;245m(2m4s)\x1b[0m\n";
  const r = await summarize(log, null);
  assert.equal(r.code, 0, r.err);
  assert.deepEqual(r.lines, ["skipped: 0", "tests: 680 passed, 0 failed"]);
});

Deno.test(".ci/summarize fails a run with skips outside the allow-list and lists their reasons", async () => {
  const r = await summarize("FAILED | 678 passed | 2 failed (2m)\n", `${NAT_SKIP}\n${STUN_SKIP}\n`);
  assert.equal(r.code, 1);
  assert.deepEqual(r.lines, [
    "skipped: 2",
    `  ${NAT_SKIP.slice(5)}`,
    `  ${STUN_SKIP.slice(5)}`,
    "error: 2 test(s) skipped outside the CI allow-list",
    "tests: 678 passed, 2 failed",
  ]);
});

Deno.test(".ci/summarize accepts an ignored test whose file is on the allow-list", async () => {
  const log = "ok | 679 passed | 0 failed | 1 ignored (2m)\n";
  const r = await summarize(log, `${STUN_SKIP}\n`, "tests/nat_test.ts tests/stun_loopback_test.ts");
  assert.equal(r.code, 0, r.lines.join("\n"));
  assert.deepEqual(r.lines, [
    "skipped: 1",
    `  ${STUN_SKIP.slice(5)} (allowed in CI)`,
    "tests: 679 passed, 0 failed",
  ]);
});

Deno.test(".ci/summarize fails a test Deno ignored without the skip helper", async () => {
  const r = await summarize("ok | 679 passed | 0 failed | 1 ignored (2m)\n", "");
  assert.equal(r.code, 1);
  assert.deepEqual(r.lines, [
    "skipped: 0",
    "error: Deno ignored 1 test(s), only 0 of them on the CI allow-list",
    "tests: 679 passed, 0 failed",
  ]);
});

Deno.test(".ci/summarize fails a log without a test summary", async () => {
  const r = await summarize("error: Found 1 not formatted file in 680 files\n", null);
  assert.equal(r.code, 1);
  assert.deepEqual(r.lines, [
    "skipped: 0",
    "error: no Deno test summary in the log (the tests did not run)",
  ]);
});

Deno.test(".ci/summarize reads a real deno test --quiet log and skip log", async () => {
  const skipLog = await Deno.makeTempFile();
  try {
    const run = await new Deno.Command(Deno.execPath(), {
      args: [
        "test",
        "-A",
        "--quiet",
        "--no-check",
        new URL(`../${FIXTURE}`, import.meta.url).pathname,
      ],
      env: {
        WARREN_REQUIRE_ALL_TESTS: "1",
        WARREN_ALLOWED_SKIPS: FIXTURE,
        WARREN_SKIP_LOG: skipLog,
      },
      stdout: "piped",
      stderr: "piped",
    }).output();
    const log = new TextDecoder().decode(run.stdout) + new TextDecoder().decode(run.stderr);
    assert.equal(run.code, 0, log);
    const r = await summarize(log, await Deno.readTextFile(skipLog), FIXTURE);
    assert.equal(r.code, 0, r.lines.join("\n"));
    assert.equal(r.lines[0], "skipped: 2");
    assert.match(
      r.lines[1],
      /needs the missing tool: a tool this fixture pretends is missing \(allowed in CI\)$/,
    );
    assert.equal(r.lines.at(-1), "tests: 2 passed, 0 failed");
  } finally {
    await Deno.remove(skipLog);
  }
});
