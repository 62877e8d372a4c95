import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import { hchacha20, xopen, xseal } from "./xaead.ts";

// draft-irtf-cfrg-xchacha-03 Appendix A.3.1.
const KEY = fromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f");
const NONCE = fromHex("404142434445464748494a4b4c4d4e4f5051525354555657");
const AD = fromHex("50515253c0c1c2c3c4c5c6c7");
const PT = new TextEncoder().encode(
  "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
);
const SEALED = "bd6d179d3e83d43b9576579493c0e939572a1700252bfaccbed2902c21396cbb" +
  "731c7f1b0b4aa6440bf3a82f4eda7e39ae64c6708c54c216cb96b72e1213b452" +
  "2f8c9ba40db5d945b11b69b982c1bb9e3f3fac2bc369488f76b2383565d3fff9" +
  "21f9664c97637da9768812f615c68b13b52e" + "c0875924c1c7987947deafd8780acf49";

Deno.test("xseal() and xopen() match draft-irtf-cfrg-xchacha A.3.1", () => {
  assert.equal(toHex(xseal(KEY, NONCE, PT, AD)), SEALED);
  assert.deepEqual(xopen(KEY, NONCE, fromHex(SEALED), AD), PT);
});

Deno.test("xopen() returns null for a tampered ciphertext, tag, AD or short input", () => {
  const sealed = fromHex(SEALED);
  for (const i of [0, sealed.length - 1]) {
    const bad = sealed.slice();
    bad[i] ^= 0x80;
    assert.equal(xopen(KEY, NONCE, bad, AD), null);
  }
  assert.equal(xopen(KEY, NONCE, sealed, AD.subarray(1)), null);
  assert.equal(xopen(KEY, NONCE, sealed.subarray(0, 10), AD), null);
});

Deno.test("xseal() rejects wrong key and nonce sizes", () => {
  assert.throws(() => xseal(KEY.subarray(1), NONCE, PT), RangeError);
  assert.throws(() => xseal(KEY, NONCE.subarray(12), PT), RangeError);
});

Deno.test("hchacha20() matches draft-irtf-cfrg-xchacha §2.2.1", () => {
  const key = Uint8Array.from({ length: 32 }, (_, i) => i);
  const nonce = new Uint8Array(24);
  nonce.set(fromHex("000000090000004a0000000031415927"));
  assert.equal(
    toHex(hchacha20(key, nonce)),
    "82413b4227b27bfed30e42508a877d73a0f9e4d58a74a853c12ec41326d3ecdc",
  );
});
