import assert from "node:assert/strict";
import {
  acceptHandshake,
  clientHandshake,
  HandshakeRefusedError,
  initiationVersion,
} from "./handshake.ts";
import { encodeErrorFrame } from "./frame.ts";
import { generatePrivateKey, publicKeyFrom } from "../../crypto/x25519.ts";
import { loadTs2021Fixture } from "./_fixture_test_util.ts";

Deno.test("acceptHandshake() opens tailscaled's real initiation and recovers its machine key", () => {
  const fx = loadTs2021Fixture();
  assert.deepEqual(publicKeyFrom(fx.serverPrivate), fx.serverPublic);
  assert.deepEqual(publicKeyFrom(fx.machinePrivate), fx.machinePublic);
  const acc = acceptHandshake(fx.serverPrivate, fx.initiation);
  assert.equal(acc.version, 133);
  assert.deepEqual(acc.machinePublicKey, fx.machinePublic);
  assert.equal(acc.response.length, 51);
  assert.deepEqual([...acc.response.subarray(0, 3)], [2, 0, 48]);
  // The real response has the same framing.
  assert.deepEqual([...fx.response.subarray(0, 3)], [2, 0, 48]);
});

Deno.test("acceptHandshake() rejects the real initiation under a wrong key or a tampered version", () => {
  const fx = loadTs2021Fixture();
  assert.throws(() => acceptHandshake(generatePrivateKey(), fx.initiation), /did not authenticate/);
  const tampered = fx.initiation.slice();
  tampered[1] = 132; // prologue becomes "…v132"
  assert.throws(() => acceptHandshake(fx.serverPrivate, tampered), /did not authenticate/);
  assert.throws(
    () => acceptHandshake(fx.serverPrivate, fx.initiation.subarray(0, 100)),
    /size 100/,
  );
  const badType = fx.initiation.slice();
  badType[2] = 4;
  assert.throws(() => acceptHandshake(fx.serverPrivate, badType), /message type 4/);
  const badLen = fx.initiation.slice();
  badLen[4] = 95;
  assert.throws(() => acceptHandshake(fx.serverPrivate, badLen), /length 95/);
});

Deno.test("clientHandshake() builds the 101-byte initiation tailscaled builds (header, ephemeral in clear)", () => {
  const fx = loadTs2021Fixture();
  const eph = generatePrivateKey();
  const hs = clientHandshake(fx.machinePrivate, fx.serverPublic, 133, eph);
  assert.equal(hs.initiation.length, 101);
  assert.deepEqual([...hs.initiation.subarray(0, 5)], [...fx.initiation.subarray(0, 5)]);
  assert.deepEqual(hs.initiation.subarray(5, 37), publicKeyFrom(eph));
  assert.equal(initiationVersion(hs.initiation), 133);
  // Headscale's key opens ours just as it opened tailscaled's.
  const acc = acceptHandshake(fx.serverPrivate, hs.initiation);
  assert.deepEqual(acc.machinePublicKey, fx.machinePublic);
  const keys = hs.finish(acc.response);
  assert.deepEqual(keys.send, acc.keys.recv);
  assert.deepEqual(keys.recv, acc.keys.send);
  assert.deepEqual(keys.handshakeHash, acc.keys.handshakeHash);
  assert.notDeepEqual(keys.send, keys.recv);
});

Deno.test("clientHandshake().finish() surfaces an error frame and rejects bad responses", () => {
  const server = generatePrivateKey();
  const mk = () => clientHandshake(generatePrivateKey(), publicKeyFrom(server), 113);
  const refused = mk();
  assert.throws(() => refused.finish(encodeErrorFrame("unsupported version")), (err) => {
    assert.ok(err instanceof HandshakeRefusedError);
    assert.equal(err.serverMessage, "unsupported version");
    return true;
  });
  const hs = mk();
  const acc = acceptHandshake(server, hs.initiation);
  const flipped = acc.response.slice();
  flipped[50] ^= 1;
  assert.throws(() => hs.finish(flipped), /did not authenticate/);
  assert.throws(() => mk().finish(acc.response.subarray(0, 40)), /length/);
  assert.throws(() => mk().finish(Uint8Array.of(4, 0, 0)), /got record/);
  // A response made for someone else's initiation fails too.
  assert.throws(() => mk().finish(acc.response), /did not authenticate/);
  assert.throws(() => clientHandshake(generatePrivateKey(), publicKeyFrom(server), 70000), /u16/);
});
