import assert from "node:assert/strict";
import { xsalsa20poly1305 } from "@noble/ciphers/salsa.js";
import {
  boxBeforeNm,
  boxOpen,
  boxOpenAfterNm,
  boxSeal,
  boxSealAfterNm,
  openFrom,
  sealTo,
} from "./nacl_box.ts";
import { fromHex, toHex } from "../bytes/hex.ts";
import { parseNodePublic, parsePrivate } from "../key/node_key.ts";

const fixture = JSON.parse(
  await Deno.readTextFile(
    new URL(
      "../../../shared/fixtures/derp-handshake-tailscaled-1.96.5-headscale-0.28.json",
      import.meta.url,
    ),
  ),
);
const clientPriv = parsePrivate(fixture.client_node_private);
const clientPub = parseNodePublic(fixture.client_node_public);
const serverPriv = parsePrivate(fixture.server_private);
const serverPub = parseNodePublic(fixture.server_public);

Deno.test("openFrom() opens tailscaled's captured ClientInfo box", () => {
  const payload = fromHex(fixture.client_frames_hex[0]).subarray(5);
  const msg = openFrom(payload.subarray(32), clientPub, serverPriv);
  assert.ok(msg);
  assert.equal(new TextDecoder().decode(msg), fixture.client_info_json);
});

Deno.test("openFrom() opens Headscale's captured ServerInfo box with the client key", () => {
  const payload = fromHex(fixture.server_info_frame_hex).subarray(5);
  const msg = openFrom(payload, serverPub, clientPriv);
  assert.equal(new TextDecoder().decode(msg!), fixture.server_info_json);
});

Deno.test("boxSeal() reproduces the captured box byte for byte with its nonce", () => {
  const payload = fromHex(fixture.client_frames_hex[0]).subarray(5 + 32);
  const nonce = payload.subarray(0, 24);
  const box = boxSeal(
    new TextEncoder().encode(fixture.client_info_json),
    nonce,
    serverPub,
    clientPriv,
  );
  assert.equal(toHex(box), toHex(payload.subarray(24)));
});

Deno.test("boxBeforeNm() is symmetric between the two key pairs", () => {
  assert.deepEqual(boxBeforeNm(serverPub, clientPriv), boxBeforeNm(clientPub, serverPriv));
});

Deno.test("boxOpen() rejects a flipped bit, a wrong key, a short box", () => {
  const nonce = new Uint8Array(24).fill(7);
  const box = boxSeal(new Uint8Array([1, 2, 3]), nonce, serverPub, clientPriv);
  assert.deepEqual(boxOpen(box, nonce, clientPub, serverPriv), new Uint8Array([1, 2, 3]));
  const bad = box.slice();
  bad[bad.length - 1] ^= 1;
  assert.equal(boxOpen(bad, nonce, clientPub, serverPriv), null);
  assert.equal(boxOpen(box, nonce, serverPub, serverPriv), null);
  assert.equal(boxOpen(box.subarray(0, 15), nonce, clientPub, serverPriv), null);
  assert.throws(() => boxOpen(box, new Uint8Array(23), clientPub, serverPriv), RangeError);
});

Deno.test("sealTo() and openFrom() round-trip with a fresh nonce each time", () => {
  const m = new TextEncoder().encode("hello");
  const a = sealTo(m, serverPub, clientPriv);
  const b = sealTo(m, serverPub, clientPriv);
  assert.notDeepEqual(a, b);
  assert.equal(a.length, 24 + 16 + 5);
  assert.deepEqual(openFrom(a, clientPub, serverPriv), m);
  assert.equal(openFrom(a.subarray(0, 39), clientPub, serverPriv), null);
});

Deno.test("boxOpen() returns null for a low-order public key instead of throwing", () => {
  const box = new Uint8Array(32);
  assert.equal(boxOpen(box, new Uint8Array(24), new Uint8Array(32), serverPriv), null);
  const one = new Uint8Array(32);
  one[0] = 1;
  assert.equal(boxOpen(box, new Uint8Array(24), one, serverPriv), null);
});

// NaCl's own crypto_box test (tests/box.c, box2.c, box7.c): Alice's secret key,
// Bob's public key (the RFC 7748 §6.1 pair), their beforenm key and the box.
const NACL_ALICE_SK = "77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a";
const NACL_BOB_PK = "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f";
const NACL_FIRSTKEY = "1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389";
const NACL_NONCE = "69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37";
const NACL_MSG = "be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffc" +
  "e5ecbaaf33bd751a1ac728d45e6c61296cdc3c01233561f41db66cce314adb31" +
  "0e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde" +
  "048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f93776384864" +
  "5e0705";
const NACL_BOX = "f3ffc7703f9400e52a7dfb4b3d3305d98e993b9f48681273c29650ba32fc76ce" +
  "48332ea7164d96a4476fb8c531a1186ac0dfc17c98dce87b4da7f011ec48c972" +
  "71d2c20f9b928fe2270d6fb863d51738b48eeee314a7cc8ab932164548e526ae" +
  "90224368517acfeabd6bb3732bc0e9da99832b61ca01b6de56244a9e88d5f9b3" +
  "7973f622a43d14a6599b1f654cb45a74e355a5";

Deno.test("boxBeforeNm() and boxSeal() match NaCl's crypto_box test vector", () => {
  const sk = fromHex(NACL_ALICE_SK), pk = fromHex(NACL_BOB_PK), nonce = fromHex(NACL_NONCE);
  assert.equal(toHex(boxBeforeNm(pk, sk)), NACL_FIRSTKEY);
  assert.equal(toHex(boxSeal(fromHex(NACL_MSG), nonce, pk, sk)), NACL_BOX);
  assert.equal(toHex(boxSealAfterNm(fromHex(NACL_MSG), nonce, fromHex(NACL_FIRSTKEY))), NACL_BOX);
});

Deno.test("boxOpenAfterNm() opens NaCl's crypto_box test vector and rejects tampering", () => {
  const key = fromHex(NACL_FIRSTKEY), nonce = fromHex(NACL_NONCE), box = fromHex(NACL_BOX);
  assert.equal(toHex(boxOpenAfterNm(box, nonce, key)!), NACL_MSG);
  for (const i of [0, 15, 16, box.length - 1]) {
    const bad = box.slice();
    bad[i] ^= 0x80;
    assert.equal(boxOpenAfterNm(bad, nonce, key), null, `flipped byte ${i}`);
  }
  const wrongNonce = nonce.slice();
  wrongNonce[23] ^= 1;
  assert.equal(boxOpenAfterNm(box, wrongNonce, key), null);
});

Deno.test("boxSealAfterNm() agrees with @noble/ciphers xsalsa20poly1305 for lengths 0..2000", () => {
  const lengths = [0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 95, 96, 97, 128, 1200, 2000];
  for (let i = 0; i < 40; i++) lengths.push(Math.floor(Math.random() * 2001));
  for (const len of lengths) {
    const key = crypto.getRandomValues(new Uint8Array(32));
    const nonce = crypto.getRandomValues(new Uint8Array(24));
    const msg = crypto.getRandomValues(new Uint8Array(len));
    const ours = boxSealAfterNm(msg, nonce, key);
    const theirs = xsalsa20poly1305(key, nonce).encrypt(msg);
    assert.equal(toHex(ours), toHex(theirs), `length ${len}`);
    assert.deepEqual(boxOpenAfterNm(theirs, nonce, key), msg, `length ${len}`);
    const bad = theirs.slice();
    bad[Math.floor(Math.random() * bad.length)] ^= 1 << Math.floor(Math.random() * 8);
    assert.equal(boxOpenAfterNm(bad, nonce, key), null, `tampered, length ${len}`);
  }
});

Deno.test("boxSealAfterNm() and boxOpenAfterNm() handle messages beyond the wasm scratch area", () => {
  const key = crypto.getRandomValues(new Uint8Array(32));
  const nonce = crypto.getRandomValues(new Uint8Array(24));
  const msg = new Uint8Array(200_000).map((_, i) => (i * 131 + (i >> 8)) & 0xff);
  const box = boxSealAfterNm(msg, nonce, key);
  assert.deepEqual(box, xsalsa20poly1305(key, nonce).encrypt(msg));
  assert.deepEqual(boxOpenAfterNm(box, nonce, key), msg);
  box[100_000] ^= 1;
  assert.equal(boxOpenAfterNm(box, nonce, key), null);
});

Deno.test("boxSealAfterNm() and boxOpenAfterNm() reject a bad key or nonce length", () => {
  const n = new Uint8Array(24), k = new Uint8Array(32), m = new Uint8Array(4);
  assert.throws(() => boxSealAfterNm(m, n, new Uint8Array(31)), RangeError);
  assert.throws(() => boxOpenAfterNm(new Uint8Array(20), n, new Uint8Array(33)), RangeError);
  assert.throws(() => boxSealAfterNm(m, new Uint8Array(25), k), RangeError);
  assert.equal(boxOpenAfterNm(new Uint8Array(15), n, k), null);
});
