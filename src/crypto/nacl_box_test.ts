import assert from "node:assert/strict";
import { boxBeforeNm, boxOpen, boxSeal, openFrom, sealTo } from "./nacl_box.ts";
import { fromHex, parseNodePublic, parsePrivate, toHex } from "../key/node_key.ts";

const fixture = JSON.parse(
  await Deno.readTextFile(
    new URL(
      "../../../shared/fixtures/derp-handshake-tailscaled-1.96.5-headscale-0.28.json",
      import.meta.url,
    ),
  ),
);
const hex = (s: string) => fromHex(s, s.length / 2);
const clientPriv = parsePrivate(fixture.client_node_private);
const clientPub = parseNodePublic(fixture.client_node_public);
const serverPriv = parsePrivate(fixture.server_private);
const serverPub = parseNodePublic(fixture.server_public);

Deno.test("openFrom() opens tailscaled's captured ClientInfo box", () => {
  const payload = hex(fixture.client_frames_hex[0]).subarray(5);
  const msg = openFrom(payload.subarray(32), clientPub, serverPriv);
  assert.ok(msg);
  assert.equal(new TextDecoder().decode(msg), fixture.client_info_json);
});

Deno.test("openFrom() opens Headscale's captured ServerInfo box with the client key", () => {
  const payload = hex(fixture.server_info_frame_hex).subarray(5);
  const msg = openFrom(payload, serverPub, clientPriv);
  assert.equal(new TextDecoder().decode(msg!), fixture.server_info_json);
});

Deno.test("boxSeal() reproduces the captured box byte for byte with its nonce", () => {
  const payload = hex(fixture.client_frames_hex[0]).subarray(5 + 32);
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
