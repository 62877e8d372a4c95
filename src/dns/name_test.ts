import assert from "node:assert/strict";
import { canonicalName } from "./name.ts";

Deno.test("canonicalName() lower-cases and adds the trailing dot", () => {
  assert.equal(canonicalName("Node-A.TSLAB.test"), "node-a.tslab.test.");
  assert.equal(canonicalName("x."), "x.");
});
