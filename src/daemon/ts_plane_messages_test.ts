import assert from "node:assert/strict";
import { ByteRing } from "../net/byte_ring.ts";
import { RingQueue } from "../net/ring_queue.ts";
import {
  CommandJoiner,
  commandRecords,
  type PlaneCommand,
  RecordKind,
} from "./ts_plane_messages.ts";

Deno.test("commandRecords: a short command is one record", () => {
  const c: PlaneCommand = { op: "self", addresses: ["100.64.0.1/32"] };
  const recs = commandRecords(c, 1024);
  assert.equal(recs.length, 1);
  assert.equal(recs[0][0], RecordKind.COMMAND);
  assert.deepEqual(new CommandJoiner().take(recs[0]), c);
});

Deno.test("a packet filter longer than the ring crosses it in parts, joined whole and in order", async () => {
  const rules = Array.from({ length: 3000 }, (_, i) => ({
    SrcIPs: [`100.64.${i >> 8}.${i & 0xff}/32`],
    DstPorts: [{ IP: "*", Ports: { First: 22, Last: 22 } }],
  }));
  const c: PlaneCommand = { op: "filter", rules, localNets: ["100.64.0.1/32"] };
  const ring = new ByteRing(ByteRing.allocate(64 * 1024));
  const queue = new RingQueue(ring, () => {}, 1);
  const recs = commandRecords(c, ring.maxRecord >> 2);
  assert.ok(recs.length > 8, `${recs.length} parts`);
  assert.ok(recs.slice(0, -1).every((r) => r[0] === RecordKind.COMMAND_PART));
  const after: PlaneCommand = { op: "remove-peer", key: "00".repeat(32) };
  for (const r of [...recs, ...commandRecords(after, ring.maxRecord >> 2)]) queue.push(r);
  const joiner = new CommandJoiner();
  const got: PlaneCommand[] = [];
  for (let i = 0; i < 500 && got.length < 2; i++) {
    ring.read((r) => {
      const cmd = joiner.take(r);
      if (cmd) got.push(cmd);
    });
    await new Promise((r) => setTimeout(r, 2));
  }
  queue.close();
  assert.deepEqual(got, [c, after]);
});
