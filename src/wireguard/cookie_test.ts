import assert from "node:assert/strict";
import { CookieChecker, CookieGenerator } from "./cookie.ts";
import { COOKIE_REFRESH_TIME } from "./constants.ts";
import { decodeCookieReply, parseMessageType } from "./messages.ts";
import { blake2s } from "../crypto/blake2s.ts";

const RESPONDER_PUB = new Uint8Array(32).fill(0x11);
const SRC = new Uint8Array([10, 0, 0, 1, 0xca, 0x6c]); // 10.0.0.1:51820
const OTHER_SRC = new Uint8Array([10, 0, 0, 2, 0xca, 0x6c]);

function initiation(fill = 7): Uint8Array {
  const m = new Uint8Array(148).fill(fill);
  m.set([1, 0, 0, 0]);
  return m;
}

Deno.test("CookieGenerator.addMacs() writes mac1 that CookieChecker accepts and mac2 zero", () => {
  const gen = new CookieGenerator(RESPONDER_PUB);
  const chk = new CookieChecker(RESPONDER_PUB);
  const m = initiation();
  gen.addMacs(m, 0);
  assert.ok(chk.checkMac1(m));
  assert.deepEqual(m.subarray(132), new Uint8Array(16));
  assert.equal(chk.checkMac2(m, SRC, 0), false);
  // mac1 is keyed BLAKE2s-128 under HASH("mac1----" ‖ pub) over everything before it.
  const key = blake2s(new Uint8Array([...new TextEncoder().encode("mac1----"), ...RESPONDER_PUB]));
  assert.deepEqual(m.subarray(116, 132), blake2s(m.subarray(0, 116), 16, key));
});

Deno.test("CookieChecker.checkMac1() rejects tampering, the wrong key and wrong sizes", () => {
  const gen = new CookieGenerator(RESPONDER_PUB);
  const chk = new CookieChecker(RESPONDER_PUB);
  const m = initiation();
  gen.addMacs(m, 0);
  for (const i of [0, 50, 115, 116, 131]) {
    const bad = m.slice();
    bad[i] ^= 1;
    assert.equal(chk.checkMac1(bad), false, `byte ${i}`);
  }
  assert.equal(new CookieChecker(new Uint8Array(32).fill(0x12)).checkMac1(m), false);
  assert.equal(chk.checkMac1(m.subarray(0, 100)), false);
  const response = new Uint8Array(92);
  response[0] = 2;
  gen.addMacs(response, 0);
  assert.ok(chk.checkMac1(response));
});

Deno.test("cookie round trip: mac2 appears only after a reply and is bound to the source", () => {
  const gen = new CookieGenerator(RESPONDER_PUB);
  const chk = new CookieChecker(RESPONDER_PUB);
  const t0 = 1_000_000;
  const m = initiation();
  gen.addMacs(m, t0);
  const reply = chk.createReply(m, 0x01020304, SRC, t0);
  assert.equal(reply.length, 64);
  assert.equal(parseMessageType(reply), 3);
  assert.equal(decodeCookieReply(reply)!.receiver, 0x01020304);
  assert.ok(gen.consumeReply(reply, t0 + 10));

  const m2 = initiation(8);
  gen.addMacs(m2, t0 + 20);
  assert.notDeepEqual(m2.subarray(132), new Uint8Array(16));
  assert.ok(chk.checkMac1(m2));
  assert.ok(chk.checkMac2(m2, SRC, t0 + 30));
  assert.equal(chk.checkMac2(m2, OTHER_SRC, t0 + 30), false);
  const bad = m2.slice();
  bad[140] ^= 1;
  assert.equal(chk.checkMac2(bad, SRC, t0 + 30), false);
});

Deno.test("cookie: a reply only opens for the message whose mac1 it answers", () => {
  const gen = new CookieGenerator(RESPONDER_PUB);
  const chk = new CookieChecker(RESPONDER_PUB);
  const m = initiation();
  assert.equal(gen.consumeReply(chk.createReply(m, 1, SRC, 0), 0), false, "no mac1 sent yet");
  gen.addMacs(m, 0);
  const reply = chk.createReply(m, 1, SRC, 0);
  const m2 = initiation(9);
  gen.addMacs(m2, 0); // a newer message changes the remembered mac1
  assert.equal(gen.consumeReply(reply, 0), false);
  const tampered = chk.createReply(m2, 1, SRC, 0);
  tampered[40] ^= 1;
  assert.equal(gen.consumeReply(tampered, 0), false);
  assert.equal(gen.consumeReply(new Uint8Array(63), 0), false);
  // A reply keyed for another responder does not open.
  const other = new CookieChecker(new Uint8Array(32).fill(0x22));
  const m3 = initiation(9);
  gen.addMacs(m3, 0);
  assert.equal(gen.consumeReply(other.createReply(m3, 1, SRC, 0), 0), false);
  assert.ok(gen.consumeReply(chk.createReply(m3, 1, SRC, 0), 0));
});

Deno.test("cookie: a stale cookie is not used and a stale secret fails mac2", () => {
  const gen = new CookieGenerator(RESPONDER_PUB);
  const chk = new CookieChecker(RESPONDER_PUB);
  const m = initiation();
  gen.addMacs(m, 0);
  assert.ok(gen.consumeReply(chk.createReply(m, 1, SRC, 0), 0));

  const fresh = initiation(5);
  gen.addMacs(fresh, COOKIE_REFRESH_TIME - 1);
  assert.ok(chk.checkMac2(fresh, SRC, COOKIE_REFRESH_TIME - 1));
  // The same cookie presented after the secret's lifetime is refused by the checker.
  assert.equal(chk.checkMac2(fresh, SRC, COOKIE_REFRESH_TIME), false);

  const stale = initiation(5);
  gen.addMacs(stale, COOKIE_REFRESH_TIME);
  assert.deepEqual(stale.subarray(132), new Uint8Array(16), "a 120 s old cookie is not used");
});

Deno.test("cookie: the checker's secret rotates after COOKIE_REFRESH_TIME", () => {
  const gen = new CookieGenerator(RESPONDER_PUB);
  const chk = new CookieChecker(RESPONDER_PUB);
  const m = initiation();
  gen.addMacs(m, 0);
  assert.ok(gen.consumeReply(chk.createReply(m, 1, SRC, 0), 0));
  // A second reply within the period uses the same secret, so the cookie still validates.
  const m2 = initiation(2);
  gen.addMacs(m2, 1000);
  chk.createReply(m2, 1, SRC, 1000);
  assert.ok(chk.checkMac2(m2, SRC, 1000));
  // After rotation, an old cookie is useless even within the generator's lifetime.
  const t = COOKIE_REFRESH_TIME + 5;
  const m3 = initiation(3);
  gen.addMacs(m3, 1000);
  chk.createReply(m3, 1, SRC, t);
  assert.equal(chk.checkMac2(m3, SRC, t), false);
});

Deno.test("cookie: addMacs and createReply reject messages that are not handshakes", () => {
  assert.throws(
    () => new CookieGenerator(RESPONDER_PUB).addMacs(new Uint8Array(64), 0),
    RangeError,
  );
  assert.throws(
    () => new CookieChecker(RESPONDER_PUB).createReply(new Uint8Array(32), 1, SRC, 0),
    RangeError,
  );
  assert.throws(() => new CookieChecker(new Uint8Array(31)), RangeError);
});
