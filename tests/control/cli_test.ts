import assert from "node:assert/strict";

Deno.test("main.ts starts a server, prints its events and answers /key", async () => {
  const child = new Deno.Command(Deno.execPath(), {
    args: [
      "run",
      "-A",
      new URL("./main.ts", import.meta.url).pathname,
      "--listen",
      "127.0.0.1:0",
      "--derp-url",
      "http://127.0.0.1:3340",
      "--auth-key",
      "KEY",
    ],
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGKILL"), 20_000);
  const reader = child.stdout.pipeThrough(new TextDecoderStream()).getReader();
  try {
    let text = "";
    while (!text.includes("\n")) {
      const r = await reader.read();
      if (r.done) break;
      text += r.value;
    }
    const m = /control listening on (http:\/\/[^ ]+) key (mkey:[0-9a-f]{64})/.exec(text);
    assert.ok(m, `unexpected first line: ${text}`);
    const key = await (await fetch(`${m[1]}/key?v=145`)).json();
    assert.equal(key.publicKey, m[2]);
    const created = await fetch(`${m[1]}/admin/preauthkeys`, {
      method: "POST",
      body: JSON.stringify({ reusable: false }),
    });
    assert.equal((await created.json()).reusable, false);
  } finally {
    clearTimeout(timer);
    child.kill("SIGTERM");
    await reader.cancel().catch(() => {});
    await child.stderr.cancel().catch(() => {});
    await child.status;
  }
});
