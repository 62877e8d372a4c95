import assert from "node:assert/strict";
import { CRYPTO_WASM_COMPILER } from "./module_wasm.ts";

const here = new URL(".", import.meta.url).pathname;

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    return { ok: r.success, out: text };
  } catch {
    return { ok: false, out: "" };
  }
}

const clang = await run("clang", ["--version"]);
const wasmLd = await run("wasm-ld", ["--version"]);
const version = clang.out.split("\n")[0];
const skip = !clang.ok || !wasmLd.ok
  ? "clang or wasm-ld not installed"
  : version !== CRYPTO_WASM_COMPILER
  ? `clang is "${version}", the committed module was built by "${CRYPTO_WASM_COMPILER}"`
  : "";

Deno.test({
  name: `build.sh reproduces the committed wasm module${skip ? ` (skipped: ${skip})` : ""}`,
  ignore: skip !== "",
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const out = `${dir}/module_wasm.ts`;
      const r = await run("sh", [`${here}build.sh`, out]);
      assert.ok(r.ok, `build.sh failed: ${r.out}`);
      const fresh = await Deno.readTextFile(out);
      const committed = await Deno.readTextFile(`${here}module_wasm.ts`);
      assert.ok(
        fresh === committed,
        "src/crypto/wasm/module_wasm.ts is stale: run sh src/crypto/wasm/build.sh",
      );
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
