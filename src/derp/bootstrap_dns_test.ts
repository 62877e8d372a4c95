import assert from "node:assert/strict";
import { BootstrapDns } from "./bootstrap_dns.ts";
import { startTestServer } from "./testing.ts";

const table: Record<string, string[]> = {
  "control.example": ["192.0.2.10", "2001:db8::10"],
  "derp.example": ["192.0.2.20"],
  "hidden.example": ["192.0.2.30"],
};
const lookup = (name: string) =>
  name in table ? Promise.resolve(table[name]) : Promise.reject(new Error("NXDOMAIN"));

Deno.test("BootstrapDns serves published names, and an unpublished one only when asked", async () => {
  const logs: string[] = [];
  const b = new BootstrapDns({
    published: ["derp.example", "control.example", "gone.example"],
    unpublished: ["hidden.example"],
    lookup,
    logf: (l) => logs.push(l),
  });
  assert.equal(b.respond(null), "{}"); // before the first refresh
  await b.refresh();
  const all = JSON.parse(b.respond(null));
  assert.deepEqual(Object.keys(all), ["control.example", "derp.example"]);
  assert.deepEqual([...all["control.example"]].sort(), ["192.0.2.10", "2001:db8::10"]);
  assert.deepEqual(JSON.parse(b.respond("hidden.example")), { "hidden.example": ["192.0.2.30"] });
  assert.deepEqual(JSON.parse(b.respond("other.example")), all); // derper: the published set
  assert.ok(logs.some((l) => /gone\.example: NXDOMAIN/.test(l)), logs.join("\n"));
  assert.equal(b.requests, 4);
});

Deno.test("GET /bootstrap-dns answers JSON with Connection: close", async () => {
  const b = new BootstrapDns({ published: ["derp.example"], lookup });
  await b.refresh();
  const ts = startTestServer({ http: { bootstrapDns: b } });
  try {
    const r = await fetch(`http://127.0.0.1:${ts.port}/bootstrap-dns?q=derp.example`);
    assert.equal(r.headers.get("content-type"), "application/json");
    assert.deepEqual(await r.json(), { "derp.example": ["192.0.2.20"] });
    const none = startTestServer();
    try {
      const e = await fetch(`http://127.0.0.1:${none.port}/bootstrap-dns`);
      assert.equal(await e.text(), "{}");
    } finally {
      await none.close();
    }
  } finally {
    await ts.close();
  }
});
