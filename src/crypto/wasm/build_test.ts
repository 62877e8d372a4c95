import assert from "node:assert/strict";
import {
  CRYPTO_WASM_BASE64,
  CRYPTO_WASM_COMPILER,
  CRYPTO_WASM_SHA256,
  CRYPTO_WASM_SOURCES_SHA256,
} from "./module_wasm.ts";
import { testOrSkip } from "../../testing/skip.ts";

const here = new URL(".", import.meta.url).pathname;
const STALE = "src/crypto/wasm/module_wasm.ts is stale: run sh src/crypto/wasm/build.sh";

async function sha256Hex(data: Uint8Array<ArrayBuffer> | string): Promise<string> {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** What build.sh records: the SHA-256 of `sha256sum build.sh chacha20poly1305.c x25519.c inet_sum.c`. */
async function sourcesSha256(): Promise<string> {
  let manifest = "";
  for (const name of ["build.sh", "chacha20poly1305.c", "x25519.c", "inet_sum.c"]) {
    manifest += `${await sha256Hex(await Deno.readFile(`${here}${name}`))}  ${name}\n`;
  }
  return await sha256Hex(manifest);
}

async function run(cmd: string, args: string[]): Promise<{ ok: boolean; out: string }> {
  try {
    const r = await new Deno.Command(cmd, { args, stdout: "piped", stderr: "piped" }).output();
    const text = new TextDecoder().decode(r.stdout) + new TextDecoder().decode(r.stderr);
    return { ok: r.success, out: text };
  } catch {
    return { ok: false, out: "" };
  }
}

// Needs no compiler, so it runs everywhere: a C or flag change without a rebuild fails here.
Deno.test("the committed wasm module was built from the current C sources and build.sh", async () => {
  assert.equal(CRYPTO_WASM_SOURCES_SHA256, await sourcesSha256(), STALE);
  const wasm = Uint8Array.from(atob(CRYPTO_WASM_BASE64), (c) => c.charCodeAt(0));
  assert.equal(
    await sha256Hex(wasm),
    CRYPTO_WASM_SHA256,
    "module_wasm.ts's wasm bytes were edited",
  );
});

const clang = await run("clang", ["--version"]);
const wasmLd = await run("wasm-ld", ["--version"]);
const version = clang.out.split("\n")[0];
const skip = !clang.ok || !wasmLd.ok
  ? "clang or wasm-ld not installed (apt-get install -y --no-install-recommends clang lld)"
  : version !== CRYPTO_WASM_COMPILER
  ? `clang is "${version}", the committed module was built by "${CRYPTO_WASM_COMPILER}"`
  : null;

testOrSkip(import.meta, skip, {
  name: "build.sh reproduces the committed wasm module byte for byte",
  async fn() {
    const dir = await Deno.makeTempDir();
    try {
      const out = `${dir}/module_wasm.ts`;
      const r = await run("sh", [`${here}build.sh`, out]);
      assert.ok(r.ok, `build.sh failed: ${r.out}`);
      const fresh = await Deno.readTextFile(out);
      const committed = await Deno.readTextFile(`${here}module_wasm.ts`);
      assert.ok(fresh === committed, STALE);
    } finally {
      await Deno.remove(dir, { recursive: true });
    }
  },
});
