import assert from "node:assert/strict";
import { buildUdpPacket, finishChecksum, sumWords, verifyChecksums } from "../net/packet.ts";
import { parseIp } from "../net/ip.ts";
import { fragmentPacket } from "./ip_fragment.ts";
import { IpReassembler, isFragment } from "./ip_reassembly.ts";
import { FakeClock } from "./types.ts";
import { mulberry32 } from "../testing/prng.ts";

const A4 = parseIp("10.77.0.1"), B4 = parseIp("10.77.0.2");
const A6 = parseIp("fd00:77::1"), B6 = parseIp("fd00:77::2");
const data = (n: number, k = 7) => Uint8Array.from({ length: n }, (_, i) => (i * k + 3) & 0xff);

/** A UDP datagram without DF (so it may be fragmented) and with IPv4 ID `id`. */
function udp(v6: boolean, size: number, id = 0x1234, src = v6 ? A6 : A4): Uint8Array {
  const p = buildUdpPacket({
    src,
    dst: v6 ? B6 : B4,
    srcPort: 4000,
    dstPort: 53,
    payload: data(size),
  });
  if (!v6) {
    p[4] = id >> 8;
    p[5] = id & 0xff;
    p[6] = 0;
    p[10] = p[11] = 0;
    const c = finishChecksum(sumWords(p, 0, 20));
    p[10] = c >> 8;
    p[11] = c & 0xff;
  }
  return p;
}

for (const v6 of [false, true]) {
  const fam = v6 ? "IPv6" : "IPv4";

  Deno.test(`reassembly ${fam}: in order, out of order and with duplicates gives the datagram`, () => {
    const whole = udp(v6, 4000);
    const frags = fragmentPacket(whole, 1280, 99);
    assert.equal(frags.length, 4);
    assert.ok(frags.every(isFragment));
    for (const order of [[0, 1, 2, 3], [3, 1, 0, 2], [2, 2, 3, 0, 3, 1]]) {
      const r = new IpReassembler(new FakeClock());
      const got = order.map((i) => r.push(frags[i]));
      assert.deepEqual(got.slice(0, -1), new Array(order.length - 1).fill(null));
      assert.deepEqual(got.at(-1), whole);
      assert.ok(verifyChecksums(got.at(-1)!));
      assert.equal(r.counters.reassembled, 1);
      assert.equal(r.counters.duplicate, order.length - 4);
      assert.equal(r.pendingBytes, 0);
      assert.equal(r.pendingDatagrams, 0);
    }
  });

  Deno.test(`reassembly ${fam}: a non-fragment comes straight back`, () => {
    const r = new IpReassembler(new FakeClock());
    const p = udp(v6, 100);
    assert.equal(r.push(p), p);
    assert.equal(r.counters.fragments, 0);
  });

  Deno.test(`reassembly ${fam}: an overlapping fragment drops the whole datagram`, () => {
    const whole = udp(v6, 3000);
    const frags = fragmentPacket(whole, 1280, 5);
    const r = new IpReassembler(new FakeClock());
    assert.equal(r.push(frags[0]), null);
    // A fragment starting 8 bytes into the first one's data.
    const bad = frags[1].slice();
    const offAt = v6 ? 42 : 6;
    const word = ((bad[offAt] << 8) | bad[offAt + 1]) - (v6 ? 8 : 1);
    bad[offAt] = word >> 8;
    bad[offAt + 1] = word & 0xff;
    assert.equal(r.push(bad), null);
    assert.equal(r.counters.overlap, 1);
    assert.equal(r.pendingBytes, 0);
    // RFC 5722: the fragments still to come are discarded too, the original ones included.
    for (const f of frags) assert.equal(r.push(f), null);
    assert.equal(r.counters.afterDrop, frags.length);
    assert.equal(r.counters.reassembled, 0);
  });

  Deno.test(`reassembly ${fam}: an incomplete datagram times out and frees its bytes`, () => {
    const clock = new FakeClock();
    const r = new IpReassembler(clock);
    const frags = fragmentPacket(udp(v6, 3000), 1280, 6);
    const timedOut: Uint8Array[] = [];
    r.onTimeout = (f) => timedOut.push(f);
    r.push(frags[0]);
    r.push(frags[2]);
    assert.ok(r.pendingBytes > 1500);
    clock.advance(v6 ? 59_999 : 29_999);
    r.expire();
    assert.equal(r.counters.timeout, 0);
    clock.advance(1);
    r.expire();
    assert.equal(r.counters.timeout, 1);
    assert.equal(r.pendingBytes, 0);
    assert.equal(r.pendingDatagrams, 0);
    // The missing fragment now starts a new datagram that cannot complete.
    assert.equal(timedOut.length, 1);
    assert.deepEqual(timedOut[0], frags[0], "the first fragment, for ICMP Time Exceeded");
    assert.equal(r.push(frags[1]), null);
    assert.equal(r.counters.reassembled, 0);
  });

  Deno.test(`reassembly ${fam}: a datagram over 64 KiB is dropped`, () => {
    const r = new IpReassembler(new FakeClock());
    const frags = fragmentPacket(udp(v6, 60_000), 1280, 7);
    const last = frags.at(-1)!.slice();
    // Move the last fragment past 65535 bytes.
    const word = v6 ? 65528 : 65528 >> 3; // the largest offset, no more fragments
    last[v6 ? 42 : 6] = word >> 8;
    last[v6 ? 43 : 7] = word & 0xff;
    if (!v6) last[10] = last[11] = 0; // header checksum is not the reassembler's to check
    r.push(frags[0]);
    assert.equal(r.push(last), null);
    assert.equal(r.counters.tooBig, 1);
    assert.equal(r.pendingBytes, 0);
  });

  Deno.test(`reassembly ${fam}: more fragments than allowed drop the datagram`, () => {
    const r = new IpReassembler(new FakeClock(), { maxFragments: 8 });
    const frags = fragmentPacket(udp(v6, 2000), 200, 8);
    assert.ok(frags.length > 8);
    for (const f of frags) assert.equal(r.push(f), null);
    assert.equal(r.counters.tooManyFragments, 1);
    assert.equal(r.pendingBytes, 0);
  });

  Deno.test(`reassembly ${fam}: a non-last fragment not a multiple of 8 bytes is malformed`, () => {
    const r = new IpReassembler(new FakeClock());
    const f = fragmentPacket(udp(v6, 3000), 1280, 9)[0];
    const cut = f.slice(0, f.length - 3);
    const n = v6 ? cut.length - 40 : cut.length;
    cut[v6 ? 4 : 2] = n >> 8;
    cut[v6 ? 5 : 3] = n & 0xff;
    assert.equal(r.push(cut), null);
    assert.equal(r.counters.malformed, 1);
    assert.equal(r.pendingBytes, 0);
  });

  Deno.test(`reassembly ${fam}: two different last fragments are inconsistent`, () => {
    const r = new IpReassembler(new FakeClock());
    const frags = fragmentPacket(udp(v6, 3000), 1280, 10);
    r.push(frags[2]);
    const shorter = frags[2].slice(0, frags[2].length - 8);
    const n = v6 ? shorter.length - 40 : shorter.length;
    shorter[v6 ? 4 : 2] = n >> 8;
    shorter[v6 ? 5 : 3] = n & 0xff;
    assert.equal(r.push(shorter), null);
    assert.equal(r.counters.inconsistent, 1);
  });

  Deno.test(`reassembly ${fam}: a flood of incomplete datagrams stays within the bounds`, () => {
    const clock = new FakeClock();
    const r = new IpReassembler(clock, { maxPendingBytes: 64 * 1024, maxPendingPerSource: 16384 });
    let held = 0;
    for (let i = 0; i < 2000; i++) {
      // 50 sources, each sending first fragments of datagrams whose rest never comes.
      const src = v6 ? parseIp(`fd00:77::${(i % 50) + 10}`) : parseIp(`10.77.1.${(i % 50) + 10}`);
      const f = fragmentPacket(udp(v6, 3000, i, src), 1280, i)[0];
      r.push(f);
      assert.ok(r.pendingBytes <= 64 * 1024, `pending ${r.pendingBytes} after ${i}`);
      held = Math.max(held, r.pendingBytes);
      clock.advance(1);
    }
    assert.ok(held > 32 * 1024, "the flood filled the buffer");
    assert.ok(r.counters.memoryLimit > 0);
    // After the flood times out, a legitimate datagram gets through.
    clock.advance(60_000);
    const whole = udp(v6, 3000, 4242);
    let out: Uint8Array | null = null;
    for (const f of fragmentPacket(whole, 1280, 4242)) out = r.push(f);
    assert.deepEqual(out, whole);
  });

  Deno.test(`reassembly ${fam}: one source cannot take more than its share`, () => {
    const r = new IpReassembler(new FakeClock(), { maxPendingPerSource: 4096 });
    for (let i = 0; i < 10; i++) r.push(fragmentPacket(udp(v6, 3000, i), 1280, i)[0]);
    assert.ok(r.pendingBytes <= 4096);
    assert.ok(r.counters.sourceLimit > 0);
    const other = v6 ? parseIp("fd00:77::99") : parseIp("10.77.1.99");
    const whole = udp(v6, 3000, 77, other);
    let out: Uint8Array | null = null;
    for (const f of fragmentPacket(whole, 1280, 77)) out = r.push(f);
    assert.deepEqual(out, whole);
  });
}

Deno.test("reassembly IPv6: an atomic fragment comes back without its Fragment header", () => {
  const whole = udp(true, 100);
  const f = fragmentPacket(udp(true, 2000), 1280, 1)[0];
  const atomic = new Uint8Array(48 + whole.length - 40);
  atomic.set(f.subarray(0, 48));
  atomic.set(whole.subarray(40), 48);
  atomic[4] = (atomic.length - 40) >> 8;
  atomic[5] = (atomic.length - 40) & 0xff;
  atomic[42] = atomic[43] = 0; // offset 0, M = 0
  const r = new IpReassembler(new FakeClock());
  assert.deepEqual(r.push(atomic), whole);
  assert.equal(r.counters.atomic, 1);
});

Deno.test("reassembly: the datagram limit bounds held datagrams", () => {
  const r = new IpReassembler(new FakeClock(), { maxDatagrams: 3 });
  for (let i = 0; i < 5; i++) r.push(fragmentPacket(udp(false, 3000, i), 1280)[0]);
  assert.equal(r.pendingDatagrams, 3);
  assert.equal(r.counters.tooManyDatagrams, 2);
});

Deno.test("reassembly: fragments of the same ID from different protocols are distinct", () => {
  const r = new IpReassembler(new FakeClock());
  const frags = fragmentPacket(udp(false, 3000, 5), 1280);
  const other = frags[1].slice();
  other[9] = 6; // TCP, same ID and addresses
  r.push(frags[0]);
  assert.equal(r.push(other), null);
  assert.equal(r.counters.overlap, 0);
  r.push(frags[1]);
  assert.ok(r.push(frags[2]) !== null);
});

Deno.test("reassembly: any order and duplication of the fragments gives back the datagram", () => {
  const rand = mulberry32(0x5eed_0011);
  const pick = (n: number) => Math.floor(rand() * n);
  for (let round = 0; round < 300; round++) {
    const v6 = round % 2 === 1;
    const whole = udp(v6, 200 + pick(8000), round);
    const frags = fragmentPacket(whole, 128 + pick(1400), round);
    if (frags.length === 1) continue; // it fit: not a fragment
    const order = frags.map((_, i) => i);
    for (let i = order.length - 1; i > 0; i--) {
      const j = pick(i + 1);
      [order[i], order[j]] = [order[j], order[i]];
    }
    for (let k = pick(4); k > 0; k--) order.splice(pick(order.length), 0, pick(frags.length));
    const r = new IpReassembler(new FakeClock());
    const seen = new Set<number>();
    let done = false;
    for (const i of order) {
      seen.add(i);
      const out = r.push(frags[i]);
      // The datagram comes out when its last missing fragment arrives, not before. (Duplicates
      // after that start it again, like a retransmission.)
      if (!done) assert.equal(out !== null, seen.size === frags.length, `round ${round}`);
      if (out !== null) assert.deepEqual(out, whole, `round ${round}`);
      done ||= out !== null;
    }
    assert.ok(done, `round ${round}`);
  }
});

Deno.test("reassembly: randomly cut and overlapping pieces never give a wrong datagram", () => {
  const rand = mulberry32(0x5eed_0012);
  const pick = (n: number) => Math.floor(rand() * n);
  let completed = 0, overlapped = 0;
  for (let round = 0; round < 300; round++) {
    const v6 = round % 2 === 1;
    const whole = udp(v6, 100 + pick(3000), round);
    // Fragments of two sizes from the same datagram, mixed: they overlap unless aligned.
    const a = fragmentPacket(whole, 200 + pick(600), round);
    const b = fragmentPacket(whole, 200 + pick(600), round);
    const mixed = [...a, ...b].filter(() => rand() < 0.7).sort(() => rand() - 0.5);
    const r = new IpReassembler(new FakeClock());
    for (const f of mixed) {
      const out = r.push(f);
      if (out !== null) assert.deepEqual(out, whole, `round ${round}`);
      if (out !== null) completed++;
    }
    overlapped += r.counters.overlap;
    assert.ok(r.pendingBytes <= 2 * whole.length);
  }
  assert.ok(completed > 10 && overlapped > 10, `${completed} completed, ${overlapped} overlapped`);
});

Deno.test("reassembly: no timeout callback when the first fragment never came", () => {
  const clock = new FakeClock();
  const r = new IpReassembler(clock);
  let called = 0;
  r.onTimeout = () => called++;
  r.push(fragmentPacket(udp(false, 3000), 1280)[1]);
  clock.advance(30_000);
  r.expire();
  assert.equal(r.counters.timeout, 1);
  assert.equal(called, 0);
});
