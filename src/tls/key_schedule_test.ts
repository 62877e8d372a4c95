import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import {
  applicationSecrets,
  finishedVerifyData,
  handshakeSecrets,
  nextTrafficSecret,
  trafficKey,
} from "./key_schedule.ts";
import * as V from "./_rfc8448.ts";

Deno.test("handshake secrets match RFC 8448 §3", () => {
  const hs = handshakeSecrets(fromHex(V.SHARED), fromHex(V.HELLO_HASH));
  assert.equal(toHex(hs.handshake), V.HANDSHAKE_SECRET);
  assert.equal(toHex(hs.client), V.C_HS);
  assert.equal(toHex(hs.server), V.S_HS);
  const s = trafficKey(hs.server, 16);
  assert.equal(toHex(s.key), "3fce516009c21727d0f2e4e86ee403bc");
  assert.equal(toHex(s.iv), "5d313eb2671276ee13000b30");
  const c = trafficKey(hs.client, 16);
  assert.equal(toHex(c.key), "dbfaa693d1762c5b666af5d950258d01");
  assert.equal(toHex(c.iv), "5bd3c71b836e0b76bb73265f");
});

Deno.test("application secrets and the client Finished match RFC 8448 §3", () => {
  const app = applicationSecrets(fromHex(V.HANDSHAKE_SECRET), fromHex(V.FINISHED_HASH));
  assert.equal(toHex(app.client), V.C_AP);
  assert.equal(toHex(app.server), V.S_AP);
  assert.equal(
    toHex(finishedVerifyData(fromHex(V.C_HS), fromHex(V.FINISHED_HASH))),
    V.CLIENT_FINISHED.slice(8),
  );
});

Deno.test("a KeyUpdate moves to a different secret every time", () => {
  const a = fromHex(V.C_AP);
  const b = nextTrafficSecret(a);
  assert.equal(b.length, 32);
  assert.notEqual(toHex(b), toHex(a));
  assert.notEqual(toHex(nextTrafficSecret(b)), toHex(b));
});
