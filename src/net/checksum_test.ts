import assert from "node:assert/strict";
import { foldSum, sumBytes } from "./checksum.ts";
import { allocPacketBuffer, freePacketBuffer, isWasmBuffer } from "../crypto/wasm/arena.ts";
import { cryptoWasm } from "../crypto/wasm/instance.ts";

/** RFC 1071 by the letter: 16-bit big-endian words, an odd last byte padded, end-around carry. */
function reference(b: Uint8Array, start: number, end: number, acc = 0): number {
  let s = acc;
  for (let i = start; i < end; i += 2) {
    s += (b[i] << 8) | (i + 1 < end ? b[i + 1] : 0);
    s = (s & 0xffff) + (s >>> 16);
  }
  return foldSum(s);
}

/** A deterministic byte stream (xorshift32), so a failure names a reproducible case. */
function fill(b: Uint8Array, seed: number): void {
  let x = seed | 1;
  for (let i = 0; i < b.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    b[i] = x;
  }
}

Deno.test("sumBytes in wasm memory and in JS memory agree with RFC 1071 at every length and alignment", () => {
  cryptoWasm();
  const wasm = allocPacketBuffer(4096);
  try {
    assert.ok(isWasmBuffer(wasm));
    const js = new Uint8Array(4096);
    for (let seed = 1; seed <= 8; seed++) {
      fill(wasm, seed * 7919);
      js.set(wasm);
      for (const start of [0, 1, 2, 3, 15, 17]) {
        for (let len = 0; len <= 1500; len += len < 200 ? 1 : 37) {
          const end = start + len, acc = seed * 0x1234;
          const want = reference(js, start, end, acc);
          assert.equal(foldSum(sumBytes(wasm, start, end, acc)), want, `wasm ${start}+${len}`);
          assert.equal(foldSum(sumBytes(js, start, end, acc)), want, `js ${start}+${len}`);
        }
      }
    }
  } finally {
    freePacketBuffer(wasm);
  }
});

Deno.test("sumBytes in wasm memory: the RFC 1071 example, all-ones, all-zero and a 3 MiB range", () => {
  const w = cryptoWasm();
  const big = allocPacketBuffer(3 << 20);
  try {
    // RFC 1071 §3: 0001 f203 f4f5 f6f7, past the 64 bytes that stay in JS.
    big.fill(0, 0, 128);
    big.set([0, 1, 0xf2, 3, 0xf4, 0xf5, 0xf6, 0xf7], 100);
    assert.equal(foldSum(sumBytes(big, 0, 128)), 0xddf2);
    assert.equal(w.fn.inet_sum(big.byteOffset, 128), 0xddf2);
    // Zero only for all-zero bytes: 0xffff words fold to 0xffff, not 0.
    assert.equal(w.fn.inet_sum(big.byteOffset + 200, 0), 0);
    assert.equal(w.fn.inet_sum(big.byteOffset + 200, 1000), 0);
    big.fill(0xff, 0, 1000);
    assert.equal(w.fn.inet_sum(big.byteOffset, 1000), 0xffff);
    assert.equal(w.fn.inet_sum(big.byteOffset, 999), 0xff00); // the odd byte is a high byte
    // Past the 1 MiB the 32-bit lanes take before they are widened, with every lane near full.
    big.fill(0xff);
    assert.equal(foldSum(sumBytes(big, 0, big.length)), reference(big, 0, big.length));
    fill(big, 99);
    for (const len of [(1 << 20) - 64, 1 << 20, (1 << 20) + 64 + 17, big.length - 1]) {
      assert.equal(foldSum(sumBytes(big, 1, 1 + len)), reference(big, 1, 1 + len), `${len}`);
    }
  } finally {
    freePacketBuffer(big);
  }
});
