import assert from "node:assert/strict";
import { TCP_BUFFER_FLOOR, TcpMemoryBudget } from "./tcp_memory.ts";
import { established, Sink, Source } from "./tcp_conn_testing.ts";
import { runPair } from "./tcp_test_link.ts";

Deno.test("TcpMemoryBudget grants what fits, never below the floor, and takes it back", () => {
  const m = new TcpMemoryBudget(100_000);
  assert.equal(m.grant(60_000), 60_000);
  assert.equal(m.grant(60_000), 40_000, "what is left");
  assert.equal(m.grant(60_000), TCP_BUFFER_FLOOR, "the floor even when spent");
  assert.equal(m.grant(1000), 1000, "never more than asked");
  assert.equal(m.tryGrow(1), false);
  assert.equal(m.refusals, 1);
  m.release(80_000);
  assert.equal(m.tryGrow(50_000), true);
  assert.throws(() => new TcpMemoryBudget(0), RangeError);
});

Deno.test("40 connections on one budget stay within it (plus floors) and give it all back when they close", () => {
  const memory = new TcpMemoryBudget(1 << 20);
  const pairs = Array.from({ length: 40 }, () => established({}, { memory }));
  // 80 connections × 2 buffers asked 256 KiB each (20 MiB); the budget grants 1 MiB and floors.
  assert.ok(memory.used <= (1 << 20) + 80 * 2 * TCP_BUFFER_FLOOR, `${memory.used} bytes`);
  assert.ok(memory.used >= 1 << 20, "the budget was used up");
  for (const { a, b } of pairs) {
    a.abort();
    b.abort();
  }
  assert.equal(memory.used, 0, "closing gave every byte back");
});

Deno.test("auto-tuning stops growing a connection's buffers when the budget is spent", () => {
  const memory = new TcpMemoryBudget(768 * 1024);
  const { a, b, link, now } = established({ delayMs: 5 }, { memory });
  const src = new Source(new Uint8Array(16 << 20), false), sink = new Sink();
  runPair(a, b, link, now, now + 600_000, () => {
    src.pump(a);
    sink.drain(b);
    return sink.n >= 16 << 20;
  });
  assert.equal(sink.n, 16 << 20, "the transfer completed");
  // Four buffers asked 256 KiB each: three got it, the last its floor; none grew past that.
  assert.ok(memory.used <= 768 * 1024 + TCP_BUFFER_FLOOR, `${memory.used} bytes taken`);
  assert.ok(memory.refusals > 0, "growth was refused at the budget");
});
