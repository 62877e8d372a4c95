import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { beNonce, ChaChaPoly, wgNonce } from "./aead.ts";
import { A5, V282 } from "./_rfc8439_test_util.ts";

Deno.test("ChaChaPoly.seal() and open() match RFC 8439 §2.8.2", () => {
  const aead = new ChaChaPoly(V282.key);
  assert.equal(toHex(aead.seal(V282.nonce, V282.pt, V282.ad)), V282.sealed);
  assert.deepEqual(aead.open(V282.nonce, fromHex(V282.sealed), V282.ad), V282.pt);
});

Deno.test("ChaChaPoly.open() decrypts RFC 8439 Appendix A.5", () => {
  const pt = new ChaChaPoly(A5.key).open(A5.nonce, A5.sealed, A5.ad);
  assert.ok(pt);
  assert.equal(new TextDecoder().decode(pt), A5.pt);
});

Deno.test("ChaChaPoly.open() and openInto() reject tampering with null and -1", () => {
  const aead = new ChaChaPoly(V282.key);
  const sealed = fromHex(V282.sealed);
  const dst = new Uint8Array(200).fill(0xaa);
  for (const i of [0, 50, sealed.length - 1]) {
    const bad = sealed.slice();
    bad[i] ^= 1;
    assert.equal(aead.open(V282.nonce, bad, V282.ad), null, `byte ${i}`);
    assert.equal(aead.openInto(V282.nonce, bad, dst, 0, V282.ad), -1, `byte ${i}`);
  }
  assert.ok(dst.every((b) => b === 0xaa), "a failed openInto leaves dst untouched");
  assert.equal(aead.open(V282.nonce, sealed, fromHex("50515253c0c1c2c3c4c5c6c8")), null);
  assert.equal(aead.open(V282.nonce, sealed), null);
  assert.equal(aead.open(wgNonce(7), sealed, V282.ad), null);
  assert.equal(aead.open(V282.nonce, sealed.subarray(0, 15)), null);
  assert.equal(aead.openInto(V282.nonce, sealed.subarray(0, 15), dst, 0), -1);
});

Deno.test("ChaChaPoly.sealInto() and openInto() work at offsets and in place", () => {
  const aead = new ChaChaPoly(V282.key);
  const buf = new Uint8Array(16 + V282.pt.length + 16);
  buf.set(V282.pt, 16);
  const n = aead.sealInto(V282.nonce, buf.subarray(16, 16 + V282.pt.length), buf, 16, V282.ad);
  assert.equal(n, V282.pt.length + 16);
  assert.equal(toHex(buf.subarray(16)), V282.sealed);
  const m = aead.openInto(V282.nonce, buf.subarray(16), buf, 16, V282.ad);
  assert.equal(m, V282.pt.length);
  assert.deepEqual(buf.subarray(16, 16 + m), V282.pt);
  assert.throws(() => aead.sealInto(V282.nonce, V282.pt, new Uint8Array(10), 0), RangeError);
});

Deno.test("ChaChaPoly agrees with noble for an empty and a 1420-byte packet with a WireGuard nonce", () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const aead = new ChaChaPoly(key);
  for (const len of [0, 1420]) {
    const pt = crypto.getRandomValues(new Uint8Array(len));
    const nonce = wgNonce(2 ** 40 + 5);
    assert.deepEqual(aead.seal(nonce, pt), chacha20poly1305(key, nonce).encrypt(pt));
  }
});

Deno.test("ChaChaPoly rejects keys that are not 32 bytes", () => {
  assert.throws(() => new ChaChaPoly(new Uint8Array(16)), RangeError);
});

Deno.test("wgNonce() is 4 zero bytes and a little-endian u64; beNonce() is big-endian", () => {
  assert.equal(toHex(wgNonce(0)), "000000000000000000000000");
  assert.equal(toHex(wgNonce(0x01020304050607)), "000000000706050403020100");
  assert.equal(toHex(wgNonce(Number.MAX_SAFE_INTEGER)), "00000000ffffffffffff1f00");
  assert.equal(toHex(beNonce(0x01020304050607)), "000000000001020304050607");
  assert.equal(toHex(beNonce(Number.MAX_SAFE_INTEGER)), "00000000001fffffffffffff");
  const out = new Uint8Array(12).fill(9);
  assert.equal(wgNonce(1, out), out);
  assert.equal(toHex(out), "000000000100000000000000");
  assert.throws(() => wgNonce(-1), RangeError);
  assert.throws(() => wgNonce(2 ** 53), RangeError);
  assert.throws(() => beNonce(1.5), RangeError);
});
