import assert from "node:assert/strict";
import { RecordOpener, RecordSealer } from "./record.ts";
import { FrameDecoder } from "./frame.ts";
import { beNonce, ChaChaPoly } from "../../crypto/aead.ts";

const key = new Uint8Array(32).map((_, i) => i);

Deno.test("RecordSealer splits writes into ≤4077-byte records that RecordOpener opens in order", () => {
  const s = new RecordSealer(key), o = new RecordOpener(key);
  const data = new Uint8Array(10000).map((_, i) => i & 0xff);
  const wire = s.seal(data);
  const d = new FrameDecoder();
  d.push(wire);
  const sizes: number[] = [];
  const parts: number[] = [];
  for (let f = d.next(); f !== null; f = d.next()) {
    const pt = o.open(f.payload);
    sizes.push(pt.length);
    parts.push(...pt);
  }
  assert.deepEqual(sizes, [4077, 4077, 1846]);
  assert.deepEqual(Uint8Array.from(parts), data);
  assert.equal(s.counter, 3);
  assert.equal(o.counter, 3);
  assert.equal(s.seal(new Uint8Array(0)).length, 0);
});

Deno.test("record nonces are big-endian counters (not Noise's little-endian)", () => {
  const s = new RecordSealer(key);
  s.seal(Uint8Array.of(1));
  const second = s.seal(Uint8Array.of(2)).subarray(3);
  const aead = new ChaChaPoly(key);
  assert.deepEqual(aead.open(beNonce(1), second), Uint8Array.of(2));
  const le = new Uint8Array(12);
  le[4] = 1;
  assert.equal(aead.open(le.fill(0, 0, 4).fill(0, 5), second), null);
});

Deno.test("RecordOpener rejects a tampered, replayed or reordered record", () => {
  const s = new RecordSealer(key);
  const a = s.seal(Uint8Array.of(1, 2, 3)).subarray(3);
  const b = s.seal(Uint8Array.of(4)).subarray(3);
  const o = new RecordOpener(key);
  assert.throws(() => o.open(b), /did not authenticate/);
  const bad = a.slice();
  bad[0] ^= 1;
  assert.throws(() => o.open(bad), /did not authenticate/);
  assert.deepEqual(o.open(a), Uint8Array.of(1, 2, 3));
  assert.throws(() => o.open(a), /did not authenticate/);
});
