import assert from "node:assert/strict";
import { fromHex } from "../bytes/hex.ts";
import { fuzzCases } from "../testing/mutate.ts";
import { fuzzSettings, invariant, runFuzz } from "../testing/fuzz.ts";
import {
  decodeTcpSegment,
  decodeTcpSegmentAt,
  encodeTcpOptions,
  encodeTcpSegment,
  newRejectCounters,
  TCP_ACK,
  TCP_RST,
  TCP_SYN,
  tcpChecksum,
  type TcpSegment,
  TcpSegmentReader,
} from "./tcp_segment.ts";

const LO = new Uint8Array([127, 0, 0, 1]);
// A SYN Linux 6.x sent from curl to 127.0.0.1:9, captured with tcpdump on lo. Loopback leaves
// the checksum partial (offload), so the field holds tcpdump's computed value 0xf104.
const LINUX_SYN = fromHex(
  "d1420009 09500b39 00000000 a002ffd7 f1040000 0204ffd7 0402080a fe1a7b0a 00000000 01030 30a"
    .replaceAll(" ", ""),
);
// The kernel's RST,ACK answer (checksum as captured, correct).
const LINUX_RST = fromHex("0009d142000000000950 0b3a50140000cbf80000".replaceAll(" ", ""));

const A6 = new Uint8Array(16).fill(0).map((_, i) => (i === 15 ? 1 : i === 0 ? 0xfd : 0));
const B6 = A6.slice();
B6[15] = 2;

const seg = (o: Partial<TcpSegment> = {}): TcpSegment => ({
  srcPort: 40000,
  dstPort: 443,
  seq: 0xffff_fff0 | 0, // as decoding gives it: sequence numbers are int32s
  ack: 12345,
  flags: TCP_ACK,
  window: 1000,
  urgent: 0,
  options: {},
  payload: new Uint8Array([1, 2, 3, 4, 5]),
  ...o,
});

Deno.test("decodeTcpSegment() reads a SYN the Linux kernel sent, options included", () => {
  const r = newRejectCounters();
  const s = decodeTcpSegment(LINUX_SYN, LO, LO, r);
  assert.ok(s, JSON.stringify(r));
  assert.equal(s.srcPort, 53570);
  assert.equal(s.dstPort, 9);
  assert.equal(s.seq, 156240697);
  assert.equal(s.flags, TCP_SYN);
  assert.equal(s.window, 65495);
  assert.deepEqual(s.options, {
    mss: 65495,
    sackPermitted: true,
    ts: { val: 4263148298 | 0, ecr: 0 }, // sequence-space numbers decode as int32s
    wscale: 10,
  });
  assert.equal(s.payload.length, 0);
});

Deno.test("encodeTcpSegment() lays out the Linux SYN byte for byte", () => {
  const s = decodeTcpSegment(LINUX_SYN, LO, LO)!;
  assert.deepEqual(encodeTcpSegment(s, LO, LO), LINUX_SYN);
});

Deno.test("decodeTcpSegment() reads the kernel's RST,ACK with its captured checksum", () => {
  const s = decodeTcpSegment(LINUX_RST, LO, LO)!;
  assert.equal(s.flags, TCP_RST | TCP_ACK);
  assert.equal(s.ack, 156240698);
  assert.equal(s.window, 0);
  assert.deepEqual(encodeTcpSegment(s, LO, LO), LINUX_RST);
});

Deno.test("encode and decode round-trip over IPv6 with SACK blocks and data", () => {
  const s = seg({
    options: {
      sack: [{ start: 1, end: 2 }, { start: 0xffff_ff00 | 0, end: 5 }],
      ts: { val: 9, ecr: 8 },
    },
  });
  const b = encodeTcpSegment(s, A6, B6);
  assert.equal(tcpChecksum(b, A6, B6), 0);
  assert.deepEqual(decodeTcpSegment(b, A6, B6), s);
  // The same bytes do not verify under other addresses: the pseudo-header counts.
  const r = newRejectCounters();
  assert.equal(decodeTcpSegment(b, B6, B6, r), null);
  assert.equal(r.badChecksum, 1);
});

Deno.test("decodeTcpSegment() rejects each malformed header with its reason", () => {
  const good = encodeTcpSegment(seg({ options: { mss: 1400 } }), LO, LO);
  const r = newRejectCounters();
  assert.equal(decodeTcpSegment(good.subarray(0, 19), LO, LO, r), null);
  const lowOffset = good.slice();
  lowOffset[12] = 4 << 4;
  assert.equal(decodeTcpSegment(lowOffset, LO, LO, r), null);
  const highOffset = good.slice(0, 24);
  highOffset[12] = 7 << 4;
  assert.equal(decodeTcpSegment(highOffset, LO, LO, r), null);
  const longOpt = good.slice();
  longOpt[21] = 8; // MSS claims 8 bytes, the header has 4 option bytes
  assert.equal(decodeTcpSegment(longOpt, LO, LO, r), null);
  const zeroLen = good.slice();
  zeroLen[21] = 0;
  assert.equal(decodeTcpSegment(zeroLen, LO, LO, r), null);
  const corrupt = good.slice();
  corrupt[good.length - 1] ^= 1;
  assert.equal(decodeTcpSegment(corrupt, LO, LO, r), null);
  assert.deepEqual(r, { short: 1, badOffset: 2, badOption: 2, badChecksum: 1 });
});

Deno.test("decodeTcpSegment() skips unknown options and known ones of the wrong length", () => {
  // kind 30 (MPTCP) len 4, then MSS with length 3 (ignored), NOP, EOL padding.
  const opts = Uint8Array.of(30, 4, 0, 0, 2, 3, 5, 1, 0, 0, 0, 0);
  const b = new Uint8Array(20 + opts.length);
  b[12] = (b.length / 4) << 4;
  b.set(opts, 20);
  const s = decodeTcpSegment(b, LO, LO, undefined, false);
  assert.ok(s);
  assert.deepEqual(s.options, {});
});

Deno.test("encodeTcpOptions() refuses options over 40 bytes", () => {
  const sack = Array.from({ length: 4 }, (_, i) => ({ start: i, end: i + 1 }));
  assert.throws(() => encodeTcpOptions({ sack, ts: { val: 1, ecr: 2 } }), RangeError);
  assert.equal(encodeTcpOptions({ sack: sack.slice(0, 3), ts: { val: 1, ecr: 2 } }).length, 40);
});

Deno.test("fuzz: decodeTcpSegment() never throws and what it accepts re-encodes and decodes", () => {
  const { seed, scale } = fuzzSettings(0x7c9_0001);
  const seeds = [
    LINUX_SYN,
    LINUX_RST,
    encodeTcpSegment(
      seg({ options: { sack: [{ start: 5, end: 9 }], ts: { val: 1, ecr: 2 } } }),
      LO,
      LO,
    ),
  ];
  runFuzz(
    "decodeTcpSegment",
    seed,
    fuzzCases(seeds, { seed, count: Math.round(6000 * scale) }),
    (b) => {
      const s = decodeTcpSegment(b, LO, LO, newRejectCounters(), false);
      if (s === null) return true;
      invariant(s.payload.length <= b.length - 20, "payload within the bytes");
      const sack = s.options.sack;
      invariant(sack === undefined || (sack.length >= 1 && sack.length <= 4), "sack count");
      if (sack && sack.length === 4 && s.options.ts) return; // does not fit back: legal on the wire only
      const again = decodeTcpSegment(encodeTcpSegment(s, LO, LO), LO, LO);
      invariant(again !== null, "re-encoded segment decodes");
      const canon = (o: object) => JSON.stringify(Object.entries(o).sort());
      invariant(canon(again.options) === canon(s.options), "options survive");
    },
  );
});

Deno.test("TcpSegmentReader reads as decodeTcpSegmentAt, nothing left from the segment before", () => {
  const { seed, scale } = fuzzSettings(0x7c9_0002);
  const withAll = encodeTcpSegment(
    seg({ options: { sack: [{ start: 5, end: 9 }], ts: { val: 1, ecr: 2 } } }),
    LO,
    LO,
  );
  const seeds = [LINUX_SYN, LINUX_RST, withAll, encodeTcpSegment(seg({}), LO, LO)];
  // One reader for every case: an option of one segment must not show in the next.
  const reader = new TcpSegmentReader();
  const plain = (o: object) =>
    JSON.stringify(Object.entries(o).filter(([, v]) => v !== undefined).sort());
  const shown = (s: TcpSegment | null) =>
    s === null ? "null" : plain({ ...s, options: plain(s.options), payload: [...s.payload] });
  runFuzz(
    "TcpSegmentReader",
    seed,
    fuzzCases([...seeds, ...seeds], { seed, count: Math.round(3000 * scale) }),
    (b) => {
      const r1 = newRejectCounters(), r2 = newRejectCounters();
      const want = decodeTcpSegmentAt(b, 0, b.length, r1);
      const got = reader.read(b, 0, b.length, r2);
      invariant(shown(got) === shown(want), "same segment");
      invariant(JSON.stringify(r1) === JSON.stringify(r2), "same reject reason");
    },
  );
});
