/**
 * The Internet checksum's sum over one TCP segment's bytes (1228 by default, what a GSO
 * split or a GRO check reads per segment of a 1280-MTU tunnel): `sumBytes` (src/net/checksum.ts)
 * on a buffer in the crypto wasm memory, where it takes the SIMD path (`inet_sum.c`), against
 * the same bytes in ordinary JS memory (the 32-bit DataView loop), side by side in one run.
 * Rounds alternate and the median is printed.
 *
 * Run: deno run -A bench/_checksum.ts [bytes]
 *
 * @module
 */
import { foldSum, sumBytes } from "../src/net/checksum.ts";
import { allocPacketBuffer } from "../src/crypto/wasm/arena.ts";

const LEN = Number(Deno.args[0] ?? 1228);
const ITERS = 200_000;
const ROUNDS = 7;

const wasm = allocPacketBuffer(LEN);
crypto.getRandomValues(wasm);
const js = wasm.slice();
if (foldSum(sumBytes(wasm, 0, LEN)) !== foldSum(sumBytes(js, 0, LEN))) {
  throw new Error("the two sums differ");
}

let sink = 0;
function nsPerSum(b: Uint8Array): number {
  const t = performance.now();
  for (let i = 0; i < ITERS; i++) sink += sumBytes(b, 0, LEN, i);
  return (performance.now() - t) * 1e6 / ITERS;
}
const times: [number[], number[]] = [[], []];
for (let r = 0; r < ROUNDS; r++) {
  times[0].push(nsPerSum(js));
  times[1].push(nsPerSum(wasm));
}
const median = (xs: number[]) => xs.toSorted((a, b) => a - b)[xs.length >> 1];
const [tj, tw] = times.map(median);
console.log(`Internet checksum sum of ${LEN} bytes, one core, median of ${ROUNDS} rounds`);
console.log(
  `JS (DataView, ordinary memory)   ${tj.toFixed(0).padStart(6)} ns  ${(LEN / tj).toFixed(2)} B/ns`,
);
console.log(
  `wasm SIMD (packet arena)         ${tw.toFixed(0).padStart(6)} ns  ${
    (LEN / tw).toFixed(2)
  } B/ns  ` +
    `×${(tj / tw).toFixed(1)}`,
);
if (sink === 0.5) console.log(sink);
