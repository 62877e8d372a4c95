import assert from "node:assert/strict";
import { buildFseTable, FseTable, readFseTable } from "./_fse.ts";
import {
  LL_DEFAULT,
  LL_DEFAULT_LOG,
  ML_DEFAULT,
  ML_DEFAULT_LOG,
  OF_DEFAULT,
  OF_DEFAULT_LOG,
} from "./constants.ts";

function predefined(dist: Int16Array, log: number): FseTable {
  const t = new FseTable(log);
  buildFseTable(t, dist, dist.length, log, "test");
  return t;
}

// Rows of RFC 8878 Appendix A: [state, symbol, nbBits, base].
const LL_ROWS = [
  [0, 0, 4, 0],
  [1, 0, 4, 16],
  [2, 1, 5, 32],
  [10, 14, 6, 0],
  [38, 25, 4, 0],
  [
    39,
    25,
    4,
    16,
  ],
  [60, 35, 6, 0],
  [63, 32, 6, 0],
];
const ML_ROWS = [[0, 0, 6, 0], [1, 1, 4, 0], [22, 1, 4, 16], [43, 1, 4, 32], [44, 1, 4, 48], [
  57,
  52,
  6,
  0,
]];
const OF_ROWS = [[0, 0, 5, 0], [1, 6, 4, 0], [15, 7, 4, 16], [24, 6, 4, 16], [27, 28, 5, 0], [
  31,
  24,
  5,
  0,
]];

Deno.test("buildFseTable() builds the predefined tables of RFC 8878 Appendix A", () => {
  const cases: [FseTable, number[][]][] = [
    [predefined(LL_DEFAULT, LL_DEFAULT_LOG), LL_ROWS],
    [predefined(ML_DEFAULT, ML_DEFAULT_LOG), ML_ROWS],
    [predefined(OF_DEFAULT, OF_DEFAULT_LOG), OF_ROWS],
  ];
  for (const [t, rows] of cases) {
    for (const [state, symbol, nb, base] of rows) {
      assert.deepEqual(
        [t.symbol[state], t.nbBits[state], t.base[state]],
        [symbol, nb, base],
        `state ${state}`,
      );
    }
  }
});

Deno.test("buildFseTable() refuses probabilities that do not fill the table", () => {
  const t = new FseTable(6);
  assert.throws(() => buildFseTable(t, Int16Array.of(30, 30), 2, 6, "test"), /sum to 60, not 64/);
  assert.throws(() => buildFseTable(t, Int16Array.of(60, 5), 2, 6, "test"), SyntaxError);
});

Deno.test("readFseTable() reads a description and refuses bad ones", () => {
  const t = new FseTable(9);
  // Accuracy log 5 (4 bits: 0); symbol 0's value 17 (count 16) in 5 bits, as it is below
  // max = 63 - 33 = 30; symbol 1's count 16 as value 31 (5 bits), since 17 & 15 is not below
  // max = 31 - 17 = 14. Bits LSB first: 0 | 17 << 4 | 31 << 9 = 0x3f10.
  assert.equal(readFseTable(Uint8Array.of(0x10, 0x3f, 0xaa), 0, 3, 35, 9, t, "x"), 2);
  assert.equal(t.log, 5);
  assert.equal(t.symbol.subarray(0, 32).filter((s) => s === 0).length, 16);
  assert.equal(t.symbol.subarray(0, 32).filter((s) => s === 1).length, 16);
  assert.throws(() => readFseTable(Uint8Array.of(0x0f), 0, 1, 35, 9, t, "x"), /accuracy log 20/);
  assert.throws(() => readFseTable(Uint8Array.of(0x10, 0x3f), 0, 1, 35, 9, t, "x"), /truncated/);
  // Symbol 0 at probability 0, then repeat flags of 3 (each three more zeros) past symbol 35.
  assert.throws(
    () => readFseTable(Uint8Array.of(0x10, 0xfe, 0xff, 0xff, 0xff), 0, 5, 35, 9, t, "x"),
    /too many symbols/,
  );
});
