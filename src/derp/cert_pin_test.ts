import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { certPin } from "./cert_pin.ts";

Deno.test('certPin: FIPS 180-2\'s SHA-256 of "abc", as lowercase hex', () => {
  assert.equal(
    certPin(new TextEncoder().encode("abc")),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("certPin: agrees with node:crypto for DER-sized inputs across block boundaries", () => {
  for (const len of [0, 1, 55, 56, 63, 64, 65, 1000, 1500]) {
    const der = crypto.getRandomValues(new Uint8Array(len));
    assert.equal(certPin(der), createHash("sha256").update(der).digest("hex"), `${len} bytes`);
  }
});
