import assert from "node:assert/strict";
import { startControlProcess } from "./_test_util.ts";

Deno.test("main.ts starts a server, prints its events and answers /key", async () => {
  const p = await startControlProcess(
    ["--listen", "127.0.0.1:0", "--derp-url", "http://127.0.0.1:3340", "--auth-key", "KEY"],
    "piped",
  );
  try {
    const m = /control listening on (http:\/\/[^ ]+) key (mkey:[0-9a-f]{64})/.exec(p.firstLine);
    assert.ok(m, `unexpected first line: ${p.firstLine}`);
    const key = await (await fetch(`${m[1]}/key?v=145`)).json();
    assert.equal(key.publicKey, m[2]);
    const created = await fetch(`${m[1]}/admin/preauthkeys`, {
      method: "POST",
      body: JSON.stringify({ reusable: false }),
    });
    assert.equal((await created.json()).reusable, false);
  } finally {
    await p.stop();
  }
});
