import assert from "node:assert/strict";
import { formatIp } from "../net/ip.ts";
import { MagicDnsTable } from "./magicdns.ts";
import { HostResolver, type SystemLookup } from "./resolve.ts";

const table = MagicDnsTable.fromNetmap(
  { Name: "node-a.tslab.test.", Addresses: ["100.64.0.1/32", "fd7a:115c:a1e0::1/128"] },
  [{ Name: "node-b.tslab.test.", Addresses: ["100.64.0.2/32"] }],
  { Proxied: true, Domains: ["tslab.test"] },
);

function fakeSystem(answers: Record<string, string[]>, calls: string[]): SystemLookup {
  return (name, type) => {
    calls.push(`${name} ${type}`);
    const a = answers[`${name} ${type}`];
    return a ? Promise.resolve(a) : Promise.reject(new Error(`no ${type} for ${name}`));
  };
}

Deno.test("HostResolver.resolve() returns IP literals without asking anyone", async () => {
  const calls: string[] = [];
  const r = new HostResolver({ table, system: fakeSystem({}, calls) });
  assert.deepEqual((await r.resolve("192.0.2.7")).map(formatIp), ["192.0.2.7"]);
  assert.deepEqual((await r.resolve("[2001:db8::1]")).map(formatIp), ["2001:db8::1"]);
  await assert.rejects(() => r.resolve("300.1.1.1"), SyntaxError);
  assert.deepEqual(calls, []);
});

Deno.test("HostResolver.resolve() prefers tailnet names, short or full", async () => {
  const calls: string[] = [];
  const r = new HostResolver({ table, system: fakeSystem({ "node-b A": ["203.0.113.9"] }, calls) });
  assert.deepEqual((await r.resolve("node-b")).map(formatIp), ["100.64.0.2"]);
  assert.deepEqual((await r.resolve("NODE-A.tslab.test.")).map(formatIp), [
    "100.64.0.1",
    "fd7a:115c:a1e0::1",
  ]);
  assert.deepEqual(calls, []);
});

Deno.test("HostResolver.resolve() falls back to the system resolver, A then AAAA", async () => {
  const calls: string[] = [];
  const r = new HostResolver({
    system: fakeSystem({
      "example.com A": ["192.0.2.1"],
      "example.com AAAA": ["2001:db8::1", "junk"],
    }, calls),
  });
  assert.deepEqual((await r.resolve("example.com")).map(formatIp), ["192.0.2.1", "2001:db8::1"]);
  assert.deepEqual(calls.sort(), ["example.com A", "example.com AAAA"]);
  // One family failing is fine.
  const v6only = new HostResolver({
    system: fakeSystem({ "v6.example AAAA": ["2001:db8::2"] }, []),
  });
  assert.deepEqual((await v6only.resolve("v6.example")).map(formatIp), ["2001:db8::2"]);
  await assert.rejects(() => v6only.resolve("none.example"), /Cannot resolve "none.example": no A/);
  // Before a netmap, and after setTable(null), tailnet names are not known.
  r.setTable(table);
  assert.deepEqual((await r.resolve("node-b")).map(formatIp), ["100.64.0.2"]);
  r.setTable(null);
  await assert.rejects(() => r.resolve("node-b"), /Cannot resolve "node-b"/);
});
