import assert from "node:assert/strict";
import { toHex } from "../bytes/hex.ts";
import { SymmetricState } from "./symmetric_state.ts";
import { CipherState } from "./cipher_state.ts";

const EMPTY = new Uint8Array(0);

Deno.test("SymmetricState hashes WireGuard's 37-byte construction and identifier to the known constants", () => {
  // Ci and Hi as published in rustyguard's crypto module (and derivable from the whitepaper §5.4).
  const ss = new SymmetricState("Noise_IKpsk2_25519_ChaChaPoly_BLAKE2s");
  assert.equal(toHex(ss.ck), "60e26daef327efc02ec335e2a025d2d016eb4206f87277f52d38d1988b78cd36");
  ss.mixHash(new TextEncoder().encode("WireGuard v1 zx2c4 Jason@zx2c4.com"));
  assert.equal(toHex(ss.h), "2211b361081ac566691243db458ad5322d9c6c662293e8b70ee19c65ba079ef3");
});

Deno.test("SymmetricState zero-pads protocol names of 32 bytes or less", () => {
  const ss = new SymmetricState("Noise_IK_25519_ChaChaPoly_BLAKE2s".slice(0, 32));
  assert.equal(new TextDecoder().decode(ss.h.subarray(0, 32)), "Noise_IK_25519_ChaChaPoly_BLAKE2");
  const short = new SymmetricState("abc");
  assert.deepEqual(short.h, new Uint8Array([97, 98, 99, ...new Uint8Array(29)]));
  assert.deepEqual(short.ck, short.h);
});

Deno.test("SymmetricState passes plaintext through before a key and encrypts after", () => {
  const a = new SymmetricState("x");
  const b = new SymmetricState("x");
  const pt = new Uint8Array([1, 2, 3]);
  assert.deepEqual(a.encryptAndHash(pt), pt);
  assert.deepEqual(b.decryptAndHash(pt), pt);
  a.mixKey(new Uint8Array(32).fill(4));
  b.mixKey(new Uint8Array(32).fill(4));
  const ct = a.encryptAndHash(pt);
  assert.equal(ct.length, 19);
  const bad = b.clone();
  const tampered = ct.slice();
  tampered[0] ^= 1;
  assert.throws(() => bad.decryptAndHash(tampered), /did not authenticate/);
  assert.deepEqual(b.decryptAndHash(ct), pt);
  assert.deepEqual(a.h, b.h);
  a.mixKeyAndHash(new Uint8Array(32).fill(9));
  b.mixKeyAndHash(new Uint8Array(32).fill(9));
  assert.deepEqual(a.split(), b.split());
  assert.notDeepEqual(a.split()[0], a.split()[1]);
});

Deno.test("CipherState counts nonces and does not advance on a failed decrypt", () => {
  const key = new Uint8Array(32).fill(1);
  const tx = new CipherState(key);
  const rx = new CipherState(key);
  const c0 = tx.encryptWithAd(EMPTY, new Uint8Array([0]));
  const c1 = tx.encryptWithAd(EMPTY, new Uint8Array([1]));
  assert.equal(tx.n, 2);
  assert.throws(() => rx.decryptWithAd(EMPTY, c1));
  assert.equal(rx.n, 0);
  assert.deepEqual(rx.decryptWithAd(EMPTY, c0), new Uint8Array([0]));
  assert.deepEqual(rx.decryptWithAd(EMPTY, c1), new Uint8Array([1]));
  assert.equal(new CipherState().hasKey(), false);
});
