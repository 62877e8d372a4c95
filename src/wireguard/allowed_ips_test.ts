import assert from "node:assert/strict";
import { AllowedIps } from "./allowed_ips.ts";
import { formatPrefix, parseIp, parsePrefix } from "../net/ip.ts";

Deno.test("AllowedIps.entriesFor() lists a peer's prefixes in order; removeValue() drops them", () => {
  const t = new AllowedIps<string>();
  const routes = [["fd00::2/128", "b"], ["10.0.0.2/32", "b"], ["10.0.0.0/8", "a"], [
    "0.0.0.0/0",
    "b",
  ]];
  for (const [prefix, peer] of routes) t.insert(parsePrefix(prefix), peer);
  assert.deepEqual(t.entriesFor("b").map(formatPrefix), [
    "0.0.0.0/0",
    "10.0.0.2/32",
    "fd00::2/128",
  ]);
  assert.deepEqual(t.entriesFor("a").map(formatPrefix), ["10.0.0.0/8"]);
  assert.deepEqual(t.entriesFor("c"), []);
  t.removeValue("b");
  assert.equal(t.size, 1);
  assert.equal(t.lookupIp(parseIp("10.0.0.2")), "a");
  assert.equal(t.lookupIp(parseIp("11.0.0.1")), undefined);
  assert.equal(t.lookupIp(parseIp("fd00::2")), undefined);
  assert.deepEqual(t.entriesFor("b"), []);
});
