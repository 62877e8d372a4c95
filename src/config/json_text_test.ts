import assert from "node:assert/strict";
import { duplicateKeys, standardizeHujson } from "./json_text.ts";

Deno.test("standardizeHujson() blanks comments and trailing commas, keeping positions", () => {
  const hujson = `{
  // the office
  "a": [1, 2,], /* two */
  "b": {"c": "x // not a comment, /* nor this */",},
}`;
  const std = standardizeHujson(hujson);
  assert.equal(std.length, hujson.length);
  assert.equal(std.split("\n").length, hujson.split("\n").length);
  assert.deepEqual(JSON.parse(std), {
    a: [1, 2],
    b: { c: "x // not a comment, /* nor this */" },
  });
});

Deno.test("standardizeHujson() leaves plain JSON, escaped quotes and inner commas alone", () => {
  const json = `{"a": "q\\"//,}", "b": [1, 2], "c": {}}`;
  assert.equal(standardizeHujson(json), json);
});

Deno.test("standardizeHujson() leaves an unterminated comment for JSON.parse to reject", () => {
  const text = `{"a": 1 /* open`;
  assert.equal(standardizeHujson(text), text);
  assert.throws(() => JSON.parse(standardizeHujson(text)), SyntaxError);
});

Deno.test("duplicateKeys() names every key given twice in one object, with its path", () => {
  assert.deepEqual(
    duplicateKeys(
      `{"networks": {"a": {"tailnet": {"port": 1, "port": 2}}, "b": {}, "a": {}},` +
        ` "x": [{"k": 1, "k": 2}], "networks": 1}`,
    ),
    ["networks.a.tailnet.port", "networks.a", "x[0].k", "networks"],
  );
  assert.deepEqual(duplicateKeys(`{"a": {"a": {"a": [true, null, -1.5e3, "s"]}}}`), []);
  assert.deepEqual(duplicateKeys(`{"a\\u0062": 1, "ab": 2}`), ["ab"]);
});
