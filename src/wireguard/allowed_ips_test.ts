import assert from "node:assert/strict";
import { AllowedIps } from "./allowed_ips.ts";
import { formatPrefix, parseIp, parsePrefix } from "../net/ip.ts";

const p = (s: string) => parsePrefix(s);

Deno.test("AllowedIps.entriesFor() lists one peer's prefixes, IPv4 first, in address order", () => {
  const t = new AllowedIps<string>();
  t.insert(p("fd00::2/128"), "b");
  t.insert(p("10.0.0.2/32"), "b");
  t.insert(p("10.0.0.0/8"), "a");
  t.insert(p("0.0.0.0/0"), "b");
  assert.deepEqual(t.entriesFor("b").map(formatPrefix), [
    "0.0.0.0/0",
    "10.0.0.2/32",
    "fd00::2/128",
  ]);
  assert.deepEqual(t.entriesFor("a").map(formatPrefix), ["10.0.0.0/8"]);
  assert.deepEqual(t.entriesFor("c"), []);
});

Deno.test("AllowedIps.removeValue() drops every prefix of one peer and no other", () => {
  const t = new AllowedIps<string>();
  t.insert(p("10.0.0.0/8"), "a");
  t.insert(p("10.0.0.0/16"), "b");
  t.insert(p("10.0.1.0/24"), "a");
  t.insert(p("2001:db8::/32"), "a");
  t.insert(p("2001:db8::1/128"), "b");
  t.removeValue("a");
  assert.equal(t.size, 2);
  assert.equal(t.lookupIp(parseIp("10.0.1.1")), "b");
  assert.equal(t.lookupIp(parseIp("10.1.0.1")), undefined);
  assert.equal(t.lookupIp(parseIp("2001:db8::2")), undefined);
  assert.deepEqual(t.entries().map(([q, v]) => [formatPrefix(q), v]), [
    ["10.0.0.0/16", "b"],
    ["2001:db8::1/128", "b"],
  ]);
});
