import assert from "node:assert/strict";
import { nodeFqdn, sanitizeHostname, uniqueGivenName } from "./names.ts";

Deno.test("sanitizeHostname makes a DNS label of a reported hostname", () => {
  assert.equal(sanitizeHostname("node-a"), "node-a");
  assert.equal(sanitizeHostname("My_Laptop.local"), "my-laptop");
  assert.equal(sanitizeHostname("  --Büro PC!! "), "b-ro-pc");
  assert.equal(sanitizeHostname("..."), "");
  assert.equal(sanitizeHostname("a".repeat(80)).length, 63);
});

Deno.test("uniqueGivenName bumps a taken label as base-1, base-2", () => {
  assert.equal(uniqueGivenName("laptop", new Set()), "laptop");
  assert.equal(uniqueGivenName("laptop", new Set(["laptop"])), "laptop-1");
  assert.equal(uniqueGivenName("laptop", new Set(["laptop", "laptop-1"])), "laptop-2");
  assert.equal(uniqueGivenName("", new Set(["node"])), "node-1");
});

Deno.test("nodeFqdn matches the fixture's Node.Name form", () => {
  assert.equal(nodeFqdn("node-b", "tslab.test"), "node-b.tslab.test.");
  assert.equal(nodeFqdn("node-b", ""), "node-b");
});
