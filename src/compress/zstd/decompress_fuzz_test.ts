import { constants as C } from "node:zlib";
import { fuzzCases } from "../../testing/mutate.ts";
import { attempt, fuzzSettings, invariant, runFuzz } from "../../testing/fuzz.ts";
import { zstdDecompress } from "./decompress.ts";
import { bigNetmap, mapResponses, nodeZstd, randomBytes, text } from "./_test_util.ts";

const { seed: SEED, scale } = fuzzSettings(0x5eed_2b5f);
const n = (count: number) => Math.round(count * scale);
const MAX = 1 << 20;

// Frames that reach every part of the decoder: Huffman literals with new and repeated trees,
// 1 and 4 streams, FSE tables of every mode, raw and RLE blocks, checksums, several frames.
const maps = mapResponses();
const seeds = [
  nodeZstd(maps[0], 1),
  nodeZstd(maps[3], 19, { [C.ZSTD_c_checksumFlag]: 1 }),
  nodeZstd(bigNetmap(40_000), 3, { [C.ZSTD_c_checksumFlag]: 1 }, false),
  nodeZstd(text(2000), 19),
  nodeZstd(randomBytes(300), 3),
  nodeZstd(new Uint8Array(3000).fill(7), 3),
  new Uint8Array([...nodeZstd(text(50), 1), ...nodeZstd(maps[1], 9)]),
];

/** A decode either returns at most MAX bytes or throws the decoder's own error. */
function check(b: Uint8Array): boolean | void {
  const r = attempt(() => {
    try {
      return zstdDecompress(b, MAX);
    } catch (e) {
      // Engine errors (a typed array's "offset is out of bounds" is a RangeError too) would
      // pass as documented: the decoder's own errors all name it.
      invariant(e instanceof Error && e.message.startsWith("zstd: "), `foreign error ${e}`);
      throw e;
    }
  }, [SyntaxError, RangeError]);
  if (r === null) return true;
  invariant(r.value.length <= MAX, "output over the limit");
}

Deno.test("fuzz: zstdDecompress() throws only its own SyntaxError or RangeError, within budget", () => {
  runFuzz("zstd frames", SEED, fuzzCases(seeds, { seed: SEED, count: n(4000) }), check);
});

Deno.test("fuzz: zstdDecompress() on random bytes after a frame header", () => {
  const rand = randomBytes(n(400) * 64, SEED);
  const cases = [];
  for (let i = 0; i < n(400); i++) {
    // Magic, a single-segment header stating 200 bytes, then the header of a last compressed
    // block of 60 bytes (1 | 2 << 1 | 60 << 3).
    const head = Uint8Array.of(0x28, 0xb5, 0x2f, 0xfd, 0x20, 200, 0xe5, 0x01, 0);
    const body = rand.subarray(i * 64, i * 64 + 60);
    cases.push({
      index: i,
      seedIndex: 0,
      ops: "random block",
      input: new Uint8Array([...head, ...body]),
    });
  }
  runFuzz("zstd random blocks", SEED, cases, check);
});
