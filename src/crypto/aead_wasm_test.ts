import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import { randomBytes } from "node:crypto";
import { ChaChaPoly, wgNonce } from "./aead.ts";
import * as aeadWasm from "./aead_wasm.ts";
import { WasmChaChaPoly } from "./aead_wasm.ts";
import { allocPacketBuffer, freePacketBuffer, packetArenaInUse } from "./wasm/arena.ts";
import { cryptoWasm } from "./wasm/instance.ts";
import { A5, V282 } from "./_rfc8439_test_util.ts";

const rand = (n: number) => new Uint8Array(randomBytes(n));
const SUNSCREEN = V282.pt;

Deno.test("WasmChaChaPoly.seal() and open() match RFC 8439 §2.8.2", () => {
  using aead = new WasmChaChaPoly(V282.key);
  assert.equal(toHex(aead.seal(V282.nonce, SUNSCREEN, V282.ad)), V282.sealed);
  assert.deepEqual(aead.open(V282.nonce, fromHex(V282.sealed), V282.ad), SUNSCREEN);
  // The same through a wasm buffer, in place.
  const buf = allocPacketBuffer(SUNSCREEN.length + 16);
  buf.set(SUNSCREEN);
  assert.equal(aead.sealInto(V282.nonce, buf.subarray(0, SUNSCREEN.length), buf, 0, V282.ad), 130);
  assert.equal(toHex(buf), V282.sealed);
  freePacketBuffer(buf);
});

Deno.test("ChaChaPoly and WasmChaChaPoly reject the same destination offsets", () => {
  const native = new ChaChaPoly(V282.key);
  using wasm = new WasmChaChaPoly(V282.key);
  const sealed = native.seal(V282.nonce, V282.pt);
  for (const aead of [native, wasm]) {
    for (const off of [-1, 1.5, NaN, 200]) {
      const dst = new Uint8Array(260);
      assert.throws(
        () => aead.sealInto(V282.nonce, V282.pt, dst, off),
        new RangeError(`Cannot seal 114 bytes into a 260-byte buffer at offset ${off}`),
      );
      assert.throws(
        () => aead.openInto(V282.nonce, sealed, dst, off),
        new RangeError(`Cannot open 114 bytes into a 260-byte buffer at offset ${off}`),
      );
    }
  }
  const badKey = new RangeError("Cannot create ChaCha20-Poly1305 key: expected 32 bytes, got 31");
  assert.throws(() => new ChaChaPoly(new Uint8Array(31)), badKey);
  assert.throws(() => new WasmChaChaPoly(new Uint8Array(31)), badKey);
});

Deno.test("WasmChaChaPoly.open() decrypts RFC 8439 Appendix A.5", () => {
  using aead = new WasmChaChaPoly(A5.key);
  const pt = aead.open(A5.nonce, A5.sealed, A5.ad);
  assert.ok(pt);
  assert.equal(new TextDecoder().decode(pt), A5.pt);
});

Deno.test("WasmChaChaPoly matches node:crypto for every length 0..300 and random ones to 2048", () => {
  const key = rand(32);
  const native = new ChaChaPoly(key);
  using aead = new WasmChaChaPoly(key);
  const wbuf = allocPacketBuffer(2048 + 16 + 64);
  const lengths = Array.from({ length: 301 }, (_, i) => i);
  for (let i = 0; i < 60; i++) lengths.push(301 + Math.floor(Math.random() * 1748));
  lengths.push(1420, 2048);
  try {
    for (const len of lengths) {
      for (const ad of [undefined, rand(len % 37), rand(1 + (len % 300))]) {
        const nonce = rand(12), pt = rand(len);
        const want = native.seal(nonce, pt, ad);
        assert.deepEqual(aead.seal(nonce, pt, ad), want, `seal, length ${len}`);
        assert.deepEqual(aead.open(nonce, want, ad), pt, `open, length ${len}`);
        assert.deepEqual(native.open(nonce, aead.seal(nonce, pt, ad), ad), pt);
        // In place inside wasm memory (zero copy), at an odd offset.
        wbuf.set(pt, 3);
        assert.equal(aead.sealInto(nonce, wbuf.subarray(3, 3 + len), wbuf, 3, ad), len + 16);
        assert.deepEqual(wbuf.subarray(3, 3 + len + 16), want, `in-place seal, length ${len}`);
        assert.equal(aead.openInto(nonce, wbuf.subarray(3, 3 + len + 16), wbuf, 3, ad), len);
        assert.deepEqual(wbuf.subarray(3, 3 + len), pt, `in-place open, length ${len}`);
      }
      // WireGuard entry points: no AD, counter nonce; wasm buffer and plain buffer agree.
      const counter = Math.floor(Math.random() * 2 ** 40);
      const pt = rand(len);
      const want = native.seal(wgNonce(counter), pt);
      const plain = new Uint8Array(len + 16 + 5);
      plain.set(pt, 5);
      assert.equal(aead.sealInPlace(counter, plain, 5, len), len + 16);
      assert.deepEqual(plain.subarray(5), want, `sealInPlace copy path, length ${len}`);
      wbuf.set(pt, 0);
      assert.equal(aead.sealInPlace(counter, wbuf, 0, len), len + 16);
      assert.deepEqual(wbuf.subarray(0, len + 16), want, `sealInPlace zero copy, length ${len}`);
      assert.equal(aead.openInPlace(counter, plain, 5, len + 16), len);
      assert.deepEqual(plain.subarray(5, 5 + len), pt);
      assert.equal(aead.openInPlace(counter, wbuf, 0, len + 16), len);
      assert.deepEqual(wbuf.subarray(0, len), pt);
    }
  } finally {
    freePacketBuffer(wbuf);
  }
});

Deno.test("WasmChaChaPoly rejects tampering with -1 / null and leaves openInto's dst untouched", () => {
  const key = rand(32);
  using aead = new WasmChaChaPoly(key);
  const wbuf = allocPacketBuffer(1500);
  try {
    for (const len of [0, 1, 15, 16, 100, 1420]) {
      const pt = rand(len);
      const sealed = aead.seal(wgNonce(9), pt);
      for (const i of [0, len >> 1, len, len + 15].filter((i) => i < sealed.length)) {
        const bad = sealed.slice();
        bad[i] ^= 0x01;
        assert.equal(aead.open(wgNonce(9), bad), null, `flip byte ${i} of ${len}`);
        const dst = new Uint8Array(len).fill(0xaa);
        assert.equal(aead.openInto(wgNonce(9), bad, dst, 0), -1);
        assert.ok(dst.every((b) => b === 0xaa), "dst untouched");
        assert.equal(aead.openInPlace(9, bad.slice(), 0, bad.length), -1);
        wbuf.set(bad);
        assert.equal(aead.openInPlace(9, wbuf, 0, bad.length), -1);
      }
      // Wrong counter, wrong AD, wrong key.
      assert.equal(aead.openInPlace(10, sealed.slice(), 0, sealed.length), -1);
      assert.equal(aead.open(wgNonce(9), sealed, new Uint8Array(1)), null);
      using other = new WasmChaChaPoly(rand(32));
      assert.equal(other.open(wgNonce(9), sealed), null);
    }
    assert.equal(aead.open(wgNonce(0), new Uint8Array(15)), null);
    assert.equal(aead.openInPlace(0, wbuf, 0, 15), -1);
    assert.equal(aead.openInto(wgNonce(0), new Uint8Array(3), new Uint8Array(0), 0), -1);
  } finally {
    freePacketBuffer(wbuf);
  }
});

Deno.test("WasmChaChaPoly counters near 2^32 and 2^53 give WireGuard's nonce", () => {
  const key = rand(32);
  const native = new ChaChaPoly(key);
  using aead = new WasmChaChaPoly(key);
  const pt = rand(300);
  for (
    const c of [0, 1, 2 ** 32 - 1, 2 ** 32, 2 ** 32 + 1, 2 ** 52 + 3, 2 ** 53 - 2, 2 ** 53 - 1]
  ) {
    const buf = new Uint8Array(316);
    buf.set(pt);
    aead.sealInPlace(c, buf, 0, 300);
    assert.deepEqual(buf, native.seal(wgNonce(c), pt), `counter ${c}`);
    assert.equal(aead.openInPlace(c, buf, 0, 316), 300);
    assert.deepEqual(buf.subarray(0, 300), pt);
  }
  for (const c of [2 ** 53, -1, 1.5, NaN, Infinity, 2 ** 64]) {
    assert.throws(() => aead.sealInPlace(c, new Uint8Array(32), 0, 0), RangeError, `${c}`);
    assert.throws(() => aead.openInPlace(c, new Uint8Array(32), 0, 16), RangeError, `${c}`);
  }
});

Deno.test("WasmChaChaPoly handles aliasing between source, destination and wasm memory", () => {
  const key = rand(32);
  const native = new ChaChaPoly(key);
  using aead = new WasmChaChaPoly(key);
  const nonce = rand(12), ad = rand(20), pt = rand(700);
  const want = native.seal(nonce, pt, ad);
  const buf = allocPacketBuffer(1600);
  try {
    for (const [src, dst] of [[0, 0], [0, 5], [5, 0], [0, 256], [256, 0], [0, 800], [800, 0]]) {
      buf.fill(0);
      buf.set(pt, src);
      assert.equal(aead.sealInto(nonce, buf.subarray(src, src + 700), buf, dst, ad), 716);
      assert.deepEqual(buf.subarray(dst, dst + 716), want, `seal ${src} -> ${dst}`);
      buf.fill(0);
      buf.set(want, src);
      assert.equal(aead.openInto(nonce, buf.subarray(src, src + 716), buf, dst, ad), 700);
      assert.deepEqual(buf.subarray(dst, dst + 700), pt, `open ${src} -> ${dst}`);
    }
    // Associated data inside the destination range is read before it is overwritten.
    buf.set(pt, 0);
    buf.set(ad, 100);
    const want2 = native.seal(nonce, buf.slice(0, 700), ad);
    aead.sealInto(nonce, buf.subarray(0, 700), buf, 0, buf.subarray(100, 120));
    assert.deepEqual(buf.subarray(0, 716), want2);
    // Plain JS source into wasm destination, and wasm source into plain destination.
    const out = new Uint8Array(716);
    buf.set(want, 0);
    assert.equal(aead.openInto(nonce, buf.subarray(0, 716), out, 0, ad), 700);
    assert.deepEqual(out.subarray(0, 700), pt);
    assert.equal(aead.sealInto(nonce, pt, buf, 10, ad), 716);
    assert.deepEqual(buf.subarray(10, 726), want);
  } finally {
    freePacketBuffer(buf);
  }
});

Deno.test("WasmChaChaPoly matches node:crypto beyond the 128 KiB scratch area (arena detour)", () => {
  const key = rand(32);
  const native = new ChaChaPoly(key);
  using aead = new WasmChaChaPoly(key);
  const nonce = rand(12), pt = rand(200_000), ad = rand(20_000);
  const want = native.seal(nonce, pt);
  assert.deepEqual(aead.seal(nonce, pt), want);
  assert.deepEqual(aead.open(nonce, want), pt);
  const withAd = native.seal(nonce, pt.subarray(0, 50), ad);
  assert.deepEqual(aead.seal(nonce, pt.subarray(0, 50), ad), withAd);
  assert.deepEqual(aead.open(nonce, withAd, ad), pt.subarray(0, 50));
  const bad = want.slice();
  bad[1000] ^= 1;
  assert.equal(aead.open(nonce, bad), null);
  const inUse = packetArenaInUse();
  aead.seal(nonce, pt);
  assert.equal(packetArenaInUse(), inUse, "the detour's buffer goes back to the arena");
  const buf = new Uint8Array(200_016);
  buf.set(pt);
  aead.sealInPlace(77, buf, 0, 200_000);
  assert.deepEqual(buf, native.seal(wgNonce(77), pt));
  assert.equal(aead.openInPlace(77, buf, 0, 200_016), 200_000);
  assert.deepEqual(buf.subarray(0, 200_000), pt);
  // A large wasm buffer needs no scratch at all.
  const big = allocPacketBuffer(200_016);
  big.set(pt);
  aead.sealInPlace(78, big, 0, 200_000);
  assert.deepEqual(big, native.seal(wgNonce(78), pt));
  freePacketBuffer(big);
});

Deno.test("WasmChaChaPoly rejects bad keys, nonces and bounds with RangeError", () => {
  assert.throws(() => new WasmChaChaPoly(new Uint8Array(31)), RangeError);
  using aead = new WasmChaChaPoly(new Uint8Array(32));
  assert.throws(() => aead.seal(new Uint8Array(8), new Uint8Array(1)), RangeError);
  assert.throws(() => aead.open(new Uint8Array(13), new Uint8Array(20)), RangeError);
  assert.throws(() => aead.sealInto(wgNonce(0), new Uint8Array(10), new Uint8Array(25), 0));
  assert.throws(() => aead.sealInto(wgNonce(0), new Uint8Array(1), new Uint8Array(40), -1));
  assert.throws(() => aead.openInto(wgNonce(0), new Uint8Array(30), new Uint8Array(13), 0));
  const buf = allocPacketBuffer(64);
  try {
    assert.throws(() => aead.sealInPlace(0, buf, 0, 49), RangeError);
    assert.throws(() => aead.sealInPlace(0, buf, -1, 1), RangeError);
    assert.throws(() => aead.sealInPlace(0, buf, 0.5, 1), RangeError);
    assert.throws(() => aead.openInPlace(0, buf, 1, 64), RangeError);
    assert.equal(aead.sealInPlace(0, buf, 0, 48), 64);
  } finally {
    freePacketBuffer(buf);
  }
});

Deno.test("WasmChaChaPoly.dispose() zeroes the key slot, reuses it, and later calls throw", () => {
  const w = cryptoWasm();
  const key = new Uint8Array(32).fill(0x5a);
  const aead = new WasmChaChaPoly(key);
  const slotOf = () => {
    for (let a = w.keySlots + 32; a < w.keySlots + 32 * w.keySlotCount; a += 32) {
      if (w.bytes[a] === 0x5a && w.bytes[a + 31] === 0x5a) return a;
    }
    return -1;
  };
  const slot = slotOf();
  assert.ok(slot > 0);
  aead.dispose();
  assert.equal(slotOf(), -1);
  assert.ok(w.bytes.subarray(slot, slot + 32).every((b) => b === 0));
  assert.throws(() => aead.seal(wgNonce(0), new Uint8Array(1)), /disposed/);
  assert.throws(() => aead.sealInPlace(0, new Uint8Array(16), 0, 0), /disposed/);
  aead.dispose(); // idempotent
  const again = new WasmChaChaPoly(key);
  assert.equal(slotOf(), slot);
  again.dispose();
});

Deno.test("WasmChaChaPoly keeps working when every key slot is taken", () => {
  const w = cryptoWasm();
  const keys: WasmChaChaPoly[] = [];
  try {
    for (let i = 0; i < w.keySlotCount + 10; i++) {
      keys.push(new WasmChaChaPoly(new Uint8Array(32).fill(i & 0xff)));
    }
    // The last ones share slot 0; each must still use its own key.
    const pt = rand(100);
    for (const i of [0, w.keySlotCount - 2, w.keySlotCount + 5, w.keySlotCount + 9]) {
      const native = new ChaChaPoly(new Uint8Array(32).fill(i & 0xff));
      assert.deepEqual(keys[i].seal(wgNonce(i), pt), native.seal(wgNonce(i), pt), `key ${i}`);
      const buf = allocPacketBuffer(116);
      buf.set(pt);
      keys[i].sealInPlace(i, buf, 0, 100);
      assert.deepEqual(buf, native.seal(wgNonce(i), pt));
      freePacketBuffer(buf);
    }
  } finally {
    keys.forEach((k) => k.dispose());
  }
});

Deno.test("aead_wasm.ts holds only the AEAD: packet buffers come from wasm/arena.ts", () => {
  assert.deepEqual(Object.keys(aeadWasm), ["WasmChaChaPoly"]);
});
