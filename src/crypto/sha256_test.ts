import assert from "node:assert/strict";
import { createHash, createHmac } from "node:crypto";
import { hmacSha256, Sha256, sha256 } from "./sha256.ts";
import { toHex } from "../bytes/hex.ts";

Deno.test("sha256() matches FIPS 180-4's abc vector", () => {
  assert.equal(
    toHex(sha256(new TextEncoder().encode("abc"))),
    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad",
  );
});

Deno.test("HMAC-SHA256 matches RFC 4231 test case 2", () => {
  const mac = hmacSha256(
    new TextEncoder().encode("Jefe"),
    new TextEncoder().encode("what do ya want for nothing?"),
  );
  assert.equal(toHex(mac), "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
});

Deno.test("sha256, copy() mid-stream and HMAC agree with node:crypto at block edges", () => {
  for (const n of [0, 1, 55, 56, 63, 64, 65, 119, 128, 1000]) {
    const d = crypto.getRandomValues(new Uint8Array(n));
    const key = crypto.getRandomValues(new Uint8Array((n * 7) % 131)); // over 64 too
    const want = createHash("sha256").update(d).digest("hex");
    assert.equal(toHex(sha256(d)), want, `length ${n}`);
    const h = new Sha256().update(d.subarray(0, n >> 1));
    const c = h.copy();
    h.update(d.subarray(n >> 1));
    c.update(d.subarray(n >> 1));
    assert.equal(toHex(h.digest()), want);
    assert.equal(toHex(c.digest()), want);
    assert.equal(toHex(h.reset().update(d).digest()), want);
    assert.equal(
      toHex(hmacSha256(key, d.subarray(0, 3), d.subarray(3))),
      createHmac("sha256", key).update(d).digest("hex"),
    );
  }
});
