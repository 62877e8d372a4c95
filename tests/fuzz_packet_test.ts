/**
 * Seeded mutation fuzzing of the IP/TCP/UDP/ICMP parser, the checksum code
 * and the packet filter on top of it, and of the TUN offload paths: TSO
 * splitting (GsoSplitter) and GRO coalescing of segments from peers.
 */
import assert from "node:assert/strict";
import { fuzzCases } from "../src/testing/mutate.ts";
import { attempt, fuzzSettings, invariant, runFuzz } from "../src/testing/fuzz.ts";
import {
  buildIcmpPacket,
  buildTcpPacket,
  buildUdpPacket,
  parsePacket,
  TCP_ACK,
  TCP_PSH,
  TCP_SYN,
  verifyChecksums,
  writeChecksums,
} from "../src/net/packet.ts";
import { parseIp } from "../src/net/ip.ts";
import { PacketFilter } from "../src/filter/filter.ts";
import {
  encodeVnetHdr,
  GroCoalescer,
  GsoSplitter,
  joinWrite,
  VNET_F_NEEDS_CSUM,
  VNET_GSO_TCPV4,
  VNET_GSO_TCPV6,
  VNET_HDR_LEN,
} from "../src/net/offload.ts";

const { seed: SEED, scale } = fuzzSettings(0x5eed_0004);
const n = (count: number) => Math.round(count * scale);
const A4 = parseIp("100.64.0.1"), B4 = parseIp("100.64.0.2");
const A6 = parseIp("fd7a:115c:a1e0::1"), B6 = parseIp("fd7a:115c:a1e0::2");
const data = (k: number) => Uint8Array.from({ length: k }, (_, i) => (i * 31) & 0xff);
const tcp = (v6: boolean, seq: number, flags: number, payload: Uint8Array) =>
  buildTcpPacket({
    src: v6 ? A6 : A4,
    dst: v6 ? B6 : B4,
    srcPort: 40000,
    dstPort: 5201,
    seq,
    ack: 77,
    flags,
    options: Uint8Array.of(1, 1, 8, 10, 0, 0, 0, 1, 0, 0, 0, 2),
    payload,
  });

const packets = [
  tcp(false, 1, TCP_SYN, new Uint8Array(0)),
  tcp(false, 1000, TCP_ACK | TCP_PSH, data(40)),
  tcp(true, 1000, TCP_ACK, data(40)),
  buildUdpPacket({ src: A4, dst: B4, srcPort: 5353, dstPort: 53, payload: data(20) }),
  buildUdpPacket({ src: A6, dst: B6, srcPort: 5353, dstPort: 53, payload: data(20) }),
  buildIcmpPacket({ src: A4, dst: B4, type: 8, rest: 0x10001, payload: data(8) }),
  buildIcmpPacket({ src: A6, dst: B6, type: 128, payload: data(8) }),
];
// A first fragment and a later one (offset 185 blocks), and an IPv6 Fragment header.
const frag = buildUdpPacket({ src: A4, dst: B4, srcPort: 1, dstPort: 2, payload: data(30) });
frag[6] = 0x20;
const later = frag.slice();
later[6] = 0x00;
later[7] = 185;
const frag6 = new Uint8Array(40 + 8 + 16);
frag6.set(packets[4].subarray(0, 40));
frag6.set([0, 8 + 16, 44], 4);
frag6.set([17, 0, 0, 1], 40);
frag6.set(packets[4].subarray(40, 56), 48);
packets.push(frag, later, frag6);
const ipFields = packets.map((p) =>
  p[0] >> 4 === 4
    ? [{ offset: 2, size: 2 as const }, { offset: 0, size: 1 as const }]
    : [{ offset: 4, size: 2 as const }, { offset: 6, size: 1 as const }]
);

Deno.test("fuzz: parsePacket() never throws and a packet without a problem is consistent", () => {
  runFuzz(
    "parsePacket",
    SEED,
    fuzzCases(packets, {
      seed: SEED,
      count: n(8000),
      prefixesUpTo: 128,
      lengthFields: ipFields,
    }),
    (b) => {
      const p = parsePacket(b);
      if (p.problem !== null) {
        const w = attempt(() => writeChecksums(b.slice()), [SyntaxError]);
        invariant(w === null, "writeChecksums refuses a packet parsePacket has a problem with");
        invariant(!verifyChecksums(b), "verifyChecksums is false for a problem packet");
        return true;
      }
      invariant(p.version === 4 || p.version === 6, "version");
      invariant(p.addrLen === (p.version === 4 ? 4 : 16), "address length");
      invariant(p.length <= b.length, `length ${p.length} within ${b.length} bytes`);
      invariant(p.dstOff + p.addrLen <= p.length && p.srcOff + p.addrLen <= p.length, "addrs");
      invariant(p.l4Off <= p.payloadOff && p.payloadOff <= p.length, "offsets in order");
      invariant(p.payload().length === p.length - p.payloadOff, "payload view");
      for (const port of [p.srcPort, p.dstPort]) invariant(port >= 0 && port <= 0xffff, "port");
      // What parses can be checksummed, and then verifies.
      writeChecksums(b);
      invariant(verifyChecksums(b), "verifies after writeChecksums");
    },
  );
});

Deno.test("fuzz: PacketFilter.check() and noteOutbound() never throw on mutated packets", () => {
  const f = new PacketFilter([
    {
      SrcIPs: ["100.64.0.0/10", "fd7a:115c:a1e0::/48"],
      DstPorts: [{ IP: "*", Ports: { First: 0, Last: 65535 } }],
    },
    {
      SrcIPs: ["*"],
      DstPorts: [{ IP: "100.64.0.2/32", Ports: { First: 53, Last: 53 } }],
      IPProto: [17],
    },
  ], { localNets: ["100.64.0.2/32", "fd7a:115c:a1e0::2/128"] });
  let accepted = 0;
  runFuzz(
    "packet filter",
    SEED,
    fuzzCases(packets, { seed: SEED, count: n(5000), lengthFields: ipFields }),
    (b) => {
      f.noteOutbound(b);
      const v = f.check(b);
      invariant(v === "accept" || v === "drop", "verdict");
      if (v === "accept") {
        accepted++;
        invariant(parsePacket(b).problem === null, "only parseable packets pass");
      }
      return v === "drop";
    },
  );
  assert.ok(accepted > 0);
  const s = f.stats();
  assert.equal(s.accepted + s.dropped, n(5000) + packets.length);
});

/** A TUN read in offload mode: virtio_net_hdr for TSO, then the super packet. */
function superRead(pkt: Uint8Array, gsoSize: number): Uint8Array {
  const p = parsePacket(pkt);
  const out = new Uint8Array(VNET_HDR_LEN + pkt.length);
  encodeVnetHdr(out, 0, {
    flags: VNET_F_NEEDS_CSUM,
    gsoType: p.version === 6 ? VNET_GSO_TCPV6 : VNET_GSO_TCPV4,
    hdrLen: p.payloadOff,
    gsoSize,
    csumStart: p.l4Off,
    csumOffset: 16,
  });
  out.set(pkt, VNET_HDR_LEN);
  return out;
}

Deno.test("fuzz: GsoSplitter rejects bad reads with a problem or emits checksummed segments", () => {
  const plain = new Uint8Array(VNET_HDR_LEN + packets[3].length);
  plain.set(packets[3], VNET_HDR_LEN);
  plain[0] = VNET_F_NEEDS_CSUM;
  plain.set([20, 0, 6, 0], 6); // csum_start 20, csum_offset 6: UDP
  const reads = [
    superRead(tcp(false, 5, TCP_ACK | TCP_PSH, data(3000)), 1000),
    superRead(tcp(true, 5, TCP_ACK, data(2500)), 1200),
    plain,
  ];
  const vnet = reads.map(() =>
    [2, 4, 6, 8].map((offset) => ({ offset, size: 2 as const, littleEndian: true }))
  );
  const s = new GsoSplitter();
  const bufs = Array.from({ length: 8 }, () => new Uint8Array(1600));
  const sizes = new Array<number>(8).fill(0);
  runFuzz(
    "gso splitter",
    SEED,
    fuzzCases(reads, { seed: SEED, count: n(4000), lengthFields: vnet }),
    (b) => {
      const k = s.load(b, b.length);
      if (k === 0) {
        invariant(s.problem !== null, "a refused read names its problem");
        return true;
      }
      invariant(s.problem === null && Number.isInteger(k) && k >= 1, "segment count");
      const gso = (b[1] & 0x7f) !== 0;
      let emitted = 0;
      while (s.pending > 0) {
        const got = s.emit(bufs, sizes, 16, 0, bufs.length);
        for (let i = 0; i < got; i++) {
          invariant(sizes[i] > 0 && 16 + sizes[i] <= 1600, "segment size");
          const seg = bufs[i].subarray(16, 16 + sizes[i]);
          const p = parsePacket(seg);
          // (An IPv6 read whose csum_start is past a TCP header right after the fixed header
          // is split as if extension headers came first; its segments are as garbled.)
          if (gso && p.problem === null && p.proto === 6 && p.l4Off === (b[6] | (b[7] << 8))) {
            invariant(p.length === seg.length, "segment IP length");
            invariant(verifyChecksums(seg), "segment checksums");
          }
        }
        emitted += got;
        if (got === 0) break; // the rest did not fit our buffers: dropped and counted
      }
      invariant(emitted <= k, "no more segments than announced");
    },
  );
});

/** A batch of packets as one byte string: `len u16 BE ‖ packet` repeated, so mutations reach
 * the boundaries as well as the bytes. */
function encodeBatch(ps: Uint8Array[]): Uint8Array {
  const out = new Uint8Array(ps.reduce((a, p) => a + 2 + p.length, 0));
  let at = 0;
  for (const p of ps) {
    out.set([p.length >> 8, p.length & 0xff], at);
    out.set(p, at + 2);
    at += 2 + p.length;
  }
  return out;
}

function decodeBatch(b: Uint8Array): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (let at = 0; at + 2 <= b.length && out.length < 64;) {
    const len = Math.min((b[at] << 8) | b[at + 1], b.length - at - 2, 1500);
    out.push(b.slice(at + 2, at + 2 + len));
    at += 2 + len;
  }
  return out;
}

Deno.test("fuzz: GroCoalescer plans merge only what splits back into the same checksummed data", () => {
  const flow = (v6: boolean) =>
    [0, 1, 2, 3].map((i) => tcp(v6, 1000 + 500 * i, TCP_ACK | (i === 3 ? TCP_PSH : 0), data(500)));
  const other = buildUdpPacket({ src: A4, dst: B4, srcPort: 1, dstPort: 2, payload: data(9) });
  const batches = [encodeBatch(flow(false)), encodeBatch([...flow(true), other])];
  const gro = new GroCoalescer();
  let merged = 0;
  runFuzz("gro coalescer", SEED, fuzzCases(batches, { seed: SEED, count: n(3000) }), (b) => {
    const ps = decodeBatch(b);
    // Half the cases repair checksums, so header mutations still reach the merge logic.
    if (b.length % 2 === 0) {
      for (const p of ps) if (parsePacket(p).problem === null) writeChecksums(p);
    }
    const bufs = ps.map((p) => {
      const buf = new Uint8Array(16 + p.length);
      buf.set(p, 16);
      return buf;
    });
    const originals = bufs.map((x) => x.slice(16));
    const sizes = ps.map((p) => p.length);
    const plan = gro.plan(bufs, sizes, 16, ps.length);
    invariant(plan.count <= ps.length, "no more writes than packets");
    const seen = new Set<number>();
    for (let k = 0; k < plan.count; k++) {
      const chain: number[] = [];
      for (let i = plan.head[k]; i >= 0; i = plan.next[i]) chain.push(i);
      for (const i of chain) invariant(!seen.has(i), "a packet in one write"), seen.add(i);
      const w = joinWrite(plan, k, bufs, sizes, 16);
      invariant(w.length === VNET_HDR_LEN + plan.length[k] && plan.length[k] <= 65535, "length");
      if (chain.length === 1) continue;
      merged++;
      // The kernel splits a merged write back up: the same payload bytes, valid checksums.
      const s = new GsoSplitter();
      invariant(s.load(w, w.length) > 0, `merged write does not load: ${s.problem}`);
      const out = Array.from({ length: 64 }, () => new Uint8Array(1600));
      const outSizes = new Array<number>(64).fill(0);
      const got = s.emit(out, outSizes, 0, 0, 64);
      const want = chain.map((i) => parsePacket(originals[i]).payload());
      invariant(got === chain.length, `split into ${got}, merged ${chain.length}`);
      for (let j = 0; j < got; j++) {
        const seg = out[j].subarray(0, outSizes[j]);
        invariant(verifyChecksums(seg), "split segment checksums");
        assert.deepEqual(parsePacket(seg).payload(), want[j]);
      }
    }
    invariant(seen.size === ps.length, "every packet written");
  });
  assert.ok(merged > 0, "some batches still merge");
});
