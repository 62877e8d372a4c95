import assert from "node:assert/strict";
import { bundleCommand, bundleWarren } from "./bundle.ts";
import { run, warrenArgv } from "./netns.ts";

Deno.test("bundleCommand: deno.json's bundle task, writing where it is told", async () => {
  const cmd = await bundleCommand("/tmp/x");
  assert.equal(cmd[0], Deno.execPath());
  assert.equal(cmd[1], "bundle");
  assert.equal(cmd[cmd.indexOf("--outdir") + 1], "/tmp/x");
  assert.ok(cmd.at(-1)!.endsWith("/main.ts"), cmd.join(" "));
});

Deno.test({
  name: "the bundle runs warren: usage, and a command whose module is a chunk loaded on demand",
  // esbuild comes from the npm registry on the first run.
  sanitizeResources: false,
  async fn() {
    const dir = await Deno.makeTempDir({ prefix: "warren-bundle-" });
    try {
      const argv = warrenArgv(await bundleWarren(dir));
      const chunks = [...Deno.readDirSync(dir)].filter((e) => e.name.startsWith("chunk-"));
      assert.ok(chunks.length > 0, "commands are split into chunks");
      const usage = await run([...argv, "--help"], { check: false });
      assert.equal(usage.code, 0, usage.stderr);
      assert.match(usage.stdout + usage.stderr, /warren tun up/);
      // `tun ping` with no flags is a usage error raised inside ping.ts, a dynamic import.
      const ping = await run([...argv, "tun", "ping"], { check: false });
      assert.equal(ping.code, 2, ping.stderr);
      assert.match(ping.stderr, /Missing PEER/);
      assert.doesNotMatch(ping.stderr, /Module not found|Cannot find module/);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
