import assert from "node:assert/strict";

Deno.test("runUntilStopped() logs an unhandled rejection instead of exiting, and returns 0", async () => {
  const mod = new URL("./foreground.ts", import.meta.url).href;
  const code = `
    import { runUntilStopped } from ${JSON.stringify(mod)};
    const node = { stop: () => Promise.resolve(), done: new Promise((r) => setTimeout(r, 200)) };
    setTimeout(() => { Promise.reject(new Error("background bug")); }, 20);
    const rc = await runUntilStopped(node, "bye");
    console.log("returned", rc);
  `;
  const out = await new Deno.Command(Deno.execPath(), { args: ["eval", code], stdin: "null" })
    .output();
  const stderr = new TextDecoder().decode(out.stderr);
  assert.equal(out.code, 0, stderr);
  assert.match(new TextDecoder().decode(out.stdout), /returned 0/);
  assert.match(stderr, /internal error \(please report\): Error: background bug/);
  assert.match(stderr, /bye/);
});
