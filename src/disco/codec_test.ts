import assert from "node:assert/strict";
import { bytesEqual } from "../bytes/equal.ts";
import { fromHex } from "../bytes/hex.ts";
import { generateNodePrivate, publicFromPrivate } from "../key/node_key.ts";
import { parseAddrPort } from "./addr.ts";
import {
  clearDiscoKeyCache,
  type DiscoMessage,
  discoSender,
  encodeDiscoMessage,
  looksLikeDisco,
  openDisco,
  openDiscoPayload,
  parseDiscoMessage,
  sealDisco,
  sealDiscoPayload,
} from "./codec.ts";
import { DISCO_HEADER_LEN, DISCO_MAGIC } from "./constants.ts";

const hex = (s: string) => fromHex(s.replace(/\s+/g, ""));
const txId = new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
// tailscale's disco_test.go node key: bytes 1, 2, 30, 31 set to their index.
const nodeKey = new Uint8Array(32);
nodeKey[1] = 1;
nodeKey[2] = 2;
nodeKey[30] = 30;
nodeKey[31] = 31;

// Message bodies from tailscale disco/disco_test.go TestMarshalAndParse.
const VECTORS: [string, DiscoMessage, string][] = [
  [
    "ping",
    { type: "ping", txId, nodeKey: null, padding: 0 },
    "01 00 01 02 03 04 05 06 07 08 09 0a 0b 0c",
  ],
  [
    "ping_with_nodekey_src",
    { type: "ping", txId, nodeKey, padding: 0 },
    "01 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 00 01 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 1e 1f",
  ],
  [
    "ping_with_padding",
    { type: "ping", txId, nodeKey: null, padding: 3 },
    "01 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 00 00 00",
  ],
  [
    "ping_with_padding_and_nodekey_src",
    { type: "ping", txId, nodeKey, padding: 3 },
    "01 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 00 01 02 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 1e 1f 00 00 00",
  ],
  [
    "pong",
    { type: "pong", txId, src: parseAddrPort("2.3.4.5:1234") },
    "02 00 01 02 03 04 05 06 07 08 09 0a 0b 0c 00 00 00 00 00 00 00 00 00 00 ff ff 02 03 04 05 04 d2",
  ],
  [
    "pongv6",
    { type: "pong", txId, src: parseAddrPort("[fed0::12]:6666") },
    "02 00 01 02 03 04 05 06 07 08 09 0a 0b 0c fe d0 00 00 00 00 00 00 00 00 00 00 00 00 00 12 1a 0a",
  ],
  ["call_me_maybe", { type: "call-me-maybe", endpoints: [] }, "03 00"],
  [
    "call_me_maybe_endpoints",
    {
      type: "call-me-maybe",
      endpoints: [parseAddrPort("1.2.3.4:567"), parseAddrPort("[2001::3456]:789")],
    },
    "03 00 00 00 00 00 00 00 00 00 00 00 ff ff 01 02 03 04 02 37 20 01 00 00 00 00 00 00 00 00 00 00 00 00 34 56 03 15",
  ],
];

for (const [name, msg, want] of VECTORS) {
  Deno.test(`encodeDiscoMessage() matches tailscale's ${name} bytes and parses back`, () => {
    const got = encodeDiscoMessage(msg);
    assert.deepEqual(got, hex(want));
    assert.deepEqual(parseDiscoMessage(got), msg);
  });
}

// The canonical NaCl crypto_box vector (NaCl tests/box.c; RFC 7748 key pairs):
// alice seals to bob. Framed as disco, it must open with bob's key and reseal identically.
const ALICE_PRIV = hex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
const ALICE_PUB = hex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
const BOB_PRIV = hex("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
const BOB_PUB = hex("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
const NONCE = hex("69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37");
const MSG = hex(
  `be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffc
   e5ecbaaf33bd751a1ac728d45e6c61296cdc3c01233561f41db66cce314adb31
   0e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a838f21af1fde
   048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f93776384864
   5e0705`,
);
const BOX = hex(
  `f3ffc7703f9400e52a7dfb4b3d3305d98e993b9f48681273c29650ba32fc76ce
   48332ea7164d96a4476fb8c531a1186ac0dfc17c98dce87b4da7f011ec48c972
   71d2c20f9b928fe2270d6fb863d51738b48eeee314a7cc8ab932164548e526ae
   90224368517acfeabd6bb3732bc0e9da99832b61ca01b6de56244a9e88d5f9b3
   7973f622a43d14a6599b1f654cb45a74e355a5`,
);
const MAGIC = hex("5453f09f92ac");

Deno.test("looksLikeDisco() needs the magic and a full header", () => {
  const d = new Uint8Array(DISCO_HEADER_LEN);
  d.set(DISCO_MAGIC);
  assert.ok(looksLikeDisco(d));
  assert.ok(!looksLikeDisco(d.subarray(0, DISCO_HEADER_LEN - 1)));
  const wg = new Uint8Array(148);
  wg[0] = 1;
  assert.ok(!looksLikeDisco(wg));
});

Deno.test("sealDiscoPayload() frames the NaCl box vector as magic ‖ sender ‖ nonce ‖ box", () => {
  const pkt = sealDiscoPayload(ALICE_PRIV, ALICE_PUB, BOB_PUB, MSG, { nonce: NONCE });
  assert.deepEqual(pkt.subarray(0, 6), MAGIC);
  assert.deepEqual(pkt.subarray(6, 38), ALICE_PUB);
  assert.deepEqual(pkt.subarray(38, 62), NONCE);
  assert.deepEqual(pkt.subarray(62), BOX);
});

Deno.test("openDiscoPayload() opens the NaCl box vector framed as disco", () => {
  const pkt = new Uint8Array([...MAGIC, ...ALICE_PUB, ...NONCE, ...BOX]);
  const seen: Uint8Array[] = [];
  const got = openDiscoPayload(pkt, BOB_PRIV, (k) => (seen.push(k.slice()), true));
  assert.ok(got);
  assert.deepEqual(got.sender, ALICE_PUB);
  assert.deepEqual(got.payload, MSG);
  assert.deepEqual(seen, [ALICE_PUB]);
  // The payload is a valid box but its first byte (0xbe) is no disco type.
  assert.equal(openDisco(pkt, BOB_PRIV, () => true), null);
});

const a = generateNodePrivate();
const aPub = publicFromPrivate(a);
const b = generateNodePrivate();
const bPub = publicFromPrivate(b);

Deno.test("sealDisco() and openDisco() round-trip every message type", () => {
  for (const [, msg] of VECTORS) {
    const pkt = sealDisco(a, aPub, bPub, msg);
    assert.ok(looksLikeDisco(pkt));
    assert.deepEqual(discoSender(pkt), aPub);
    const got = openDisco(pkt, b, (k) => bytesEqual(k, aPub));
    assert.ok(got);
    assert.deepEqual(got.sender, aPub);
    assert.deepEqual(got.msg, msg);
  }
});

Deno.test("sealDisco() uses a fresh nonce per packet", () => {
  const msg: DiscoMessage = { type: "call-me-maybe", endpoints: [] };
  const p1 = sealDisco(a, aPub, bPub, msg);
  const p2 = sealDisco(a, aPub, bPub, msg);
  assert.equal(p1.length, DISCO_HEADER_LEN + 16 + 2);
  assert.notDeepEqual(p1.subarray(38, 62), p2.subarray(38, 62));
});

Deno.test("openDisco() rejects short, unframed, unknown-sender and tampered packets", () => {
  const msg: DiscoMessage = { type: "ping", txId, nodeKey: aPub, padding: 0 };
  const pkt = sealDisco(a, aPub, bPub, msg);
  const ok = () => true;
  assert.ok(openDisco(pkt, b, ok));
  // Short: header only, and header plus less than a tag.
  assert.equal(openDisco(pkt.subarray(0, DISCO_HEADER_LEN), b, ok), null);
  assert.equal(openDisco(pkt.subarray(0, DISCO_HEADER_LEN + 15), b, ok), null);
  assert.equal(openDisco(pkt.subarray(0, 20), b, ok), null);
  // Bad magic.
  const badMagic = pkt.slice();
  badMagic[5] ^= 1;
  assert.equal(openDisco(badMagic, b, ok), null);
  // Sender not known: no crypto is attempted.
  assert.equal(openDisco(pkt, b, () => false), null);
  // A flipped bit in the box, the nonce, or the claimed sender.
  for (const at of [pkt.length - 1, 40, 10]) {
    const bad = pkt.slice();
    bad[at] ^= 0x40;
    assert.equal(openDisco(bad, b, ok), null, `flip at ${at}`);
  }
  // Wrong recipient key (e.g. our disco key rotated).
  assert.equal(openDisco(pkt, generateNodePrivate(), ok), null);
});

Deno.test("openDisco() drops unknown and short messages inside a good box", () => {
  const ok = () => true;
  const seal = (payload: number[]) => sealDiscoPayload(a, aPub, bPub, new Uint8Array(payload));
  assert.equal(openDisco(seal([0x04, 0, ...new Array(72).fill(0)]), b, ok), null); // peer relay
  assert.equal(openDisco(seal([0x7f, 0]), b, ok), null);
  assert.equal(openDisco(seal([0x01]), b, ok), null); // no version byte
  assert.equal(openDisco(seal([0x01, 0, 1, 2, 3]), b, ok), null); // ping TxID cut short
  assert.equal(openDisco(seal([0x02, 0, ...new Array(29).fill(0)]), b, ok), null); // pong 29 bytes
});

Deno.test("parseDiscoMessage() ignores trailing bytes and a newer version on pings and pongs", () => {
  const pong = encodeDiscoMessage({ type: "pong", txId, src: parseAddrPort("2.3.4.5:1234") });
  const longer = new Uint8Array([...pong, 9, 9, 9]);
  longer[1] = 1;
  assert.deepEqual(parseDiscoMessage(longer), {
    type: "pong",
    txId,
    src: parseAddrPort("2.3.4.5:1234"),
  });
  // A ping with a few extra bytes but fewer than a node key: they are padding.
  const ping = parseDiscoMessage(new Uint8Array([1, 0, ...txId, 0, 0, 0, 0, 0]));
  assert.deepEqual(ping, { type: "ping", txId, nodeKey: null, padding: 5 });
});

Deno.test("parseDiscoMessage() reads a malformed CallMeMaybe as one with no endpoints", () => {
  const good = encodeDiscoMessage({
    type: "call-me-maybe",
    endpoints: [parseAddrPort("1.2.3.4:567")],
  });
  const odd = good.subarray(0, good.length - 1);
  assert.deepEqual(parseDiscoMessage(odd), { type: "call-me-maybe", endpoints: [] });
  const v1 = good.slice();
  v1[1] = 1;
  assert.deepEqual(parseDiscoMessage(v1), { type: "call-me-maybe", endpoints: [] });
  assert.deepEqual(parseDiscoMessage(good), {
    type: "call-me-maybe",
    endpoints: [parseAddrPort("1.2.3.4:567")],
  });
});

Deno.test("encodeDiscoMessage() omits a zero node key and rejects bad fields", () => {
  const zeroKey = encodeDiscoMessage({
    type: "ping",
    txId,
    nodeKey: new Uint8Array(32),
    padding: 0,
  });
  assert.equal(zeroKey.length, 2 + 12);
  assert.throws(
    () => encodeDiscoMessage({ type: "ping", txId: new Uint8Array(11), nodeKey: null, padding: 0 }),
    RangeError,
  );
  assert.throws(
    () =>
      encodeDiscoMessage({ type: "ping", txId, nodeKey: new Uint8Array(31).fill(1), padding: 0 }),
    RangeError,
  );
  assert.throws(
    () => encodeDiscoMessage({ type: "ping", txId, nodeKey: null, padding: -1 }),
    RangeError,
  );
  assert.throws(
    () => encodeDiscoMessage({ type: "pong", txId, src: { ip: new Uint8Array(4), port: 70000 } }),
    RangeError,
  );
  assert.throws(
    () => encodeDiscoMessage({ type: "pong", txId, src: { ip: new Uint8Array(5), port: 1 } }),
    TypeError,
  );
});

Deno.test("sealDisco() rejects malformed keys and a low-order peer key", () => {
  const msg: DiscoMessage = { type: "call-me-maybe", endpoints: [] };
  assert.throws(() => sealDisco(a, aPub.subarray(0, 31), bPub, msg), RangeError);
  assert.throws(() => sealDisco(a, aPub, new Uint8Array(31), msg), RangeError);
  assert.throws(() => sealDisco(a, aPub, new Uint8Array(32), msg), RangeError); // zero point
  assert.throws(() => sealDisco(a, aPub, bPub, msg, { nonce: new Uint8Array(23) }), RangeError);
});

Deno.test("openDisco() keeps working after the shared-key cache is cleared", () => {
  const msg: DiscoMessage = { type: "call-me-maybe", endpoints: [] };
  const pkt = sealDisco(a, aPub, bPub, msg);
  clearDiscoKeyCache();
  assert.deepEqual(openDisco(pkt, b, () => true)?.msg, msg);
});
