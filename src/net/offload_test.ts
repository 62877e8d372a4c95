import assert from "node:assert/strict";
import { bytesEqual } from "../bytes/equal.ts";
import { parseIp } from "./ip.ts";
import {
  decodeVnetHdr,
  encodeVnetHdr,
  foldSum,
  GroCoalescer,
  GsoSplitter,
  joinWrite,
  sumBytes,
  VNET_F_NEEDS_CSUM,
  VNET_GSO_ECN,
  VNET_GSO_TCPV4,
  VNET_GSO_TCPV6,
  VNET_HDR_LEN,
} from "./offload.ts";
import {
  buildTcpPacket,
  buildUdpPacket,
  finishChecksum,
  parsePacket,
  sumWords,
  TCP_ACK,
  TCP_FIN,
  TCP_PSH,
  TCP_SYN,
  verifyChecksums,
  writeChecksums,
} from "./packet.ts";
import { mulberry32 } from "../testing/prng.ts";

const TCP_CWR = 0x80;
const OFF = 16;
const A4 = parseIp("100.64.0.1"), B4 = parseIp("100.64.0.2");
const A6 = parseIp("fd7a:115c:a1e0::1"), B6 = parseIp("fd7a:115c:a1e0::2");
// Timestamps option (kind 8), padded with two NOPs, as Linux sends it.
const TS_OPTION = new Uint8Array([1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2]);

function bytes(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  for (let i = 0; i < n; i++) b[i] = (i * 31 + seed * 7) & 0xff;
  return b;
}

interface Seg {
  v6?: boolean;
  seq: number;
  ack?: number;
  flags?: number;
  payload: Uint8Array;
  options?: Uint8Array;
  srcPort?: number;
  id?: number;
}

/** A TCP segment with valid checksums; IPv4 ones get `id` in the identification field. */
function seg(s: Seg): Uint8Array {
  const b = buildTcpPacket({
    src: s.v6 ? A6 : A4,
    dst: s.v6 ? B6 : B4,
    srcPort: s.srcPort ?? 40000,
    dstPort: 5201,
    seq: s.seq,
    ack: s.ack ?? 77,
    flags: s.flags ?? TCP_ACK,
    options: s.options,
    payload: s.payload,
  });
  if (!s.v6) {
    b[4] = (s.id ?? 0) >> 8;
    b[5] = (s.id ?? 0) & 0xff;
    b[6] = 0x40; // DF, as Linux TCP sends
    writeChecksums(b);
  }
  return b;
}

/** A read from a TUN in offload mode: a virtio_net_hdr for TSO and the super packet. */
function superRead(pkt: Uint8Array, gsoSize: number, ecn = false): Uint8Array {
  const v6 = pkt[0] >> 4 === 6;
  const p = parsePacket(pkt);
  const tcphLen = (pkt[p.l4Off + 12] >> 4) * 4;
  const out = new Uint8Array(VNET_HDR_LEN + pkt.length);
  encodeVnetHdr(out, 0, {
    flags: VNET_F_NEEDS_CSUM,
    gsoType: (v6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4) | (ecn ? VNET_GSO_ECN : 0),
    hdrLen: p.l4Off + tcphLen,
    gsoSize,
    csumStart: p.l4Off,
    csumOffset: 16,
  });
  out.set(pkt, VNET_HDR_LEN);
  // As the kernel hands it out: only the pseudo-header sum in the checksum field.
  out[VNET_HDR_LEN + p.l4Off + 16] = 0x12;
  out[VNET_HDR_LEN + p.l4Off + 17] = 0x34;
  return out;
}

function buffers(n: number, size = 2048): Uint8Array[] {
  return Array.from({ length: n }, () => new Uint8Array(size));
}

function splitAll(read: Uint8Array, max = 64, size = 2048): Uint8Array[] {
  const s = new GsoSplitter();
  const n = s.load(read, read.length);
  assert.ok(n > 0, `load failed: ${s.problem}`);
  const bufs = buffers(max, size);
  const sizes = new Array<number>(max).fill(0);
  const got = s.emit(bufs, sizes, OFF, 0, max);
  assert.equal(s.pending, 0);
  return bufs.slice(0, got).map((b, i) => b.slice(OFF, OFF + sizes[i]));
}

function tcpInfo(b: Uint8Array) {
  const p = parsePacket(b);
  assert.equal(p.problem, null);
  const dv = new DataView(b.buffer, b.byteOffset);
  return {
    seq: dv.getUint32(p.l4Off + 4),
    flags: p.tcpFlags,
    payload: p.payload(),
    id: p.version === 4 ? dv.getUint16(4) : -1,
    length: p.length,
  };
}

Deno.test("sumBytes() matches sumWords() on every length and alignment", () => {
  const rng = mulberry32(7);
  const b = new Uint8Array(300);
  for (let i = 0; i < b.length; i++) b[i] = Math.floor(rng() * 256);
  for (let start = 0; start < 5; start++) {
    for (let end = start; end < 300; end += 7) {
      const want = finishChecksum(sumWords(b, start, end, 0x1234));
      assert.equal(~foldSum(sumBytes(b, start, end, 0x1234)) & 0xffff, want, `${start}-${end}`);
    }
  }
  // A view at an odd byte offset of a larger buffer.
  const view = b.subarray(3, 200);
  assert.equal(
    ~foldSum(sumBytes(view, 1, 150)) & 0xffff,
    finishChecksum(sumWords(view, 1, 150)),
  );
});

Deno.test("decodeVnetHdr() reads what encodeVnetHdr() wrote, little-endian", () => {
  const h = {
    flags: 1,
    gsoType: VNET_GSO_TCPV6,
    hdrLen: 72,
    gsoSize: 1348,
    csumStart: 40,
    csumOffset: 16,
  };
  const b = new Uint8Array(12);
  encodeVnetHdr(b, 1, h);
  assert.deepEqual([...b.subarray(1, 11)], [1, 4, 72, 0, 0x44, 5, 40, 0, 16, 0]);
  assert.deepEqual(decodeVnetHdr(b, 1), h);
});

Deno.test("GsoSplitter splits an IPv4 TSO packet into MSS segments with correct headers", () => {
  const data = bytes(3500, 1);
  const big = seg({
    seq: 0xfffffc00,
    flags: TCP_ACK | TCP_PSH | TCP_FIN,
    payload: data,
    id: 0xfffe,
  });
  const segs = splitAll(superRead(big, 1000));
  assert.equal(segs.length, 4);
  let at = 0;
  segs.forEach((s, i) => {
    assert.ok(verifyChecksums(s), `segment ${i} checksums`);
    const t = tcpInfo(s);
    const n = i < 3 ? 1000 : 500;
    assert.equal(t.length, 40 + n);
    assert.equal(s.length, 40 + n);
    assert.equal(t.seq, (0xfffffc00 + at) >>> 0, `segment ${i} seq wraps`);
    assert.equal(t.id, (0xfffe + i) & 0xffff, `segment ${i} id`);
    assert.deepEqual(t.payload, data.subarray(at, at + n));
    assert.equal(t.flags, i === 3 ? TCP_ACK | TCP_PSH | TCP_FIN : TCP_ACK, `segment ${i} flags`);
    assert.equal(s[6], 0x40, "DF kept");
    at += n;
  });
});

Deno.test("GsoSplitter keeps CWR on the first segment only of an ECN TSO packet", () => {
  const big = seg({ seq: 1, flags: TCP_ACK | TCP_CWR | TCP_PSH, payload: bytes(2500, 2) });
  const segs = splitAll(superRead(big, 1000, true));
  assert.deepEqual(segs.map((s) => tcpInfo(s).flags), [
    TCP_ACK | TCP_CWR,
    TCP_ACK,
    TCP_ACK | TCP_PSH,
  ]);
  for (const s of segs) assert.ok(verifyChecksums(s));
});

Deno.test("GsoSplitter splits an IPv6 TSO packet with TCP options", () => {
  const data = bytes(4000, 3);
  const big = seg({ v6: true, seq: 1000, options: TS_OPTION, payload: data });
  const segs = splitAll(superRead(big, 1348));
  assert.deepEqual(segs.map((s) => s.length), [1420, 1420, 72 + 4000 - 2 * 1348]);
  let at = 0;
  for (const s of segs) {
    assert.ok(verifyChecksums(s));
    const t = tcpInfo(s);
    assert.equal(new DataView(s.buffer).getUint16(4), s.length - 40, "payload length");
    assert.equal(t.seq, 1000 + at);
    assert.deepEqual(s.subarray(60, 72), TS_OPTION, "options copied");
    assert.deepEqual(t.payload, data.subarray(at, at + t.payload.length));
    at += t.payload.length;
  }
  assert.equal(at, data.length);
});

Deno.test("GsoSplitter resumes where the caller ran out of buffers", () => {
  const big = seg({ seq: 5, payload: bytes(5000, 4) });
  const read = superRead(big, 1000);
  const all = splitAll(read.slice());
  const s = new GsoSplitter();
  assert.equal(s.load(read, read.length), 5);
  const bufs = buffers(8);
  const sizes = new Array<number>(8).fill(0);
  assert.equal(s.emit(bufs, sizes, OFF, 0, 2), 2);
  assert.equal(s.pending, 3);
  assert.equal(s.emit(bufs, sizes, OFF, 5, 8), 3);
  assert.equal(s.pending, 0);
  assert.equal(s.emit(bufs, sizes, OFF, 0, 8), 0);
  const got = [0, 1, 5, 6, 7].map((i) => bufs[i].slice(OFF, OFF + sizes[i]));
  assert.deepEqual(got, all);
});

Deno.test("GsoSplitter finishes a partial checksum and passes plain packets through", () => {
  const udp = buildUdpPacket({ src: A4, dst: B4, srcPort: 53, dstPort: 9, payload: bytes(301, 5) });
  const want = udp.slice();
  // CHECKSUM_PARTIAL: the field holds the uncomplemented pseudo-header sum.
  const pseudo = foldSum(sumBytes(udp, 12, 20, 17 + udp.length - 20));
  udp[26] = pseudo >> 8;
  udp[27] = pseudo & 0xff;
  const read = new Uint8Array(VNET_HDR_LEN + udp.length);
  encodeVnetHdr(read, 0, {
    flags: VNET_F_NEEDS_CSUM,
    gsoType: 0,
    hdrLen: 0,
    gsoSize: 0,
    csumStart: 20,
    csumOffset: 6,
  });
  read.set(udp, VNET_HDR_LEN);
  assert.deepEqual(splitAll(read), [want]);

  const syn = seg({ seq: 9, flags: TCP_SYN, payload: new Uint8Array(0) });
  const plain = new Uint8Array(VNET_HDR_LEN + syn.length);
  plain.set(syn, VNET_HDR_LEN);
  assert.deepEqual(splitAll(plain), [syn]);
});

Deno.test("GsoSplitter rejects malformed reads and drops segments that do not fit", () => {
  const s = new GsoSplitter();
  const big = seg({ seq: 1, payload: bytes(3000, 6) });
  const good = superRead(big, 1000);
  assert.equal(s.load(good, 8), 0);
  assert.match(s.problem!, /no packet/);
  const udpGso = good.slice();
  udpGso[1] = 5;
  assert.equal(s.load(udpGso, udpGso.length), 0);
  assert.match(s.problem!, /unsupported GSO type 5/);
  const wrongFamily = good.slice();
  wrongFamily[1] = VNET_GSO_TCPV6;
  assert.equal(s.load(wrongFamily, wrongFamily.length), 0);
  assert.match(s.problem!, /IPv4/);
  const zero = good.slice();
  zero[4] = zero[5] = 0;
  assert.equal(s.load(zero, zero.length), 0);
  const badOffset = good.slice();
  badOffset[8] = 6;
  assert.equal(s.load(badOffset, badOffset.length), 0);
  const noPayload = superRead(seg({ seq: 1, payload: new Uint8Array(0) }), 1000);
  assert.equal(s.load(noPayload, noPayload.length), 0);
  const partialPast = new Uint8Array(VNET_HDR_LEN + 40);
  partialPast.set(seg({ seq: 1, flags: TCP_SYN, payload: new Uint8Array(0) }), VNET_HDR_LEN);
  encodeVnetHdr(partialPast, 0, {
    flags: VNET_F_NEEDS_CSUM,
    gsoType: 0,
    hdrLen: 0,
    gsoSize: 0,
    csumStart: 30,
    csumOffset: 16,
  });
  assert.equal(s.load(partialPast, partialPast.length), 0);

  // Buffers with room for 1000 bytes after the offset hold none of the 1040-byte segments.
  assert.equal(s.load(good, good.length), 3);
  const bufs = buffers(3, OFF + 1000);
  const sizes = [0, 0, 0];
  assert.equal(s.emit(bufs, sizes, OFF, 0, 3), 0);
  assert.equal(s.dropped, 3);
});

// --- coalescing ---

function batch(pkts: Uint8Array[]): { bufs: Uint8Array[]; sizes: number[] } {
  const bufs = pkts.map((p) => {
    const b = new Uint8Array(OFF + p.length + 32);
    b.set(p, OFF);
    return b;
  });
  return { bufs, sizes: pkts.map((p) => p.length) };
}

/** Plans `pkts` and returns every write's bytes (vnet header first). */
function coalesce(pkts: Uint8Array[]): Uint8Array[] {
  const { bufs, sizes } = batch(pkts);
  const plan = new GroCoalescer().plan(bufs, sizes, OFF, pkts.length);
  return Array.from({ length: plan.count }, (_, k) => joinWrite(plan, k, bufs, sizes, OFF));
}

function isPlain(write: Uint8Array, pkt: Uint8Array): boolean {
  return write.subarray(0, VNET_HDR_LEN).every((x) => x === 0) &&
    write.length === VNET_HDR_LEN + pkt.length &&
    bytesEqual(write.subarray(VNET_HDR_LEN), pkt);
}

/** Segments a coalesced write the way the kernel would: the same splitter, round trip. */
function resegment(write: Uint8Array): Uint8Array[] {
  return splitAll(write.slice());
}

function flow(n: number, size: number, opts: Partial<Seg> = {}): Uint8Array[] {
  return Array.from(
    { length: n },
    (_, i) => seg({ seq: 1000 + i * size, payload: bytes(size, i), id: 40 + i, ...opts }),
  );
}

Deno.test("GroCoalescer merges in-order segments of one IPv4 flow into one TSO write", () => {
  const pkts = flow(5, 1000);
  pkts[4] = seg({ seq: 5000, payload: bytes(1000, 4), id: 44, flags: TCP_ACK | TCP_PSH });
  const writes = coalesce(pkts);
  assert.equal(writes.length, 1);
  const h = decodeVnetHdr(writes[0], 0);
  assert.deepEqual(h, {
    flags: VNET_F_NEEDS_CSUM,
    gsoType: VNET_GSO_TCPV4,
    hdrLen: 40,
    gsoSize: 1000,
    csumStart: 20,
    csumOffset: 16,
  });
  const pkt = writes[0].subarray(VNET_HDR_LEN);
  assert.equal(new DataView(pkt.buffer, pkt.byteOffset).getUint16(2), 40 + 5000);
  assert.equal(finishChecksum(sumWords(pkt, 0, 20)), 0, "IPv4 header checksum");
  assert.equal(pkt[33], TCP_ACK | TCP_PSH, "PSH of the last segment on the super packet");

  assert.deepEqual(resegment(writes[0]), pkts, "kernel segmentation gives back the segments");
});

Deno.test("GroCoalescer merges IPv6 segments with TCP options and a short last one", () => {
  const pkts = [
    ...flow(3, 1348, { v6: true, options: TS_OPTION }),
    seg({ v6: true, seq: 1000 + 3 * 1348, payload: bytes(200, 9), options: TS_OPTION }),
  ];
  const writes = coalesce(pkts);
  assert.equal(writes.length, 1);
  const h = decodeVnetHdr(writes[0], 0);
  assert.equal(h.gsoType, VNET_GSO_TCPV6);
  assert.equal(h.hdrLen, 72);
  assert.equal(h.gsoSize, 1348);
  assert.equal(h.csumStart, 40);
  const pkt = writes[0].subarray(VNET_HDR_LEN);
  assert.equal(new DataView(pkt.buffer, pkt.byteOffset).getUint16(4), 32 + 3 * 1348 + 200);
  assert.deepEqual(resegment(writes[0]), pkts);
});

Deno.test("GroCoalescer keeps flows apart and other packets alone, in order", () => {
  const a = flow(3, 1000);
  const b = flow(2, 1000, { srcPort: 40001 });
  const udp = buildUdpPacket({ src: A4, dst: B4, srcPort: 1, dstPort: 2, payload: bytes(50, 1) });
  const writes = coalesce([a[0], b[0], a[1], udp, b[1], a[2]]);
  assert.equal(writes.length, 3);
  assert.deepEqual(resegment(writes[0]), a);
  assert.deepEqual(resegment(writes[1]), b);
  assert.ok(isPlain(writes[2], udp));
});

Deno.test("GroCoalescer never merges out of order, across a PSH or after a short segment", () => {
  const a = flow(3, 1000);
  let w = coalesce([a[0], a[2], a[1]]);
  assert.equal(w.length, 3);
  assert.ok(isPlain(w[0], a[0]) && isPlain(w[1], a[2]) && isPlain(w[2], a[1]));

  const psh = seg({ seq: 1000, payload: bytes(1000, 0), id: 40, flags: TCP_ACK | TCP_PSH });
  w = coalesce([psh, a[1]]);
  assert.equal(w.length, 2);
  assert.ok(isPlain(w[0], psh) && isPlain(w[1], a[1]));

  const short = seg({ seq: 1000, payload: bytes(600, 0), id: 40 });
  const after = seg({ seq: 1600, payload: bytes(1000, 1), id: 41 });
  const then = seg({ seq: 2600, payload: bytes(1000, 2), id: 42 });
  w = coalesce([short, after, then]);
  assert.equal(w.length, 2, "a larger segment cannot follow a smaller one");
  assert.ok(isPlain(w[0], short));
  assert.deepEqual(resegment(w[1]), [after, then]);

  const big = seg({ seq: 1000, payload: bytes(1000, 0), id: 40 });
  const small = seg({ seq: 2000, payload: bytes(10, 1), id: 41 });
  const more = seg({ seq: 2010, payload: bytes(10, 2), id: 42 });
  w = coalesce([big, small, more]);
  assert.equal(w.length, 2, "nothing after a short segment");
  assert.deepEqual(resegment(w[0]), [big, small]);
  assert.ok(isPlain(w[1], more));
});

Deno.test("GroCoalescer leaves FIN, SYN, changed ACKs and bad checksums alone", () => {
  const a = flow(3, 1000);
  const fin = seg({ seq: 2000, payload: bytes(1000, 1), id: 41, flags: TCP_ACK | TCP_FIN });
  let w = coalesce([a[0], fin]);
  assert.equal(w.length, 2);
  assert.ok(isPlain(w[0], a[0]) && isPlain(w[1], fin));

  const newAck = seg({ seq: 2000, payload: bytes(1000, 1), id: 41, ack: 78 });
  w = coalesce([a[0], newAck]);
  assert.equal(w.length, 2);

  // A pure ACK of the same flow in between: later data must not overtake it.
  const pure = seg({ seq: 2000, payload: new Uint8Array(0), id: 41 });
  w = coalesce([a[0], pure, a[1]]);
  assert.equal(w.length, 3);
  assert.ok(isPlain(w[0], a[0]) && isPlain(w[1], pure) && isPlain(w[2], a[1]));

  const bad = a[1].slice();
  bad[bad.length - 1] ^= 1;
  w = coalesce([a[0], bad, a[2]]);
  assert.equal(w.length, 3, "a corrupt segment goes out alone for the kernel to drop");
  assert.ok(isPlain(w[0], a[0]) && isPlain(w[1], bad) && isPlain(w[2], a[2]));

  const badHead = a[0].slice();
  badHead[badHead.length - 1] ^= 1;
  w = coalesce([badHead, a[1], a[2]]);
  assert.ok(isPlain(w[0], badHead));
  assert.deepEqual(resegment(w[1]), [a[1], a[2]]);
});

Deno.test("GroCoalescer stops a super packet before 64 KiB", () => {
  const pkts = flow(70, 1400);
  const writes = coalesce(pkts);
  assert.equal(writes.length, 2);
  const first = writes[0].length - VNET_HDR_LEN;
  assert.ok(first <= 65535 && first + 1400 > 65535, `first write ${first} bytes`);
  assert.deepEqual([...resegment(writes[0]), ...resegment(writes[1])], pkts);
});
