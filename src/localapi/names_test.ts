import assert from "node:assert/strict";
import { goTime, isTailscaleIp, magicDnsSuffixOf, singleIp, trimDnsSuffix } from "./names.ts";

Deno.test("helpers: singleIp, goTime, trimDnsSuffix, magicDnsSuffixOf, isTailscaleIp", () => {
  assert.equal(singleIp("100.64.0.1/32"), "100.64.0.1");
  assert.equal(singleIp("fd7a::1/128"), "fd7a::1");
  assert.equal(singleIp("10.0.0.0/24"), null);
  assert.equal(goTime(0), "0001-01-01T00:00:00Z");
  assert.equal(goTime(Date.parse("2026-12-01T22:15:36.900Z")), "2026-12-01T22:15:36.9Z");
  assert.equal(goTime(Date.parse("2026-12-01T22:15:36.000Z")), "2026-12-01T22:15:36Z");
  assert.equal(trimDnsSuffix("ts-a.tslab.test.", "tslab.test"), "ts-a");
  assert.equal(trimDnsSuffix("ts-a.other.", "tslab.test"), "ts-a.other");
  assert.equal(magicDnsSuffixOf("ts-b.tslab.test."), "tslab.test");
  assert.equal(isTailscaleIp("100.64.0.1"), true);
  assert.equal(isTailscaleIp("100.115.92.1"), false);
  assert.equal(isTailscaleIp("10.98.8.0"), false);
  assert.equal(isTailscaleIp("fd7a:115c:a1e0::1"), true);
});
