import assert from "node:assert/strict";
import { type HeldRecord, splitRecords } from "./record_splitter.ts";
import { TlsAlert } from "./messages.ts";
import { toHex } from "../bytes/hex.ts";

function record(type: number, len: number, fill: number): Uint8Array {
  const r = new Uint8Array(5 + len).fill(fill);
  r.set([type, 3, 3, len >> 8, len & 0xff]);
  return r;
}

Deno.test("splitRecords() gives back the same records however the stream is cut", () => {
  const recs = [record(22, 3, 1), record(23, 0, 2), record(23, 300, 3), record(21, 2, 4)];
  const stream = new Uint8Array(recs.reduce((n, r) => n + r.length, 0));
  let o = 0;
  for (const r of recs) stream.set(r, o), o += r.length;
  for (const step of [1, 2, 4, 5, 6, 7, 100, stream.length]) {
    const got: string[] = [];
    let held: HeldRecord | null = null;
    for (let i = 0; i < stream.length; i += step) {
      held = splitRecords(held, stream.subarray(i, i + step), (r) => {
        got.push(toHex(r));
        return true;
      });
    }
    assert.equal(held, null, `step ${step}`);
    assert.deepEqual(got, recs.map(toHex), `step ${step}`);
  }
});

Deno.test("splitRecords() stops when told, and refuses what is not TLS", () => {
  const two = new Uint8Array([...record(23, 1, 9), ...record(23, 1, 9)]);
  let n = 0;
  assert.equal(splitRecords(null, two, () => (n++, false)), null);
  assert.equal(n, 1);
  const http = new TextEncoder().encode("GET / HTTP/1.1\r\n");
  assert.throws(() => splitRecords(null, http, () => true), TlsAlert);
  const huge = record(23, 0, 0);
  huge.set([0x48, 0x01], 3); // 18,433 bytes: over the ciphertext limit
  assert.throws(() => splitRecords(null, huge, () => true), TlsAlert);
});
