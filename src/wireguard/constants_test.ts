import assert from "node:assert/strict";
import * as c from "./constants.ts";

Deno.test("constants: message sizes add up from their fields", () => {
  assert.equal(
    c.MESSAGE_INITIATION_SIZE,
    4 + 4 + 32 + (32 + c.TAG_SIZE) + (c.TIMESTAMP_SIZE + c.TAG_SIZE) + 2 * c.MAC_SIZE,
  );
  assert.equal(c.MESSAGE_RESPONSE_SIZE, 4 + 4 + 4 + 32 + c.TAG_SIZE + 2 * c.MAC_SIZE);
  assert.equal(
    c.MESSAGE_COOKIE_REPLY_SIZE,
    4 + 4 + c.COOKIE_NONCE_SIZE + c.COOKIE_SIZE + c.TAG_SIZE,
  );
  assert.equal(c.MESSAGE_TRANSPORT_MIN_SIZE, 32);
});

Deno.test("constants: the message limits keep their order", () => {
  assert.ok(c.REKEY_AFTER_MESSAGES < c.REJECT_AFTER_MESSAGES_SAFE * 2 ** 11);
  assert.ok(c.REJECT_AFTER_MESSAGES_SAFE < c.REJECT_AFTER_MESSAGES);
  assert.ok(Number.isSafeInteger(c.REJECT_AFTER_MESSAGES_SAFE));
  assert.ok(c.REKEY_AFTER_TIME < c.REJECT_AFTER_TIME);
  assert.equal(c.MAX_TIMER_HANDSHAKES, 18);
  assert.equal(new TextEncoder().encode(c.CONSTRUCTION).length, 37);
  assert.equal(new TextEncoder().encode(c.IDENTIFIER).length, 34);
});
