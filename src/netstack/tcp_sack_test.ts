import assert from "node:assert/strict";
import { SackBlocks, SackScoreboard } from "./tcp_sack.ts";

const MSS = 100;
const B = (start: number, end: number) => ({ start: start >>> 0, end: end >>> 0 });

Deno.test("SackScoreboard merges blocks, drops what UNA passes and ignores bogus ones", () => {
  const sb = new SackScoreboard();
  assert.equal(sb.update(0, [B(200, 300), B(500, 600)], 1000), 200);
  assert.equal(sb.update(0, [B(300, 500)], 1000), 200);
  assert.deepEqual(sb.ranges, [B(200, 600)]);
  // D-SACK below UNA, a block past SND.NXT and an empty one are ignored.
  assert.equal(sb.update(0, [B(0, 0), B(900, 1100), B(50, 40)], 1000), 0);
  sb.update(400, undefined, 1000);
  assert.deepEqual(sb.ranges, [B(400, 600)]);
  sb.update(600, [], 1000);
  assert.deepEqual(sb.ranges, []);
  assert.equal(sb.highestSacked, null);
});

Deno.test("SackScoreboard works across the sequence wrap", () => {
  const sb = new SackScoreboard();
  const una = 0xffff_ff00;
  sb.update(una, [B(una + 0x80, una + 0x180)], (una + 0x400) >>> 0);
  assert.ok(sb.isSacked(0x10));
  assert.ok(!sb.isSacked(una + 0x10));
  assert.equal(sb.sackedBytes, 0x100);
  assert.ok(sb.isLost(una, MSS)); // 256 bytes > 2 × 100 SACKed above
});

Deno.test("IsLost() needs DupThresh ranges or more than 2 MSS SACKed above", () => {
  const sb = new SackScoreboard();
  sb.update(0, [B(100, 200), B(300, 400)], 1000);
  assert.ok(!sb.isLost(0, MSS), "two segments above: not yet");
  sb.update(0, [B(500, 600)], 1000);
  assert.ok(sb.isLost(0, MSS), "three discontiguous ranges above");
  assert.ok(!sb.isLost(200, MSS), "only two ranges, 200 bytes, above 200");
  assert.ok(!sb.isLost(150, MSS), "SACKed bytes are never lost");
  const big = new SackScoreboard();
  big.update(0, [B(100, 301)], 1000);
  assert.ok(big.isLost(0, MSS), "201 bytes > 2 MSS above");
});

Deno.test("pipe() counts un-SACKed bytes not lost once and retransmitted ones again", () => {
  const sb = new SackScoreboard();
  // Flight 0..1000; SACKed 100..200, 300..400, 500..600, 700..800: holes 0..100, 200..300 lost.
  sb.update(0, [B(100, 200), B(300, 400), B(500, 600), B(700, 800)], 1000);
  // Not lost: 400..500, 600..700 and 800..1000 (400 bytes); nothing retransmitted.
  assert.equal(sb.pipe(0, 1000, 0, MSS), 400);
  // After retransmitting 0..100 and half of 200..300: +150.
  assert.equal(sb.pipe(0, 1000, 250, MSS), 550);
  // With no SACK information the whole flight is in the pipe.
  assert.equal(new SackScoreboard().pipe(0, 1000, 0, MSS), 1000);
});

Deno.test("nextSeg() picks the first lost hole above HighRxt, then not-lost ones only by rule 3", () => {
  const sb = new SackScoreboard();
  sb.update(0, [B(100, 200), B(300, 400), B(500, 600), B(700, 800)], 1000);
  assert.deepEqual(sb.nextSeg(0, 0, MSS), B(0, 100));
  assert.deepEqual(sb.nextSeg(0, 100, MSS), B(200, 300));
  assert.deepEqual(sb.nextSeg(0, 250, MSS), B(250, 300));
  assert.equal(sb.nextSeg(0, 300, MSS), null, "400..500 is not lost");
  assert.deepEqual(sb.nextSeg(0, 300, MSS, true), B(400, 500));
  assert.equal(sb.nextSeg(0, 800, MSS, true), null, "nothing SACKed above 800");
  const wide = new SackScoreboard();
  wide.update(0, [B(1000, 1400)], 2000);
  assert.deepEqual(wide.nextSeg(0, 0, MSS), B(0, 100), "one MSS at a time");
});

Deno.test("SackBlocks puts the latest segment's block first, then the recently reported", () => {
  const g = new SackBlocks();
  assert.deepEqual(g.blocks([B(10, 20)], 10, 3), [B(10, 20)]);
  assert.deepEqual(g.blocks([B(10, 20), B(30, 40)], 35, 3), [B(30, 40), B(10, 20)]);
  const held = [B(10, 20), B(30, 40), B(50, 60)];
  assert.deepEqual(g.blocks(held, 55, 3), [B(50, 60), B(30, 40), B(10, 20)]);
  // 10..20 grows to 10..25: it is the latest, the others keep their recency order.
  assert.deepEqual(g.blocks([B(10, 25), B(30, 40), B(50, 60)], 22, 3), [
    B(10, 25),
    B(50, 60),
    B(30, 40),
  ]);
  // At most `max` blocks; a block the cumulative ACK passed is gone.
  const many = [B(30, 40), B(50, 60), B(70, 80), B(90, 100), B(110, 120)];
  const out = g.blocks(many, 115, 4);
  assert.equal(out.length, 4);
  assert.deepEqual(out.slice(0, 3), [B(110, 120), B(50, 60), B(30, 40)]);
});
