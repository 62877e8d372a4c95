import assert from "node:assert/strict";
import {
  seqAdd,
  seqDiff,
  seqGe,
  seqGt,
  seqInRange,
  seqLe,
  seqLt,
  seqMax,
  seqMin,
} from "./tcp_seq.ts";

Deno.test("seqAdd() wraps at 2^32, as an int32", () => {
  assert.equal(seqAdd(0xffff_fff0, 0x20), 0x10);
  assert.equal(seqAdd(0, -1), -1, "2^32 − 1 is -1 as an int32");
  assert.equal(seqAdd(0x7fff_ffff, 1), -0x8000_0000);
  assert.equal(seqAdd(5, 7), 12);
});

Deno.test("seqDiff() is the signed distance across the wrap", () => {
  assert.equal(seqDiff(0x10, 0xffff_fff0), 0x20);
  assert.equal(seqDiff(0xffff_fff0, 0x10), -0x20);
  assert.equal(seqDiff(7, 7), 0);
  assert.equal(seqDiff(0x8000_0000, 0), -0x8000_0000);
});

Deno.test("comparisons order numbers across the wrap", () => {
  const a = 0xffff_ff00, b = 0x100;
  assert.ok(seqLt(a, b) && seqLe(a, b) && !seqGt(a, b) && !seqGe(a, b));
  assert.ok(seqGt(b, a) && seqGe(b, a) && !seqLt(b, a) && !seqLe(b, a));
  assert.ok(seqLe(a, a) && seqGe(a, a) && !seqLt(a, a) && !seqGt(a, a));
  assert.equal(seqMax(a, b), b);
  assert.equal(seqMin(a, b), a);
  assert.ok(seqLt(0x7fff_ffff, 0x8000_0000));
  assert.ok(seqGt(0x8000_0000, 0x1)); // 2^31 - 1 apart: still after
});

Deno.test("seqInRange() is half-open and wraps", () => {
  assert.ok(seqInRange(0xffff_ffff, 0xffff_fff0, 0x10));
  assert.ok(seqInRange(0, 0xffff_fff0, 0x10));
  assert.ok(!seqInRange(0x10, 0xffff_fff0, 0x10));
  assert.ok(seqInRange(0xffff_fff0, 0xffff_fff0, 0x10));
  assert.ok(!seqInRange(5, 5, 5));
});
