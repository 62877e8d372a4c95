import assert from "node:assert/strict";
import { HostCache } from "./host_cache.ts";

Deno.test("HostCache reuses an answer within its TTL and asks again after", async () => {
  let now = 0;
  const asked: string[] = [];
  const cache = new HostCache({
    now: () => now,
    ttlMs: 1000,
    resolveDns: (h, t) => {
      asked.push(`${h}/${t}`);
      return Promise.resolve(t === "A" ? ["192.0.2.1"] : []);
    },
  });
  const [a, b] = await Promise.all([cache.lookup("x.test"), cache.lookup("x.test")]);
  assert.deepEqual(a, { v4: ["192.0.2.1"], v6: [] });
  assert.equal(a, b, "a lookup in flight is shared");
  now = 999;
  await cache.lookup("x.test");
  assert.deepEqual(asked, ["x.test/A", "x.test/AAAA"]);
  now = 1000;
  await cache.lookup("x.test");
  assert.equal(asked.length, 4);
});

Deno.test("HostCache asks the caller's resolver first and falls back to DNS on null", async () => {
  const cache = new HostCache({
    resolve: (h) => Promise.resolve(h === "peer.ts.net" ? "100.64.0.7" : null),
    resolveDns: (_h, t) => Promise.resolve(t === "AAAA" ? ["2001:db8::5"] : []),
  });
  assert.deepEqual(await cache.lookup("peer.ts.net"), { v4: ["100.64.0.7"], v6: [] });
  assert.deepEqual(await cache.lookup("other.example"), { v4: [], v6: ["2001:db8::5"] });
});

Deno.test("HostCache answers IP literals itself and never rejects", async () => {
  const cache = new HostCache({ resolveDns: () => Promise.reject(new Error("no DNS")) });
  assert.deepEqual(await cache.lookup("[2001:db8::1]"), { v4: [], v6: ["2001:db8::1"] });
  assert.deepEqual(await cache.lookup("192.0.2.9"), { v4: ["192.0.2.9"], v6: [] });
  assert.deepEqual(await cache.lookup("nowhere.invalid"), { v4: [], v6: [] });
});
