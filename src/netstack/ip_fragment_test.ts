import assert from "node:assert/strict";
import { buildUdpPacket, finishChecksum, sumWords } from "../net/packet.ts";
import { parseIp } from "../net/ip.ts";
import { fragmentPacket } from "./ip_fragment.ts";

const dgram = (v6: boolean, size: number) =>
  buildUdpPacket({
    src: parseIp(v6 ? "fd00:77::1" : "10.77.0.1"),
    dst: parseIp(v6 ? "fd00:77::2" : "10.77.0.2"),
    srcPort: 1,
    dstPort: 2,
    payload: new Uint8Array(size).fill(3),
  });

Deno.test("fragmentPacket: pieces fit the MTU, tile the payload in 8-byte units, last has no MF", () => {
  for (const v6 of [false, true]) {
    const p = dgram(v6, 5000);
    if (!v6) p[6] = 0;
    const frags = fragmentPacket(p, 1000, 0xabcdef01);
    let next = 0;
    frags.forEach((f, i) => {
      assert.ok(f.length <= 1000);
      const last = i === frags.length - 1;
      const word = v6 ? (f[42] << 8) | f[43] : (f[6] << 8) | f[7];
      const off = v6 ? word & 0xfff8 : (word & 0x1fff) << 3;
      const more = v6 ? (word & 1) !== 0 : (word & 0x2000) !== 0;
      assert.equal(off, next);
      assert.equal(more, !last);
      const dataLen = f.length - (v6 ? 48 : 20);
      if (!last) assert.equal(dataLen % 8, 0);
      next += dataLen;
      if (v6) assert.deepEqual([...f.subarray(44, 48)], [0xab, 0xcd, 0xef, 0x01]);
      if (!v6) assert.equal(finishChecksum(sumWords(f, 0, 20)), 0, "header checksum");
    });
    assert.equal(next, p.length - (v6 ? 40 : 20));
  }
});

Deno.test("fragmentPacket: a packet that fits comes back alone; DF and tiny MTUs are refused", () => {
  const small = dgram(false, 100);
  assert.deepEqual(fragmentPacket(small, 1280), [small]);
  assert.throws(() => fragmentPacket(dgram(false, 3000), 1280), RangeError); // DF set
  assert.throws(() => fragmentPacket(dgram(true, 3000), 50), RangeError);
  assert.throws(() => fragmentPacket(new Uint8Array(0), 1280), SyntaxError);
});
