import assert from "node:assert/strict";
import {
  allocPacketBuffer,
  allocPacketBuffers,
  freePacketBuffer,
  isWasmBuffer,
  packetArenaCapacity,
  packetArenaInUse,
} from "./arena.ts";
import { cryptoWasm, WASM_MEMORY_SIZE } from "./instance.ts";

Deno.test("allocPacketBuffer() hands out zeroed, 64-byte aligned, disjoint wasm views", () => {
  const before = packetArenaInUse();
  const bufs = allocPacketBuffers(8, 1500);
  try {
    assert.equal(packetArenaInUse(), before + 8 * 1536);
    const w = cryptoWasm();
    for (const b of bufs) {
      assert.ok(isWasmBuffer(b));
      assert.equal(b.length, 1500);
      assert.equal(b.byteOffset % 64, 0);
      assert.ok(b.byteOffset >= w.arenaStart && b.byteOffset + 1500 <= WASM_MEMORY_SIZE);
      assert.ok(b.every((x) => x === 0));
    }
    const starts = bufs.map((b) => b.byteOffset).sort((a, b) => a - b);
    for (let i = 1; i < starts.length; i++) assert.ok(starts[i] - starts[i - 1] >= 1536);
  } finally {
    bufs.forEach(freePacketBuffer);
  }
  assert.equal(packetArenaInUse(), before);
});

Deno.test("freePacketBuffer() zeroes the buffer and the next same-size allocation reuses it", () => {
  const a = allocPacketBuffer(2000);
  a.fill(0xee);
  const at = a.byteOffset;
  freePacketBuffer(a);
  assert.ok(a.every((x) => x === 0), "freed memory is wiped");
  const b = allocPacketBuffer(1990); // rounds to the same 2048-byte class
  assert.equal(b.byteOffset, at);
  freePacketBuffer(b);
});

Deno.test("freePacketBuffer() rejects foreign buffers and double frees with TypeError", () => {
  assert.throws(() => freePacketBuffer(new Uint8Array(16)), TypeError);
  const a = allocPacketBuffer(16);
  freePacketBuffer(a);
  assert.throws(() => freePacketBuffer(a), TypeError);
});

Deno.test("allocPacketBuffer() rejects bad sizes and reports a full arena with RangeError", () => {
  for (const n of [0, -1, 1.5, NaN]) assert.throws(() => allocPacketBuffer(n), RangeError);
  assert.ok(packetArenaCapacity() > 31 * 1024 * 1024);
  // Fill the arena in 1 MiB pieces: about 31 of them fit, then a RangeError.
  const held: Uint8Array[] = [];
  try {
    assert.throws(() => {
      for (let i = 0; i < 64; i++) held.push(allocPacketBuffer(1024 * 1024));
    }, /arena is full/);
    assert.ok(held.length >= 30 && held.length < 32, `${held.length} MiB fitted`);
  } finally {
    held.forEach(freePacketBuffer);
  }
});

Deno.test("isWasmBuffer() tells arena views from ordinary arrays", () => {
  const buf = allocPacketBuffer(10);
  assert.ok(isWasmBuffer(buf));
  assert.ok(!isWasmBuffer(new Uint8Array(10)));
  freePacketBuffer(buf);
});
