import assert from "node:assert/strict";
import { fetchServerKey, parseServerKeyResponse } from "./server_key.ts";
import { ControlError } from "./errors.ts";

const FIXTURE = JSON.parse(
  Deno.readTextFileSync(
    new URL("./testdata/ts2021-handshake-tailscaled-1.96.5-headscale-0.28.json", import.meta.url),
  ),
);
const HEX = "ef88c4122da3695c9d67e39e263513bf832f453d85c11999b99e6794a6aef91e";

Deno.test("parseServerKeyResponse() reads Headscale's real /key JSON and the legacy bare hex", () => {
  const key = parseServerKeyResponse(JSON.stringify(FIXTURE.get_key_response));
  assert.equal(key[0], 0xef);
  assert.equal(key[31], 0x1e);
  assert.deepEqual(parseServerKeyResponse(HEX + "\n"), key);
});

Deno.test("parseServerKeyResponse() rejects an empty body, junk and a zero key", () => {
  for (const body of ["", "<html>", '{"publicKey":"mkey:' + "0".repeat(64) + '"}']) {
    assert.throws(
      () => parseServerKeyResponse(body),
      (e) => e instanceof ControlError && e.kind === "protocol",
    );
  }
});

Deno.test("fetchServerKey() sends v=<capver> and maps HTTP errors", async () => {
  let asked = "";
  const fake = ((url: URL) => {
    asked = url.toString();
    return Promise.resolve(
      url.hostname === "bad.example"
        ? new Response("nope", { status: 503 })
        : new Response(JSON.stringify(FIXTURE.get_key_response)),
    );
  }) as unknown as typeof fetch;
  const key = await fetchServerKey("http://hs.example:8080", 113, { fetch: fake });
  assert.equal(asked, "http://hs.example:8080/key?v=113");
  assert.equal(key.length, 32);
  await assert.rejects(
    fetchServerKey("https://bad.example", 113, { fetch: fake }),
    (e) =>
      e instanceof ControlError && e.status === 503 &&
      e.message === "control: GET /key on https://bad.example returned HTTP 503: nope",
  );
});
