import assert from "node:assert/strict";
import { fromHex, toHex } from "../../bytes/hex.ts";
import { createCipheriv, randomBytes } from "node:crypto";
import { chacha20poly1305 } from "@noble/ciphers/chacha.js";
import { poly1305 as nobleMac } from "@noble/ciphers/_poly1305.js";
import { allocPacketBuffer, freePacketBuffer } from "./arena.ts";
import { cryptoWasm } from "./instance.ts";
import { V282 } from "../_rfc8439_test_util.ts";

const utf8 = (s: string) => new TextEncoder().encode(s);
const rand = (n: number) => new Uint8Array(randomBytes(n));

/** Runs the raw ChaCha20 export over `data` (copied into wasm memory). */
function chacha20(key: Uint8Array, counter: number, nonce: Uint8Array, data: Uint8Array) {
  const w = cryptoWasm();
  const buf = allocPacketBuffer(64 + data.length + 1);
  try {
    buf.set(key);
    buf.set(data, 64);
    const v = new DataView(nonce.buffer, nonce.byteOffset, 12);
    const at = buf.byteOffset;
    w.fn.chacha20_xor(
      at,
      counter,
      v.getUint32(0, true),
      v.getUint32(4, true),
      v.getUint32(8, true),
      at + 64,
      data.length,
      at + 64,
    );
    return buf.slice(64, 64 + data.length);
  } finally {
    freePacketBuffer(buf);
  }
}

/** Runs the raw Poly1305 export over `msg` under a 32-byte one-time key. */
function poly1305(key: Uint8Array, msg: Uint8Array): Uint8Array {
  const w = cryptoWasm();
  const buf = allocPacketBuffer(48 + msg.length + 1);
  try {
    buf.set(key);
    buf.set(msg, 48);
    w.fn.poly1305_mac(buf.byteOffset, buf.byteOffset + 48, msg.length, buf.byteOffset + 32);
    return buf.slice(32, 48);
  } finally {
    freePacketBuffer(buf);
  }
}

/** node:crypto's raw ChaCha20 (OpenSSL takes counter LE32 ‖ nonce as a 16-byte IV). */
function nodeChacha20(key: Uint8Array, counter: number, nonce: Uint8Array, data: Uint8Array) {
  const iv = new Uint8Array(16);
  new DataView(iv.buffer).setUint32(0, counter, true);
  iv.set(nonce, 4);
  return new Uint8Array(createCipheriv("chacha20", key, iv).update(data));
}

const KEY_0_31 = Uint8Array.from({ length: 32 }, (_, i) => i);
const ZERO_KEY = new Uint8Array(32);
const KEY_1 = fromHex("0000000000000000000000000000000000000000000000000000000000000001");
const KEY_A = fromHex("1c9240a5eb55d38af333888604f6b5f0473917c1402b80099dca5cbc207075c0");
const SUNSCREEN = V282.pt;
const IETF_TEXT = utf8(
  "Any submission to the IETF intended by the Contributor for publication as all or part of an " +
    "IETF Internet-Draft or RFC and any statement made within the context of an IETF activity is " +
    'considered an "IETF Contribution". Such statements include oral statements in IETF ' +
    "sessions, as well as written and electronic communications made at any time or place, " +
    "which are addressed to",
);
const JABBERWOCKY = utf8(
  "'Twas brillig, and the slithy toves\nDid gyre and gimble in the wabe:\n" +
    "All mimsy were the borogoves,\nAnd the mome raths outgrabe.",
);

// RFC 8439 §2.3.2 and Appendix A.1: [key, nonce, counter, serialized block].
const BLOCKS: [Uint8Array, string, number, string][] = [
  [
    KEY_0_31,
    "000000090000004a00000000",
    1,
    "10f1e7e4d13b5915500fdd1fa32071c4c7d1f4c733c068030422aa9ac3d46c4e" +
    "d2826446079faa0914c2d705d98b02a2b5129cd1de164eb9cbd083e8a2503c4e",
  ],
  [
    ZERO_KEY,
    "000000000000000000000000",
    0,
    "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7" +
    "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586",
  ],
  [
    ZERO_KEY,
    "000000000000000000000000",
    1,
    "9f07e7be5551387a98ba977c732d080dcb0f29a048e3656912c6533e32ee7aed" +
    "29b721769ce64e43d57133b074d839d531ed1f28510afb45ace10a1f4b794d6f",
  ],
  [
    KEY_1,
    "000000000000000000000000",
    1,
    "3aeb5224ecf849929b9d828db1ced4dd832025e8018b8160b82284f3c949aa5a" +
    "8eca00bbb4a73bdad192b5c42f73f2fd4e273644c8b36125a64addeb006c13a0",
  ],
  [
    fromHex("00ff000000000000000000000000000000000000000000000000000000000000"),
    "000000000000000000000000",
    2,
    "72d54dfbf12ec44b362692df94137f328fea8da73990265ec1bbbea1ae9af0ca" +
    "13b25aa26cb4a648cb9b9d1be65b2c0924a66c54d545ec1b7374f4872e99f096",
  ],
  [
    ZERO_KEY,
    "000000000000000000000002",
    0,
    "c2c64d378cd536374ae204b9ef933fcd1a8b2288b3dfa49672ab765b54ee27c7" +
    "8a970e0e955c14f3a88e741b97c286f75f8fc299e8148362fa198a39531bed6d",
  ],
];

Deno.test("chacha20_xor() reproduces the RFC 8439 §2.3.2 and A.1 block vectors", () => {
  for (const [key, nonce, counter, block] of BLOCKS) {
    assert.equal(toHex(chacha20(key, counter, fromHex(nonce), new Uint8Array(64))), block);
  }
});

Deno.test("chacha20_xor() reproduces the RFC 8439 §2.4.2 and A.2 encryption vectors", () => {
  const cases: [Uint8Array, string, number, Uint8Array, string][] = [
    [
      KEY_0_31,
      "000000000000004a00000000",
      1,
      SUNSCREEN,
      "6e2e359a2568f98041ba0728dd0d6981e97e7aec1d4360c20a27afccfd9fae0b" +
      "f91b65c5524733ab8f593dabcd62b3571639d624e65152ab8f530c359f0861d8" +
      "07ca0dbf500d6a6156a38e088a22b65e52bc514d16ccf806818ce91ab7793736" +
      "5af90bbf74a35be6b40b8eedf2785e42874d",
    ],
    [
      ZERO_KEY,
      "000000000000000000000000",
      0,
      new Uint8Array(64),
      "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7" +
      "da41597c5157488d7724e03fb8d84a376a43b8f41518a11cc387b669b2ee6586",
    ],
    [
      KEY_1,
      "000000000000000000000002",
      1,
      IETF_TEXT,
      "a3fbf07df3fa2fde4f376ca23e82737041605d9f4f4f57bd8cff2c1d4b7955ec" +
      "2a97948bd3722915c8f3d337f7d370050e9e96d647b7c39f56e031ca5eb6250d" +
      "4042e02785ececfa4b4bb5e8ead0440e20b6e8db09d881a7c6132f420e527950" +
      "42bdfa7773d8a9051447b3291ce1411c680465552aa6c405b7764d5e87bea85a" +
      "d00f8449ed8f72d0d662ab052691ca66424bc86d2df80ea41f43abf937d3259d" +
      "c4b2d0dfb48a6c9139ddd7f76966e928e635553ba76c5c879d7b35d49eb2e62b" +
      "0871cdac638939e25e8a1e0ef9d5280fa8ca328b351c3c765989cbcf3daa8b6c" +
      "cc3aaf9f3979c92b3720fc88dc95ed84a1be059c6499b9fda236e7e818b04b0b" +
      "c39c1e876b193bfe5569753f88128cc08aaa9b63d1a16f80ef2554d7189c411f" +
      "5869ca52c5b83fa36ff216b9c1d30062bebcfd2dc5bce0911934fda79a86f6e6" +
      "98ced759c3ff9b6477338f3da4f9cd8514ea9982ccafb341b2384dd902f3d1ab" +
      "7ac61dd29c6f21ba5b862f3730e37cfdc4fd806c22f221",
    ],
    [
      KEY_A,
      "000000000000000000000002",
      42,
      JABBERWOCKY,
      "62e6347f95ed87a45ffae7426f27a1df5fb69110044c0d73118effa95b01e5cf" +
      "166d3df2d721caf9b21e5fb14c616871fd84c54f9d65b283196c7fe4f60553eb" +
      "f39c6402c42234e32a356b3e764312a61a5532055716ead6962568f87d3f3f77" +
      "04c6a8d1bcd1bf4d50d6154b6da731b187b58dfd728afa36757a797ac188d1",
    ],
  ];
  for (const [key, nonce, counter, pt, ct] of cases) {
    assert.equal(toHex(chacha20(key, counter, fromHex(nonce), pt)), ct);
    assert.deepEqual(chacha20(key, counter, fromHex(nonce), fromHex(ct)), pt);
  }
});

Deno.test("chacha20_xor() matches node:crypto across 4-block boundaries and counters", () => {
  for (const len of [1, 63, 64, 65, 191, 192, 255, 256, 257, 511, 512, 513, 1000, 4099]) {
    for (const counter of [0, 1, 7, 0xffff_fff0]) {
      const key = rand(32), nonce = rand(12), data = rand(len);
      assert.deepEqual(
        chacha20(key, counter, nonce, data),
        nodeChacha20(key, counter, nonce, data),
      );
    }
  }
});

Deno.test("Block 0 gives the RFC 8439 §2.6.2 and A.4 Poly1305 one-time keys", () => {
  const cases: [Uint8Array, string, string][] = [
    [
      fromHex("808182838485868788898a8b8c8d8e8f909192939495969798999a9b9c9d9e9f"),
      "000000000001020304050607",
      "8ad5a08b905f81cc815040274ab29471a833b637e3fd0da508dbb8e2fdd1a646",
    ],
    [
      ZERO_KEY,
      "000000000000000000000000",
      "76b8e0ada0f13d90405d6ae55386bd28bdd219b8a08ded1aa836efcc8b770dc7",
    ],
    [
      KEY_1,
      "000000000000000000000002",
      "ecfa254f845f647473d3cb140da9e87606cb33066c447b87bc2666dde3fbb739",
    ],
    [
      KEY_A,
      "000000000000000000000002",
      "965e3bc6f9ec7ed9560808f4d229f94b137ff275ca9b3fcbdd59deaad23310ae",
    ],
  ];
  for (const [key, nonce, otk] of cases) {
    assert.equal(toHex(chacha20(key, 0, fromHex(nonce), new Uint8Array(32))), otk);
  }
});

Deno.test("poly1305_mac() reproduces RFC 8439 §2.5.2 and A.3, including the edge cases", () => {
  const z16 = "00000000000000000000000000000000";
  // [one-time key, message, tag]
  const cases: [string, Uint8Array, string][] = [
    [
      "85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b",
      utf8("Cryptographic Forum Research Group"),
      "a8061dc1305136c6c22b8baf0c0127a9",
    ],
    [z16 + z16, new Uint8Array(64), z16],
    [z16 + "36e5f6b5c5e06070f0efca96227a863e", IETF_TEXT, "36e5f6b5c5e06070f0efca96227a863e"],
    ["36e5f6b5c5e06070f0efca96227a863e" + z16, IETF_TEXT, "f3477e7cd95417af89a6b8794c310cf0"],
    [toHex(KEY_A), JABBERWOCKY, "4541669a7eaaee61e708dc7cbcc5eb62"],
    // #5: h reaches exactly p after the final reduction.
    ["02" + "00".repeat(31), fromHex("ff".repeat(16)), "03" + "00".repeat(15)],
    // #6: h + s overflows 2^128 and must wrap.
    [
      "02" + "00".repeat(15) + "ff".repeat(16),
      fromHex("02" + "00".repeat(15)),
      "03" + "00".repeat(15),
    ],
    // #7, #8: carries that ripple through every limb.
    [
      "01" + "00".repeat(31),
      fromHex("ff".repeat(16) + "f0" + "ff".repeat(15) + "11" + "00".repeat(15)),
      "05" + "00".repeat(15),
    ],
    [
      "01" + "00".repeat(31),
      fromHex("ff".repeat(16) + "fb" + "fe".repeat(15) + "01".repeat(16)),
      z16,
    ],
    // #9: h mod p is p - 2^... (result just below 2^128 after reduction).
    ["02" + "00".repeat(31), fromHex("fd" + "ff".repeat(15)), "fa" + "ff".repeat(15)],
    // #10, #11: the 5*H+L reduction produces a 131-bit intermediate.
    [
      "0100000000000000040000000000000000000000000000000000000000000000",
      fromHex(
        "e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000" +
          z16 + "01000000000000000000000000000000",
      ),
      "14000000000000005500000000000000",
    ],
    [
      "0100000000000000040000000000000000000000000000000000000000000000",
      fromHex("e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000" + z16),
      "13000000000000000000000000000000",
    ],
  ];
  for (const [key, msg, tag] of cases) assert.equal(toHex(poly1305(fromHex(key), msg)), tag);
});

/** Nonce as the three little-endian words the exports take. */
function nonceWords(nonce: Uint8Array): [number, number, number] {
  const v = new DataView(nonce.buffer, nonce.byteOffset, 12);
  return [v.getUint32(0, true), v.getUint32(4, true), v.getUint32(8, true)];
}

/**
 * Runs the raw aead_seal / aead_open exports in one packet buffer laid out as
 * key | ad | src | dst (dst = src when inPlace). Returns what seal wrote, and
 * for open the result code and dst afterwards (pre-filled with 0xaa).
 */
function rawAead(
  op: "seal" | "open",
  key: Uint8Array,
  nonce: Uint8Array,
  ad: Uint8Array,
  input: Uint8Array,
  inPlace: boolean,
): { rc: number; out: Uint8Array } {
  const w = cryptoWasm();
  const len = op === "seal" ? input.length : input.length - 16;
  const adAt = 32, srcAt = align16(adAt + ad.length), dstAt = align16(srcAt + len + 16) + 5;
  const buf = allocPacketBuffer(dstAt + len + 16);
  try {
    buf.set(key);
    buf.set(ad, adAt);
    buf.set(input, srcAt);
    if (!inPlace) buf.fill(0xaa, dstAt, dstAt + len + 16);
    const at = buf.byteOffset, d = inPlace ? srcAt : dstAt;
    const [n0, n1, n2] = nonceWords(nonce);
    const fn = op === "seal" ? w.fn.aead_seal : w.fn.aead_open;
    const rc = fn(at, n0, n1, n2, at + adAt, ad.length, at + srcAt, len, at + d) ?? 0;
    return { rc, out: buf.slice(d, d + (op === "seal" ? len + 16 : len)) };
  } finally {
    freePacketBuffer(buf);
  }
}

const align16 = (n: number) => (n + 15) & ~15;

// Every length to 600 crosses each path: the two-block start (<= 64 bytes), the 4-block start
// (192 bytes), Poly1305 interleaved with the 4-block steps, and two-block or 4-block tails.
// Around 4096 open switches from one pass to MAC-then-decrypt.
const AEAD_LENGTHS = [
  ...Array.from({ length: 601 }, (_, i) => i),
  ...Array.from({ length: 40 }, (_, i) => 4076 + i),
  1024,
  1280,
  1312,
  1420,
  1500,
  8191,
  65_537,
];

Deno.test("aead_seal() and aead_open() match @noble/ciphers for lengths 0..600 and longer", () => {
  for (const len of AEAD_LENGTHS) {
    const key = rand(32), nonce = rand(12), pt = rand(len);
    const ad = rand([0, 1, 13, 16, 33][len % 5]);
    const want = chacha20poly1305(key, nonce, ad).encrypt(pt);
    for (const inPlace of [true, false]) {
      const sealed = rawAead("seal", key, nonce, ad, pt, inPlace);
      assert.deepEqual(sealed.out, want, `seal ${len}, in place ${inPlace}`);
      const opened = rawAead("open", key, nonce, ad, want, inPlace);
      assert.equal(opened.rc, 0, `open ${len}, in place ${inPlace}`);
      assert.deepEqual(opened.out, pt, `open ${len}, in place ${inPlace}`);
    }
  }
});

Deno.test("aead_open() returns -1 and leaves dst untouched for a flipped bit at any length", () => {
  for (const len of AEAD_LENGTHS) {
    const key = rand(32), nonce = rand(12), pt = rand(len);
    const sealed = chacha20poly1305(key, nonce).encrypt(pt);
    const bad = sealed.slice();
    const at = (len * 7919) % sealed.length; // ciphertext or tag, varying with len
    bad[at] ^= 1 << (len % 8);
    const r = rawAead("open", key, nonce, new Uint8Array(0), bad, false);
    assert.equal(r.rc, -1, `flipped byte ${at} of ${len}`);
    assert.ok(r.out.every((b) => b === 0xaa), `dst untouched, length ${len}`);
  }
});

Deno.test("chacha20_xor() matches node:crypto for every length to 600", () => {
  for (let len = 0; len <= 600; len++) {
    const key = rand(32), nonce = rand(12), data = rand(len);
    const counter = [0, 1, 0xffff_ffe0][len % 3];
    assert.deepEqual(
      chacha20(key, counter, nonce, data),
      nodeChacha20(key, counter, nonce, data),
      `length ${len}, counter ${counter}`,
    );
  }
});

Deno.test("poly1305_mac() matches @noble/ciphers for lengths 0..600 and at its limb bounds", () => {
  for (let len = 0; len <= 600; len++) {
    const key = rand(32), msg = rand(len);
    assert.deepEqual(poly1305(key, msg), nobleMac(msg, key), `length ${len}`);
  }
  // The largest r clamping allows, with all-ones blocks and s, keeps every limb at its bound.
  for (const len of [16, 17, 31, 32, 1420, 4096, 65_536]) {
    for (const sByte of [0x00, 0xff]) {
      const key = new Uint8Array(32).fill(0xff).fill(sByte, 16);
      const msg = new Uint8Array(len).fill(0xff);
      assert.deepEqual(poly1305(key, msg), nobleMac(msg, key), `all ones, length ${len}`);
    }
  }
  // With r = 2 a zero block leaves h = 2^129, and the next block leaves h0 above 2^32 (its carry
  // is deferred), h1..h3 all ones and h4 = 3: h reaches p only once the final carry has rippled
  // through every limb into h4.
  const rTwo = fromHex("02" + "00".repeat(15) + "5a".repeat(16));
  const ripple = fromHex("00".repeat(16) + "feffffff" + "ff".repeat(12));
  assert.deepEqual(poly1305(rTwo, ripple), nobleMac(ripple, rTwo));
});
