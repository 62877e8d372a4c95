import assert from "node:assert/strict";
import { createCipheriv } from "node:crypto";
import { fromHex, toHex } from "../bytes/hex.ts";
import {
  ContentType,
  directionKeys,
  openRecord,
  sealedLength,
  sealRecord,
  TLS_AES_128_GCM_SHA256,
  TLS_CHACHA20_POLY1305_SHA256,
  updateKeys,
} from "./record.ts";
import { trafficKey } from "./key_schedule.ts";
import * as V from "./_rfc8448.ts";

Deno.test("the client Finished record of RFC 8448 §3 opens, and seals back to the same bytes", () => {
  const d = directionKeys(TLS_AES_128_GCM_SHA256, fromHex(V.C_HS));
  const rec = fromHex(V.CLIENT_FINISHED_RECORD);
  const inner = openRecord(TLS_AES_128_GCM_SHA256, d, 0, rec.slice());
  assert.ok(inner);
  assert.equal(inner.type, ContentType.Handshake);
  const opened = rec.slice();
  openRecord(TLS_AES_128_GCM_SHA256, d, 0, opened);
  assert.equal(toHex(opened.subarray(5, 5 + inner.length)), V.CLIENT_FINISHED);
  const out = new Uint8Array(sealedLength(inner.length));
  sealRecord(
    TLS_AES_128_GCM_SHA256,
    d,
    0,
    ContentType.Handshake,
    fromHex(V.CLIENT_FINISHED),
    out,
    0,
  );
  assert.equal(toHex(out), V.CLIENT_FINISHED_RECORD);
  // The wrong sequence number does not authenticate.
  assert.equal(openRecord(TLS_AES_128_GCM_SHA256, d, 1, rec.slice()), null);
});

Deno.test("ChaCha20-Poly1305 records match node:crypto's, and tampering is caught", () => {
  const secret = fromHex(V.S_AP);
  const d = directionKeys(TLS_CHACHA20_POLY1305_SHA256, secret);
  const plain = crypto.getRandomValues(new Uint8Array(1000));
  const seq = 2 ** 32 + 5; // both halves of the sequence number in the nonce
  const out = new Uint8Array(sealedLength(plain.length));
  sealRecord(TLS_CHACHA20_POLY1305_SHA256, d, seq, ContentType.ApplicationData, plain, out, 0);
  const { key, iv } = trafficKey(secret, 32);
  const nonce = iv.slice();
  const s = new Uint8Array(8);
  new DataView(s.buffer).setBigUint64(0, BigInt(seq));
  for (let i = 0; i < 8; i++) nonce[4 + i] ^= s[i];
  const c = createCipheriv("chacha20-poly1305", key, nonce, { authTagLength: 16 });
  c.setAAD(out.subarray(0, 5), { plaintextLength: plain.length + 1 });
  const body = new Uint8Array([...c.update(new Uint8Array([...plain, 23])), ...c.final()]);
  assert.equal(toHex(out.subarray(5)), toHex(new Uint8Array([...body, ...c.getAuthTag()])));
  const r = openRecord(TLS_CHACHA20_POLY1305_SHA256, d, seq, out.slice());
  assert.deepEqual(r, { type: ContentType.ApplicationData, length: plain.length });
  const bad = out.slice();
  bad[20] ^= 1;
  assert.equal(openRecord(TLS_CHACHA20_POLY1305_SHA256, d, seq, bad), null);
});

Deno.test("updateKeys() changes the key in place and both ends agree", () => {
  const a = directionKeys(TLS_CHACHA20_POLY1305_SHA256, fromHex(V.C_AP));
  const b = a.slice();
  updateKeys(TLS_CHACHA20_POLY1305_SHA256, a);
  assert.notEqual(toHex(a), toHex(b));
  updateKeys(TLS_CHACHA20_POLY1305_SHA256, b);
  assert.equal(toHex(a), toHex(b));
});
