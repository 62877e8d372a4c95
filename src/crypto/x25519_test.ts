import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import { x25519 } from "@noble/curves/ed25519.js";
import { clamp, generatePrivateKey, publicKeyFrom, sharedSecret } from "./x25519.ts";
import { x25519Wasm } from "./x25519_wasm.ts";
import { mulberry32 } from "../testing/prng.ts";
import { nodeSharedSecret } from "./_x25519_node.ts";

// The key-agreement API (on the wasm X25519 since node:crypto left the node's graph) and the
// wasm primitive under it.
const implementations: [string, (k: Uint8Array, u: Uint8Array) => Uint8Array][] = [
  ["sharedSecret()", sharedSecret],
  ["x25519Wasm()", x25519Wasm],
];

for (const [name, dh] of implementations) {
  Deno.test(`${name} matches the RFC 7748 §5.2 X25519 vectors`, () => {
    assert.equal(
      toHex(dh(
        fromHex("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4"),
        fromHex("e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c"),
      )),
      "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552",
    );
    // The second vector's u has bit 255 set, which X25519 must ignore.
    assert.equal(
      toHex(dh(
        fromHex("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d"),
        fromHex("e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493"),
      )),
      "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957",
    );
  });

  Deno.test(`${name} matches the RFC 7748 §5.2 iterated vector after 1 and 1000 rounds`, () => {
    let k: Uint8Array = fromHex("0900000000000000000000000000000000000000000000000000000000000000");
    let u: Uint8Array = k.slice();
    for (let i = 1; i <= 1000; i++) {
      const next = dh(k, u);
      u = k;
      k = next;
      if (i === 1) {
        assert.equal(toHex(k), "422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
      }
    }
    assert.equal(toHex(k), "684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
  });

  Deno.test(`${name} throws RangeError for low-order points`, () => {
    const priv = generatePrivateKey();
    const lowOrder = [
      "0000000000000000000000000000000000000000000000000000000000000000",
      "0100000000000000000000000000000000000000000000000000000000000000",
      "e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800",
      "5f9c95bca3508c24b1d0b1559c83ef5b04445cc4581c8e86d8224eddd09f1157",
      "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    ];
    for (const p of lowOrder) assert.throws(() => dh(priv, fromHex(p)), RangeError, p);
  });
}

Deno.test("publicKeyFrom() and sharedSecret() match the RFC 7748 §6.1 Diffie-Hellman example", () => {
  const alicePriv = fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const bobPriv = fromHex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
  const alicePub = publicKeyFrom(alicePriv);
  const bobPub = publicKeyFrom(bobPriv);
  assert.equal(toHex(alicePub), "8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  assert.equal(toHex(bobPub), "de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
  const k = "4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742";
  assert.equal(toHex(sharedSecret(alicePriv, bobPub)), k);
  assert.equal(toHex(sharedSecret(bobPriv, alicePub)), k);
});

Deno.test("generatePrivateKey() returns clamped random keys that agree with noble", () => {
  const a = generatePrivateKey();
  const b = generatePrivateKey();
  assert.notDeepEqual(a, b);
  for (const k of [a, b]) {
    assert.equal(k.length, 32);
    assert.equal(k[0] & 7, 0);
    assert.equal(k[31] & 0xc0, 0x40);
  }
  assert.deepEqual(
    sharedSecret(a, publicKeyFrom(b)),
    x25519.getSharedSecret(b, x25519.getPublicKey(a)),
  );
});

Deno.test("clamp() and the key functions reject keys that are not 32 bytes", () => {
  assert.throws(() => clamp(new Uint8Array(31)), RangeError);
  assert.throws(() => publicKeyFrom(new Uint8Array(33)), RangeError);
  assert.throws(() => sharedSecret(new Uint8Array(32), new Uint8Array(16)), RangeError);
});

Deno.test("x25519Wasm() agrees with node:crypto and noble on seeded random keys and points", () => {
  const rand = mulberry32(25519);
  const bytes = () => Uint8Array.from({ length: 32 }, () => Math.floor(rand() * 256));
  for (let i = 0; i < 300; i++) {
    const k = bytes();
    // Random u (top bit set half the time), real public keys, and u >= p (non-canonical).
    const u = i % 3 === 0 ? bytes() : i % 3 === 1 ? publicKeyFrom(bytes()) : bytes().fill(0xff, 1);
    if (i % 3 === 2) u[0] = 0xed + (i % 19);
    let want: Uint8Array | null;
    try {
      want = x25519.getSharedSecret(k, u);
    } catch {
      want = null; // noble refuses an all-zero result too
    }
    if (want === null) {
      assert.throws(() => x25519Wasm(k, u), RangeError);
      continue;
    }
    assert.equal(toHex(x25519Wasm(k, u)), toHex(want), `k=${toHex(k)} u=${toHex(u)}`);
    if (i % 3 === 1) assert.equal(toHex(nodeSharedSecret(k, u)), toHex(want));
  }
});

Deno.test("x25519Wasm() of the base point is publicKeyFrom()", () => {
  const base = new Uint8Array(32);
  base[0] = 9;
  for (let i = 0; i < 5; i++) {
    const k = generatePrivateKey();
    assert.deepEqual(x25519Wasm(k, base), publicKeyFrom(k));
  }
});
