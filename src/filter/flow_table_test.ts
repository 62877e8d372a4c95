import assert from "node:assert/strict";
import { FlowTable } from "./flow_table.ts";

// Address A at 0, B at 4 (IPv4) or A at 8, B at 24 (IPv6).
const v4 = Uint8Array.of(10, 0, 0, 1, 10, 0, 0, 2);
const v6 = new Uint8Array(40);
v6[8] = 0xfd, v6[23] = 1, v6[24] = 0xfd, v6[39] = 2;

Deno.test("FlowTable.restore takes another table's entries with their recency", () => {
  const a = new FlowTable(3);
  a.add(17, v4, 0, 4, 4, 53, 40000);
  a.add(17, v6, 8, 24, 16, 443, 50000);
  a.add(132, v4, 0, 4, 4, 9, 9);
  a.has(17, v4, 0, 4, 4, 53, 40000); // now the most recent
  const b = new FlowTable(3);
  b.restore(a.entries());
  assert.equal(b.size, 3);
  assert.ok(b.has(17, v6, 8, 24, 16, 443, 50000));
  assert.ok(b.has(132, v4, 0, 4, 4, 9, 9));
  assert.ok(!b.has(17, v4, 4, 0, 4, 40000, 53), "direction kept");
  // Order of use now: v4 DNS (restored last as the most recent), v6, SCTP; one more evicts v4.
  const c = new FlowTable(3);
  c.restore(a.entries());
  c.add(6, v4, 0, 4, 4, 1, 2);
  assert.ok(!c.has(17, v6, 8, 24, 16, 443, 50000), "least recently used went first");
  assert.ok(c.has(17, v4, 0, 4, 4, 53, 40000));
});

Deno.test("FlowTable.restore into a smaller table keeps the most recent flows", () => {
  const a = new FlowTable(8);
  for (let p = 1; p <= 8; p++) a.add(17, v4, 0, 4, 4, p, 1000);
  const b = new FlowTable(2);
  b.restore(a.entries());
  assert.equal(b.size, 2);
  assert.ok(b.has(17, v4, 0, 4, 4, 8, 1000) && b.has(17, v4, 0, 4, 4, 7, 1000));
  assert.ok(!b.has(17, v4, 0, 4, 4, 6, 1000));
  assert.equal(new FlowTable().entries().length, 0);
});
