import assert from "node:assert/strict";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { beNonce, ChaChaPoly, wgNonce } from "./aead.ts";

const hex = (s: string) => Uint8Array.from(s.match(/../g)?.map((b) => parseInt(b, 16)) ?? []);
const toHex = (b: Uint8Array) => Array.from(b, (v) => v.toString(16).padStart(2, "0")).join("");

// RFC 8439 §2.8.2.
const V282 = {
  key: hex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"),
  nonce: hex("070000004041424344454647"),
  ad: hex("50515253c0c1c2c3c4c5c6c7"),
  pt: new TextEncoder().encode(
    "Ladies and Gentlemen of the class of '99: If I could offer you only one tip for the future, sunscreen would be it.",
  ),
  sealed: "d31a8d34648e60db7b86afbc53ef7ec2a4aded51296e08fea9e2b5a736ee62d6" +
    "3dbea45e8ca9671282fafb69da92728b1a71de0a9e060b2905d6a5b67ecd3b36" +
    "92ddbd7f2d778b8c9803aee328091b58fab324e4fad675945585808b4831d7bc" +
    "3ff4def08e4b7a9de576d26586cec64b6116" + "1ae10b594f09e26a7e902ecbd0600691",
};

// RFC 8439 Appendix A.5 (decryption).
const A5 = {
  key: hex("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0"),
  nonce: hex("000000000102030405060708"),
  ad: hex("f33388860000000000004e91"),
  sealed: hex(
    "64a0861575861af460f062c79be643bd5e805cfd345cf389f108670ac76c8cb2" +
      "4c6cfc18755d43eea09ee94e382d26b0bdb7b73c321b0100d4f03b7f355894cf" +
      "332f830e710b97ce98c8a84abd0b948114ad176e008d33bd60f982b1ff37c855" +
      "9797a06ef4f0ef61c186324e2b3506383606907b6a7c02b0f9f6157b53c867e4" +
      "b9166c767b804d46a59b5216cde7a4e99040c5a40433225ee282a1b0a06c523e" +
      "af4534d7f83fa1155b0047718cbc546a0d072b04b3564eea1b422273f548271a" +
      "0bb2316053fa76991955ebd63159434ecebb4e466dae5a1073a6727627097a10" +
      "49e617d91d361094fa68f0ff77987130305beaba2eda04df997b714d6c6f2c29" +
      "a6ad5cb4022b02709b" + "eead9d67890cbb22392336fea1851f38",
  ),
  pt: "Internet-Drafts are draft documents valid for a maximum of six months and may be " +
    "updated, replaced, or obsoleted by other documents at any time. It is inappropriate to " +
    "use Internet-Drafts as reference material or to cite them other than as /\u201cwork in " +
    "progress./\u201d",
};

Deno.test("ChaChaPoly.seal() and open() match RFC 8439 §2.8.2", () => {
  const aead = new ChaChaPoly(V282.key);
  assert.equal(toHex(aead.seal(V282.nonce, V282.pt, V282.ad)), V282.sealed);
  assert.deepEqual(aead.open(V282.nonce, hex(V282.sealed), V282.ad), V282.pt);
});

Deno.test("ChaChaPoly.open() decrypts RFC 8439 Appendix A.5", () => {
  const pt = new ChaChaPoly(A5.key).open(A5.nonce, A5.sealed, A5.ad);
  assert.ok(pt);
  assert.equal(new TextDecoder().decode(pt), A5.pt);
});

Deno.test("ChaChaPoly.open() and openInto() reject tampering with null and -1", () => {
  const aead = new ChaChaPoly(V282.key);
  const sealed = hex(V282.sealed);
  const dst = new Uint8Array(200).fill(0xaa);
  for (const i of [0, 50, sealed.length - 1]) {
    const bad = sealed.slice();
    bad[i] ^= 1;
    assert.equal(aead.open(V282.nonce, bad, V282.ad), null, `byte ${i}`);
    assert.equal(aead.openInto(V282.nonce, bad, dst, 0, V282.ad), -1, `byte ${i}`);
  }
  assert.ok(dst.every((b) => b === 0xaa), "a failed openInto leaves dst untouched");
  assert.equal(aead.open(V282.nonce, sealed, hex("50515253c0c1c2c3c4c5c6c8")), null);
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
