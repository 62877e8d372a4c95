import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import { formatWgKey, parseWgKey, WG_KEY_LEN } from "./wg_key.ts";

Deno.test("parseWgKey() reads the keys of the wg(8) man page example", () => {
  // Keys from the CONFIGURATION FILE FORMAT EXAMPLE of wg(8).
  for (
    const text of [
      "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=",
      "xTIBA5rboUvnH4htodjb6e697QjLERt1NAB4mZqp8Dg=",
      "TrMvSoP4jYQlY6RIzBgbssQqY3vxI2Pi+y71lOWWXX0=",
      "gN65BkIKy1eCE9pP1wdc8ROUtkHLF2PfAqYdyYBz6EA=",
    ]
  ) {
    const k = parseWgKey(text);
    assert.equal(k.length, WG_KEY_LEN);
    assert.deepEqual(k, new Uint8Array(atobBytes(text)));
    assert.equal(formatWgKey(k), text);
  }
});

Deno.test("formatWgKey() writes RFC 7748 keys as standard base64", () => {
  // RFC 7748 §6.1 Alice's private and public keys.
  const priv = fromHex("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
  const pub = fromHex("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
  assert.equal(formatWgKey(priv), "dwdtCnMYpX08FsFyUbJmRd9ML4frwJkqsXf7pR25LCo=");
  assert.equal(formatWgKey(pub), "hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=");
  assert.equal(toHex(parseWgKey("hSDwCYkwp1R0i33ctD73Wg2/Og0mOBr066SpjqqbTmo=")), toHex(pub));
  assert.equal(formatWgKey(new Uint8Array(32)), "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=");
});

Deno.test("formatWgKey() and parseWgKey() agree with btoa/atob on random keys", () => {
  const k = new Uint8Array(32);
  for (let i = 0; i < 2000; i++) {
    crypto.getRandomValues(k);
    const text = formatWgKey(k);
    assert.equal(text, btoa(String.fromCharCode(...k)));
    assert.deepEqual(parseWgKey(text), k);
  }
});

Deno.test("parseWgKey() rejects malformed keys, naming the key but not echoing it", () => {
  const good = "yAnz5TF+lXXJte14tji3zlMNq+hd2rYUIgJBgB3fBmk=";
  const cases: Array<[string, RegExp]> = [
    ["", /want 44 base64 characters, got 0/],
    [good.slice(0, 43), /want 44 base64 characters, got 43/],
    [good + "=", /got 45/],
    [` ${good.slice(1)}`, /invalid base64 character at position 1/],
    [good.slice(0, 43) + "A", /want '=' as the 44th character/],
    [good.replace("+", "-"), /invalid base64 character at position 8/], // URL-safe alphabet
    [good.slice(0, 10) + "é" + good.slice(11), /invalid base64 character at position 11/],
    [good.slice(0, 42) + "==", /unexpected '=' at position 43/],
    [good.slice(0, 42) + "l=", /non-zero unused bits/], // 'l' = 37: low bits set
    ["77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a", /looks like hex/],
  ];
  for (const [input, why] of cases) {
    assert.throws(() => parseWgKey(input, "PrivateKey"), (e: unknown) => {
      assert.ok(e instanceof SyntaxError, input);
      assert.match(e.message, why, input);
      assert.ok(e.message.startsWith("Cannot parse PrivateKey: "), e.message);
      if (input.length > 8) assert.ok(!e.message.includes(input.slice(0, 8)), "key text echoed");
      return true;
    });
  }
  assert.throws(() => parseWgKey("x"), /^SyntaxError: Cannot parse key: /);
});

Deno.test("formatWgKey() rejects keys that are not 32 bytes", () => {
  assert.throws(() => formatWgKey(new Uint8Array(31)), TypeError);
  assert.throws(() => formatWgKey(new Uint8Array(33)), /of 33 bytes, want 32/);
});

function atobBytes(s: string): number[] {
  return Array.from(atob(s), (c) => c.charCodeAt(0));
}
