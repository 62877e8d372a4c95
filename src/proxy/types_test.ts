import assert from "node:assert/strict";
import { dialFailureOf, ProxyDialError } from "./types.ts";

Deno.test("dialFailureOf() classifies proxy, Deno and resolver errors", () => {
  assert.equal(dialFailureOf(new ProxyDialError("timeout", "x")), "timeout");
  assert.equal(dialFailureOf(new Deno.errors.ConnectionRefused("x")), "refused");
  assert.equal(dialFailureOf(new Deno.errors.TimedOut("x")), "timeout");
  assert.equal(dialFailureOf(new DOMException("x", "TimeoutError")), "timeout");
  assert.equal(dialFailureOf(new Deno.errors.NetworkUnreachable("x")), "unreachable");
  // What Deno.connect throws for a name that does not resolve.
  assert.equal(
    dialFailureOf(new Error("failed to lookup address information: Name or service not known")),
    "unreachable",
  );
  assert.equal(dialFailureOf(new Error("something else")), "failed");
  assert.equal(dialFailureOf("a string"), "failed");
});
