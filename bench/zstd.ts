/**
 * Decode speed of warren's zstd decoder against node:zlib's (the C library) on a netmap-like
 * JSON document, compressed by node:zlib at level 3 (and optionally Go's klauspost encoder via
 * WARREN_ZSTD_FRAME=path). Prints MB/s of output for each, alternating A B A B.
 *
 * deno run -A bench/zstd.ts [sizeBytes] [rounds]
 *
 * @module
 */
import { constants, zstdDecompressSync } from "node:zlib";
import { zstdDecompress } from "../src/compress/zstd/mod.ts";
import { bigNetmap, nodeZstd } from "../src/compress/zstd/_test_util.ts";

const size = Number(Deno.args[0] ?? 1 << 20);
const rounds = Number(Deno.args[1] ?? 4);
const json = bigNetmap(size);
const path = Deno.env.get("WARREN_ZSTD_FRAME");
const frame = path
  ? Deno.readFileSync(path)
  : nodeZstd(json, 3, { [constants.ZSTD_c_checksumFlag]: 1 });
const expected = path ? zstdDecompressSync(frame).length : json.length;
const limit = 64 << 20;

/** Median MB/s of output over `n` timed calls. */
function median(times: number[]): number {
  const t = times.slice().sort((a, b) => a - b)[times.length >> 1];
  return expected / 1e6 / (t / 1000);
}

const warren = () => zstdDecompress(frame, limit);
const warrenNoCheck = () => zstdDecompress(frame, limit, { verifyChecksum: false });
const node = () => zstdDecompressSync(frame, { maxOutputLength: limit });
if (warren().length !== expected) throw new Error("size mismatch");
for (let i = 0; i < 20; i++) warren(), node(), warrenNoCheck(); // warm up
console.log(`input ${frame.length} B -> ${expected} B`);
const fns = [warren, node, warrenNoCheck];
for (let r = 0; r < rounds; r++) {
  const times: number[][] = [[], [], []];
  // Interleaved calls, so load from other processes hits all three alike.
  for (let i = 0; i < 30; i++) {
    for (let f = 0; f < 3; f++) {
      const t0 = performance.now();
      fns[f]();
      times[f].push(performance.now() - t0);
    }
  }
  const [a, b, c] = times.map(median);
  console.log(
    `round ${r}: warren ${a.toFixed(0)} MB/s, node:zlib ${b.toFixed(0)} MB/s, ` +
      `warren without checksum ${c.toFixed(0)} MB/s`,
  );
}
