import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import { hmac } from "@noble/hashes/hmac.js";
import { blake2s } from "@noble/hashes/blake2.js";
import { hkdf, noiseKdf } from "./hkdf.ts";

const range = (from: number, to: number) =>
  Uint8Array.from({ length: to - from + 1 }, (_, i) => from + i);

Deno.test("hkdf() matches RFC 5869 A.1 (SHA-256 basic case)", () => {
  const okm = hkdf("sha256", range(0, 0x0c), new Uint8Array(22).fill(0x0b), range(0xf0, 0xf9), 42);
  assert.equal(
    toHex(okm),
    "3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf34007208d5b887185865",
  );
});

Deno.test("hkdf() matches RFC 5869 A.2 (SHA-256 with longer inputs and outputs)", () => {
  const okm = hkdf("sha256", range(0x60, 0xaf), range(0, 0x4f), range(0xb0, 0xff), 82);
  assert.equal(
    toHex(okm),
    "b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c" +
      "59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71" +
      "cc30c58179ec3e87c14c01d5c1f3434f1d87",
  );
});

Deno.test("hkdf() matches RFC 5869 A.3 (SHA-256 with empty salt and info)", () => {
  const okm = hkdf(
    "sha256",
    new Uint8Array(0),
    new Uint8Array(22).fill(0x0b),
    new Uint8Array(0),
    42,
  );
  assert.equal(
    toHex(okm),
    "8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d9d201395faa4b61a96c8",
  );
});

Deno.test("hkdf() rejects unknown hashes and oversized outputs", () => {
  const z = new Uint8Array(0);
  // @ts-expect-error: testing a runtime check
  assert.throws(() => hkdf("md5", z, z, z, 32), TypeError);
  assert.throws(() => hkdf("sha256", z, z, z, 255 * 32 + 1), RangeError);
});

Deno.test("noiseKdf() follows the Noise HKDF definition built from HMAC-BLAKE2s", () => {
  const ck = range(0, 31);
  const input = range(100, 140);
  const mac = (k: Uint8Array, d: Uint8Array) => hmac(blake2s, k, d);
  const temp = mac(ck, input);
  const o1 = mac(temp, fromHex("01"));
  const o2 = mac(temp, new Uint8Array([...o1, 2]));
  const o3 = mac(temp, new Uint8Array([...o2, 3]));
  assert.deepEqual(noiseKdf(ck, input, 1), [o1]);
  assert.deepEqual(noiseKdf(ck, input, 2), [o1, o2]);
  assert.deepEqual(noiseKdf(ck, input, 3), [o1, o2, o3]);
  // The Noise KDF is RFC 5869 HKDF with the chaining key as salt and empty info.
  assert.deepEqual(
    hkdf("blake2s", ck, input, new Uint8Array(0), 96),
    new Uint8Array([...o1, ...o2, ...o3]),
  );
});
