import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import {
  clamp,
  formatDiscoPublic,
  formatMachinePublic,
  formatNodePublic,
  formatPrivate,
  generateNodePrivate,
  isZeroKey,
  parseDiscoPublic,
  parseKey,
  parseMachinePublic,
  parseNodePublic,
  parseNodePublicLoose,
  parsePrivate,
  publicFromPrivate,
  shortKey,
} from "./node_key.ts";

const fixture = JSON.parse(
  await Deno.readTextFile(
    new URL(
      "../../../shared/fixtures/derp-handshake-tailscaled-1.96.5-headscale-0.28.json",
      import.meta.url,
    ),
  ),
);

Deno.test("publicFromPrivate() derives the captured tailscaled node key", () => {
  const priv = parsePrivate(fixture.client_node_private);
  assert.equal(formatNodePublic(publicFromPrivate(priv)), fixture.client_node_public);
  const spriv = parsePrivate(fixture.server_private);
  assert.equal(formatNodePublic(publicFromPrivate(spriv)), fixture.server_public);
});

Deno.test("key text forms round-trip for every prefix", () => {
  const k = crypto.getRandomValues(new Uint8Array(32));
  assert.deepEqual(parseNodePublic(formatNodePublic(k)), k);
  assert.deepEqual(parseMachinePublic(formatMachinePublic(k)), k);
  assert.deepEqual(parseDiscoPublic(formatDiscoPublic(k)), k);
  assert.deepEqual(parsePrivate(formatPrivate(k)), k);
  assert.match(formatMachinePublic(k), /^mkey:[0-9a-f]{64}$/);
  assert.match(formatDiscoPublic(k), /^discokey:[0-9a-f]{64}$/);
});

Deno.test("parseKey() accepts upper-case hex and rejects wrong prefix, length, characters", () => {
  const text = "nodekey:" + "AB".repeat(32);
  assert.deepEqual(parseNodePublic(text), new Uint8Array(32).fill(0xab));
  assert.throws(() => parseMachinePublic(text), SyntaxError);
  assert.throws(() => parseNodePublic("nodekey:" + "ab".repeat(31)), SyntaxError);
  assert.throws(() => parseNodePublic("nodekey:" + "zz".repeat(32)), SyntaxError);
  assert.throws(() => parseKey("disco", "discokey:"), SyntaxError);
});

Deno.test("a zero key formats as the prefix and 64 zeros", () => {
  assert.equal(formatNodePublic(new Uint8Array(32)), "nodekey:" + "0".repeat(64));
  assert.ok(isZeroKey(new Uint8Array(32)));
  assert.throws(() => formatNodePublic(new Uint8Array(31)), RangeError);
});

Deno.test("parseNodePublicLoose() takes derper's bare hex and Headscale's prefixed form", () => {
  const bare = fixture.server_public.slice(8);
  assert.deepEqual(parseNodePublicLoose(bare), parseNodePublic(fixture.server_public));
  assert.deepEqual(parseNodePublicLoose(fixture.server_public), fromHex(bare));
});

Deno.test("generateNodePrivate() returns clamped keys", () => {
  const k = generateNodePrivate();
  assert.equal(k[0] & 7, 0);
  assert.equal(k[31] & 0x80, 0);
  assert.equal(k[31] & 0x40, 0x40);
  const c = clamp(new Uint8Array(32).fill(0xff));
  assert.equal(toHex(c), "f8" + "ff".repeat(30) + "7f");
});

Deno.test("shortKey() is the first five base64 characters in brackets", () => {
  const k = parseNodePublic(fixture.client_node_public);
  const b64 = btoa(String.fromCharCode(...k));
  assert.equal(shortKey(k), `[${b64.slice(0, 5)}]`);
});
