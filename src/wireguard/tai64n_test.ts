import assert from "node:assert/strict";
import { toHex } from "../bytes/hex.ts";
import { compareTai64n, tai64n } from "./tai64n.ts";

Deno.test("tai64n() encodes 2^62 + 10 + seconds and whitened nanoseconds, big-endian", () => {
  assert.equal(toHex(tai64n(0)), "400000000000000a00000000");
  // 1.5 s: 500,000,000 ns rounded down to a multiple of 2^24 ns = 29 * 16777216 = 486539264.
  assert.equal(
    toHex(tai64n(1500)),
    "400000000000000b" + (29 * 2 ** 24).toString(16).padStart(8, "0"),
  );
  // 2^32 s carries into the high word.
  assert.equal(toHex(tai64n(2 ** 32 * 1000)), "400000010000000a00000000");
  // wireguard-go's own initiation carried 0x400000006b023546 / 0x0a000000.
  const t = tai64n((0x6b023546 - 10) * 1000 + 170);
  assert.equal(toHex(t), "400000006b0235460a000000");
});

Deno.test("tai64n() nanoseconds are always a multiple of 2^24", () => {
  for (const ms of [1, 16, 17, 999, 123_456_789]) {
    const t = tai64n(ms);
    const ns = new DataView(t.buffer).getUint32(8);
    assert.equal(ns % 2 ** 24, 0, `ms ${ms}`);
    assert.ok(ns <= (ms % 1000) * 1e6);
  }
});

Deno.test("tai64n() rejects negative and non-finite times", () => {
  assert.throws(() => tai64n(-1), RangeError);
  assert.throws(() => tai64n(NaN), RangeError);
});

Deno.test("compareTai64n() orders by time and treats whitened neighbours as equal", () => {
  const now = 1_700_000_000_000;
  assert.ok(compareTai64n(tai64n(now), tai64n(now + 20)) < 0);
  assert.ok(compareTai64n(tai64n(now + 1000), tai64n(now)) > 0);
  assert.equal(compareTai64n(tai64n(now), tai64n(now + 1)), 0);
  assert.ok(compareTai64n(tai64n(now + 999), tai64n(now + 1000)) < 0);
  assert.throws(() => compareTai64n(new Uint8Array(11), tai64n(0)), RangeError);
});
