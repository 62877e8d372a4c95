import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import { hmac } from "@noble/hashes/hmac.js";
import { blake2s as nobleBlake2s } from "@noble/hashes/blake2.js";
import { blake2s, hmacBlake2s } from "./blake2s.ts";

const seq = (n: number) => Uint8Array.from({ length: n }, (_, i) => i);

Deno.test('blake2s() matches RFC 7693 Appendix B for "abc"', () => {
  assert.equal(
    toHex(blake2s(new TextEncoder().encode("abc"))),
    "508c5e8c327c14e2e1a72ba34eeb452f37458b209ed63a294d999b4c86675982",
  );
});

Deno.test("blake2s() matches the official blake2s-kat.txt keyed vectors (key 00..1f)", () => {
  const key = seq(32);
  assert.equal(
    toHex(blake2s(new Uint8Array(0), 32, key)),
    "48a8997da407876b3d79c0d92325ad3b89cbb754d86ab71aee047ad345fd2c49",
  );
  assert.equal(
    toHex(blake2s(seq(1), 32, key)),
    "40d15fee7c328830166ac3f918650f807e7e01e177258cdc0a39b11f598066f1",
  );
  assert.equal(
    toHex(blake2s(seq(3), 32, key)),
    "1d220dbe2ee134661fdf6d9e74b41704710556f2f6e5a091b227697445dbea6b",
  );
});

Deno.test("blake2s() with a 16-byte output is not a truncated 32-byte digest", () => {
  const data = seq(100);
  const key = seq(32);
  const short = blake2s(data, 16, key);
  assert.equal(short.length, 16);
  assert.notDeepEqual(short, blake2s(data, 32, key).subarray(0, 16));
  assert.deepEqual(short, nobleBlake2s(data, { dkLen: 16, key }));
});

Deno.test("blake2s() rejects bad output and key lengths", () => {
  assert.throws(() => blake2s(seq(1), 0), RangeError);
  assert.throws(() => blake2s(seq(1), 33), RangeError);
  assert.throws(() => blake2s(seq(1), 32, seq(33)), RangeError);
});

Deno.test("hmacBlake2s() of concatenated parts equals noble's HMAC-BLAKE2s", () => {
  const key = seq(32);
  const expected = hmac(nobleBlake2s, key, fromHex("0102030405"));
  assert.deepEqual(hmacBlake2s(key, fromHex("0102"), fromHex("030405")), expected);
  assert.deepEqual(hmacBlake2s(key, fromHex("0102030405")), expected);
  assert.notDeepEqual(hmacBlake2s(seq(31), fromHex("0102030405")), expected);
});

Deno.test("blake2s() keyed or short agrees with noble across block boundaries", () => {
  const data = Uint8Array.from({ length: 200 }, (_, i) => (i * 7 + 3) & 0xff);
  for (const len of [0, 1, 63, 64, 65, 127, 128, 129, 200]) {
    const msg = data.subarray(0, len);
    for (
      const [outLen, key] of [[16, data.subarray(0, 16)], [31, undefined], [32, data]] as const
    ) {
      const k = key?.subarray(0, 32);
      assert.deepEqual(blake2s(msg, outLen, k), nobleBlake2s(msg, { dkLen: outLen, key: k }));
    }
  }
});
