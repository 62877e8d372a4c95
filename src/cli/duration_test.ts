import assert from "node:assert/strict";
import { parseDurationMs } from "./duration.ts";

Deno.test("parseDurationMs() reads Go durations and plain seconds", () => {
  const cases: [string, number][] = [
    ["0", 0],
    ["15", 15_000],
    ["0.5", 500],
    ["15s", 15_000],
    ["10m", 600_000],
    ["1h", 3_600_000],
    ["250ms", 250],
    ["1m30s", 90_000],
    ["1.5s", 1500],
  ];
  for (const [text, ms] of cases) assert.equal(parseDurationMs(text), ms, text);
});

Deno.test("parseDurationMs() rejects what is not a duration", () => {
  for (const bad of ["", "s", "-1s", "10x", "1m 30s", "ten", "1e3", "10M"]) {
    assert.throws(() => parseDurationMs(bad), SyntaxError, bad);
  }
});
