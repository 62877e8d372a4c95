import assert from "node:assert/strict";
import { credentialsMatch } from "./credentials.ts";

Deno.test("credentialsMatch() needs both fields exactly, prefixes and swaps included", () => {
  const want = { username: "alice", password: "pä55:word" };
  assert.equal(credentialsMatch(want, "alice", "pä55:word"), true);
  assert.equal(credentialsMatch(want, "alice", "pä55:wor"), false);
  assert.equal(credentialsMatch(want, "alic", "pä55:word"), false);
  assert.equal(credentialsMatch(want, "pä55:word", "alice"), false);
  assert.equal(credentialsMatch(want, "", ""), false);
  assert.equal(credentialsMatch({ username: "", password: "" }, "", ""), true);
});
