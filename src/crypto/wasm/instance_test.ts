import assert from "node:assert/strict";
import { cryptoWasm } from "./instance.ts";

Deno.test("making the instance runs no JavaScript hot enough for the optimising compiler", async () => {
  // Paging in TurboFan (or Maglev) costs megabytes of RSS; an idle process should not need it.
  const url = new URL("./instance.ts", import.meta.url).href;
  const out = await new Deno.Command(Deno.execPath(), {
    args: [
      "eval",
      "--v8-flags=--trace-opt",
      `const { cryptoWasm } = await import(${JSON.stringify(url)}); cryptoWasm();`,
    ],
    stdout: "piped",
    stderr: "piped",
  }).output();
  assert.ok(out.success, new TextDecoder().decode(out.stderr));
  const hot = new TextDecoder().decode(out.stdout).split("\n").filter((l) =>
    l.includes("compiling method") && /instantiate|cryptoWasm/.test(l)
  );
  assert.deepEqual(hot, []);
});

Deno.test("the instance's memory holds the regions in order inside its fixed size", () => {
  const w = cryptoWasm();
  assert.equal(w.buffer.byteLength, 32 * 1024 * 1024);
  assert.ok(w.keySlots + 32 * w.keySlotCount <= w.adScratch);
  assert.ok(w.adScratch + w.adScratchSize <= w.msgScratch);
  assert.ok(w.msgScratch + w.msgScratchSize <= w.arenaStart && w.arenaStart < w.arenaEnd);
  assert.equal(w.arenaStart % 64, 0);
});
