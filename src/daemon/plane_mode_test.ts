import assert from "node:assert/strict";
import { choosePlaneMode } from "./plane_mode.ts";

Deno.test("choosePlaneMode: WARREN_DATAPLANE decides; unset, a Worker only with a second CPU to run it", () => {
  assert.equal(choosePlaneMode("pool", 8), "pool");
  assert.equal(choosePlaneMode("worker", 1), "worker");
  assert.equal(choosePlaneMode(undefined, 2), "worker");
  assert.equal(choosePlaneMode(undefined, 1), "pool");
  assert.equal(choosePlaneMode("bogus", 1), "pool", "an unknown value is as unset");
});
