import assert from "node:assert/strict";
import { canonicalName, nameLabels, readName } from "./name.ts";

Deno.test("canonicalName() lower-cases and adds the trailing dot", () => {
  assert.equal(canonicalName("Node-A.TSLAB.test"), "node-a.tslab.test.");
  assert.equal(canonicalName("x."), "x.");
});

Deno.test("nameLabels() reads a final label ending in a backslash byte before the root dot", () => {
  // readName's text for the wire labels 61 5c / 2e 5c: "a\\\\." and "\\.\\\\." (found by fuzzing).
  assert.deepEqual(nameLabels("a\\\\."), [Uint8Array.of(0x61, 0x5c)]);
  assert.deepEqual(nameLabels("a\\\\"), [Uint8Array.of(0x61, 0x5c)]);
  assert.deepEqual(nameLabels("\\.\\\\."), [Uint8Array.of(0x2e, 0x5c)]);
  assert.deepEqual(nameLabels("x\\."), [Uint8Array.of(0x78, 0x2e)], "an escaped final dot");
  assert.throws(() => nameLabels("a.."), /empty label/);
  assert.throws(() => nameLabels("a\\"), /dangling backslash/);
});

Deno.test("readName() text goes back through nameLabels() for labels that need escapes", () => {
  const wire = Uint8Array.of(2, 0x61, 0x5c, 3, 0x2e, 0x20, 0x5c, 2, 0x00, 0xff, 1, 0x5c, 0);
  const { name } = readName(wire, 0);
  assert.equal(name, "a\\\\.\\.\\032\\\\.\\000\\255.\\\\.");
  const labels = nameLabels(name);
  assert.deepEqual(labels.flatMap((l) => [l.length, ...l]).concat(0), [...wire]);
});
