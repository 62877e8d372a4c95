import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import { publicKeyFrom, sharedSecret } from "../crypto/x25519.ts";
import { ChaChaPoly, wgNonce } from "../crypto/aead.ts";
import {
  consumeInitiation,
  consumeResponse,
  createInitiation,
  createResponse,
  type StaticIdentity,
} from "./handshake.ts";
import { CookieChecker, CookieGenerator } from "./cookie.ts";
import { decodeInitiation, decodeResponse, readTransportHeader } from "./messages.ts";
import { compareTai64n, tai64n } from "./tai64n.ts";

const identity = (privHex: string): StaticIdentity => {
  const privateKey = fromHex(privHex);
  return { privateKey, publicKey: publicKeyFrom(privateKey) };
};

const A = identity("a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3b4b5b6b7b8b9babbbcbdbebf");
const B = identity("c0c1c2c3c4c5c6c7c8c9cacbcccdcecfd0d1d2d3d4d5d6d7d8d9dadbdcdddedf");
const EPH_A = fromHex("1111111111111111111111111111111111111111111111111111111111111151");
const EPH_B = fromHex("2222222222222222222222222222222222222222222222222222222222222262");
const NOW = 1_700_000_000_123;

function run(psk: Uint8Array | null, respPsk = psk) {
  const { message, state } = createInitiation(A, B.publicKey, 7, NOW, { ephemeralPrivate: EPH_A });
  const consumed = consumeInitiation(B, message);
  assert.ok(consumed, "responder decrypts the initiation");
  const { message: response, keys: rKeys } = createResponse(consumed, 9, respPsk, {
    ephemeralPrivate: EPH_B,
  });
  return { message, state, consumed, response, rKeys };
}

for (const psk of [null, new Uint8Array(32).fill(0x42)]) {
  const label = psk === null ? "without" : "with";
  Deno.test(`handshake: initiator and responder derive mirrored keys ${label} a PSK`, () => {
    const { message, state, consumed, response, rKeys } = run(psk);
    assert.equal(message.length, 148);
    assert.equal(response.length, 92);
    assert.deepEqual(message.subarray(116), new Uint8Array(32), "macs left zero");
    assert.deepEqual(consumed.remoteStatic, A.publicKey);
    assert.equal(consumed.remoteIndex, 7);
    assert.deepEqual(consumed.timestamp, tai64n(NOW));
    assert.equal(decodeResponse(response)!.receiver, 7);
    const iKeys = consumeResponse(state, response, A, psk);
    assert.ok(iKeys);
    assert.equal(iKeys.remoteIndex, 9);
    assert.deepEqual(iKeys.sendKey, rKeys.recvKey);
    assert.deepEqual(iKeys.recvKey, rKeys.sendKey);
    assert.notDeepEqual(iKeys.sendKey, iKeys.recvKey);
  });
}

Deno.test("handshake: the same ephemerals and clock give byte-identical messages", () => {
  const a = run(null);
  const b = run(null);
  assert.deepEqual(a.message, b.message);
  assert.deepEqual(a.response, b.response);
  assert.notDeepEqual(a.response, run(new Uint8Array(32).fill(1)).response);
});

Deno.test("handshake: a PSK mismatch fails at the initiator and leaves its state usable", () => {
  const psk = new Uint8Array(32).fill(3);
  const { state, response } = run(psk, null);
  assert.equal(consumeResponse(state, response, A, psk), null);
  assert.equal(
    consumeResponse(state, response, A, null) !== null,
    true,
    "retry with the right PSK",
  );
  const other = run(psk, new Uint8Array(32).fill(4));
  assert.equal(consumeResponse(other.state, other.response, A, psk), null);
});

Deno.test("handshake: an initiation for another static key does not decrypt", () => {
  const C = identity("e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfe7f");
  const { message } = createInitiation(A, B.publicKey, 1, NOW);
  assert.equal(consumeInitiation(C, message), null);
});

Deno.test("handshake: a response from a responder other than the one initiated to is rejected", () => {
  const C = identity("e0e1e2e3e4e5e6e7e8e9eaebecedeeeff0f1f2f3f4f5f6f7f8f9fafbfcfdfe7f");
  // A initiates to C but B answers (B holds a valid initiation from A with the same index).
  const toC = createInitiation(A, C.publicKey, 1, NOW);
  const toB = createInitiation(A, B.publicKey, 1, NOW);
  const { message: fromB } = createResponse(consumeInitiation(B, toB.message)!, 2, null);
  assert.ok(
    consumeResponse(toB.state, fromB, A, null),
    "B's response to its own initiation is fine",
  );
  assert.equal(consumeResponse(toC.state, fromB, A, null), null);
});

Deno.test("handshake: every tampered byte of the Noise part is rejected", () => {
  const { message, state, response } = run(null);
  for (const i of [8, 39, 40, 87, 88, 115]) {
    const bad = message.slice();
    bad[i] ^= 1;
    assert.equal(consumeInitiation(B, bad), null, `initiation byte ${i}`);
  }
  for (const i of [12, 43, 44, 59]) {
    const bad = response.slice();
    bad[i] ^= 1;
    assert.equal(consumeResponse(state, bad, A, null), null, `response byte ${i}`);
  }
  const wrongReceiver = response.slice();
  wrongReceiver[8] ^= 1;
  assert.equal(consumeResponse(state, wrongReceiver, A, null), null);
  assert.equal(consumeInitiation(B, message.subarray(0, 147)), null);
  assert.equal(consumeResponse(state, message, A, null), null);
  assert.ok(consumeResponse(state, response, A, null), "the untampered response still works");
});

Deno.test("handshake: consumeInitiation asks the peer callback and honours a rejection", () => {
  const { message } = createInitiation(A, B.publicKey, 1, NOW);
  const seen: Uint8Array[] = [];
  assert.equal(consumeInitiation(B, message, { peer: (rs) => (seen.push(rs), null) }), null);
  assert.deepEqual(seen, [A.publicKey]);
  const ss = sharedSecret(B.privateKey, A.publicKey);
  assert.ok(consumeInitiation(B, message, { peer: () => ({ precomputedStaticStatic: ss }) }));
  const wrong = new Uint8Array(32).fill(1);
  assert.equal(
    consumeInitiation(B, message, { peer: () => ({ precomputedStaticStatic: wrong }) }),
    null,
  );
});

Deno.test("handshake: createInitiation's precomputed static-static matches computing it", () => {
  const ss = sharedSecret(A.privateKey, B.publicKey);
  const a = createInitiation(A, B.publicKey, 1, NOW, { ephemeralPrivate: EPH_A });
  const b = createInitiation(A, B.publicKey, 1, NOW, {
    ephemeralPrivate: EPH_A,
    precomputedStaticStatic: ss,
  });
  assert.deepEqual(a.message, b.message);
});

Deno.test("handshake: later initiations carry later timestamps", () => {
  const t1 = consumeInitiation(B, createInitiation(A, B.publicKey, 1, NOW).message)!.timestamp;
  const t2 = consumeInitiation(B, createInitiation(A, B.publicKey, 1, NOW + 20).message)!.timestamp;
  assert.ok(compareTai64n(t2, t1) > 0);
});

// Real captures from wireguard-go; see testdata/README.md.
const captures = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/wireguard_go_handshakes.json", import.meta.url)),
);

for (const c of captures.warren_responds) {
  Deno.test(`handshake: answers wireguard-go's initiation ${c.psk ? "with" : "without"} a PSK byte for byte`, () => {
    const warren = identity(c.warren_static_private);
    const wgPub = publicKeyFrom(fromHex(c.wireguard_go_static_private));
    const initiation = fromHex(c.initiation);
    assert.ok(new CookieChecker(warren.publicKey).checkMac1(initiation));
    const consumed = consumeInitiation(warren, initiation);
    assert.ok(consumed);
    assert.deepEqual(consumed.remoteStatic, wgPub);
    assert.equal(consumed.remoteIndex, decodeInitiation(initiation)!.sender);
    assert.equal(toHex(consumed.timestamp), c.timestamp);
    const { message, keys } = createResponse(
      consumed,
      c.warren_index,
      c.psk ? fromHex(c.psk) : null,
      { ephemeralPrivate: fromHex(c.warren_ephemeral_private) },
    );
    // The captured response also carried mac1 (from our CookieGenerator); compare it too.
    new CookieGenerator(wgPub).addMacs(message, 0);
    assert.equal(toHex(message), c.response);
    const transport = fromHex(c.transport);
    const header = readTransportHeader(transport)!;
    assert.equal(header.receiver, c.warren_index);
    const pt = new ChaChaPoly(keys.recvKey).open(wgNonce(header.counter), transport.subarray(16));
    assert.ok(pt, "wireguard-go's first data packet decrypts with our receive key");
    assert.equal(toHex(pt), c.transport_plaintext);
    assert.equal(pt[0], 0x45, "an IPv4 packet");
  });
}

for (const c of captures.warren_initiates) {
  Deno.test(`handshake: consumes wireguard-go's response ${c.psk ? "with" : "without"} a PSK`, () => {
    const warren = identity(c.warren_static_private);
    const wgPub = publicKeyFrom(fromHex(c.wireguard_go_static_private));
    const { message, state } = createInitiation(warren, wgPub, c.warren_index, c.now_ms, {
      ephemeralPrivate: fromHex(c.warren_ephemeral_private),
    });
    new CookieGenerator(wgPub).addMacs(message, 0);
    assert.equal(toHex(message), c.initiation);
    const response = fromHex(c.response);
    assert.ok(new CookieChecker(warren.publicKey).checkMac1(response));
    const keys = consumeResponse(state, response, warren, c.psk ? fromHex(c.psk) : null);
    assert.ok(keys);
    assert.equal(toHex(keys.sendKey), c.send_key);
    assert.equal(toHex(keys.recvKey), c.recv_key);
    assert.equal(consumeResponse(state, response, warren, new Uint8Array(32).fill(9)), null);
  });
}
