import assert from "node:assert/strict";
import { fromHex } from "../bytes/hex.ts";
import { formatIp, parseIp } from "./ip.ts";
import {
  buildIcmpPacket,
  buildTcpPacket,
  buildUdpPacket,
  finishChecksum,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_TCP,
  IPPROTO_UDP,
  ParsedPacket,
  parsePacket,
  sumWords,
  TCP_ACK,
  TCP_SYN,
  verifyChecksums,
  writeChecksums,
} from "./packet.ts";

// Packets written by the Linux 6.x kernel to a TUN device (no offloads) in a
// network namespace: python sockets and ping sending to 10.9.0.2 / fd00::2.
const REAL = {
  udp4Dns:
    "4500003f038e40004011230c0a0900010a0900029c400035002b65f0df8401200001000000000000064e4f" +
    "44452d410574736c616204746573740000010001",
  udp6OddPayload:
    "6004e6c9002c1140fd000000000000000000000000000001fd00000000000000000000000000000" +
    "29c410035002c7f85df8401200001000000000000064e4f44452d410574736c61620474657374000001000178",
  tcp4Syn:
    "4500003cbd5940004006694e0a0900010a090002b928001644061b3f00000000a002faf084c70000020405" +
    "b40402080a03699843000000000103030a",
  tcp6Syn: "60060acb00280640fd000000000000000000000000000001fd000000000000000000000000000002bb28" +
    "01bb7c96e73600000000a002fd20c54a0000020405a00402080a8445e6aa000000000103030a",
  icmp4Echo:
    "4500005428f040004001fda40a0900010a09000208009f3148ed0001c336026b00000000d22c0c000000" +
    "0000abcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcdabcd",
  icmp6Echo: "600c3a1c00403a40fd000000000000000000000000000001fd000000000000000000000000000002800" +
    "074e648ee0001c336026b0000000037360c0000000000101112131415161718191a1b1c1d1e1f20212223242526" +
    "2728292a2b2c2d2e2f3031323334353637",
};

Deno.test("sumWords()/finishChecksum() match the RFC 1071 worked example", () => {
  const b = new Uint8Array([0x00, 0x01, 0xf2, 0x03, 0xf4, 0xf5, 0xf6, 0xf7]);
  // RFC 1071 §3: the folded sum is ddf2, so the checksum is its complement.
  assert.equal(finishChecksum(sumWords(b, 0, 8)), (~0xddf2) & 0xffff);
  // An odd trailing byte counts as the high half of a zero-padded word.
  assert.equal(sumWords(new Uint8Array([1, 2, 3]), 0, 3), 0x0102 + 0x0300);
});

Deno.test("verifyChecksums() accepts every kernel-built packet", () => {
  for (const [name, h] of Object.entries(REAL)) assert.ok(verifyChecksums(fromHex(h)), name);
});

Deno.test("verifyChecksums() rejects a flipped bit in header or payload", () => {
  for (const [name, h] of Object.entries(REAL)) {
    for (const at of [13, 17, fromHex(h).length - 1]) {
      const b = fromHex(h);
      b[at] ^= 0x04;
      assert.equal(verifyChecksums(b), false, `${name} byte ${at}`);
    }
  }
});

Deno.test("writeChecksums() reproduces the kernel's checksums exactly", () => {
  for (const [name, h] of Object.entries(REAL)) {
    const want = fromHex(h);
    const b = want.slice();
    const p = parsePacket(b);
    const field = p.proto === IPPROTO_UDP ? 6 : p.proto === IPPROTO_TCP ? 16 : 2;
    b[p.l4Off + field] = b[p.l4Off + field + 1] = 0;
    if (p.version === 4) b[10] = b[11] = 0;
    writeChecksums(b);
    assert.deepEqual(b, want, name);
  }
});

Deno.test("parsePacket() reads addresses, ports and flags of real packets", () => {
  const u4 = parsePacket(fromHex(REAL.udp4Dns));
  assert.equal(u4.problem, null);
  assert.equal(u4.version, 4);
  assert.equal(u4.proto, IPPROTO_UDP);
  assert.equal(formatIp(u4.srcIp()), "10.9.0.1");
  assert.equal(formatIp(u4.dstIp()), "10.9.0.2");
  assert.equal(u4.srcPort, 40000);
  assert.equal(u4.dstPort, 53);
  assert.equal(u4.payload().length, 35);
  assert.equal(u4.payload()[0], 0xdf);

  const u6 = parsePacket(fromHex(REAL.udp6OddPayload));
  assert.equal(u6.version, 6);
  assert.equal(formatIp(u6.srcIp()), "fd00::1");
  assert.equal(u6.srcPort, 40001);
  assert.equal(u6.payload().length, 36);

  const t4 = parsePacket(fromHex(REAL.tcp4Syn));
  assert.equal(t4.proto, IPPROTO_TCP);
  assert.equal(t4.dstPort, 22);
  assert.equal(t4.tcpFlags, TCP_SYN);
  assert.equal(t4.payloadOff, 20 + 40); // 20 bytes of options

  const t6 = parsePacket(fromHex(REAL.tcp6Syn));
  assert.equal(t6.dstPort, 443);
  assert.equal(t6.tcpFlags, TCP_SYN);

  const i4 = parsePacket(fromHex(REAL.icmp4Echo));
  assert.equal(i4.proto, IPPROTO_ICMP);
  assert.equal(i4.icmpType, 8);
  assert.equal(i4.icmpCode, 0);
  const i6 = parsePacket(fromHex(REAL.icmp6Echo));
  assert.equal(i6.proto, IPPROTO_ICMPV6);
  assert.equal(i6.icmpType, 128);
});

Deno.test("parsePacket() reuses one ParsedPacket and clears old fields", () => {
  const p = new ParsedPacket();
  parsePacket(fromHex(REAL.tcp4Syn), p);
  assert.equal(p.tcpFlags, TCP_SYN);
  parsePacket(fromHex(REAL.icmp6Echo), p);
  assert.equal(p.tcpFlags, 0);
  assert.equal(p.dstPort, 0);
  assert.equal(p.icmpType, 128);
  parsePacket(new Uint8Array(0), p);
  assert.equal(p.problem, "empty packet");
  assert.equal(p.icmpType, -1);
});

Deno.test("parsePacket() ignores bytes past the IP total length", () => {
  const b = new Uint8Array(fromHex(REAL.udp4Dns).length + 5);
  b.set(fromHex(REAL.udp4Dns));
  const p = parsePacket(b);
  assert.equal(p.problem, null);
  assert.equal(p.length, b.length - 5);
  assert.equal(p.payload().length, 35);
});

Deno.test("parsePacket() reports malformed packets instead of throwing", () => {
  const cases: [string, Uint8Array][] = [
    ["empty packet", new Uint8Array(0)],
    ["not an IPv4 or IPv6 packet", new Uint8Array([0x50, 0, 0, 0])],
    ["shorter than an IPv4 header", fromHex(REAL.udp4Dns).subarray(0, 19)],
    ["shorter than an IPv6 header", fromHex(REAL.tcp6Syn).subarray(0, 39)],
    ["IPv4 packet cut short of its total length", fromHex(REAL.udp4Dns).subarray(0, 40)],
    ["IPv6 packet cut short of its payload length", fromHex(REAL.tcp6Syn).subarray(0, 60)],
  ];
  for (const [want, b] of cases) assert.equal(parsePacket(b).problem, want);

  const badIhl = fromHex(REAL.udp4Dns);
  badIhl[0] = 0x44;
  assert.equal(parsePacket(badIhl).problem, "bad IPv4 header or total length");

  // A TCP packet whose IP length leaves room for only 10 bytes of TCP header.
  const shortTcp = fromHex(REAL.tcp4Syn).slice(0, 30);
  shortTcp[3] = 30;
  assert.equal(parsePacket(shortTcp).problem, "TCP header cut short");

  const badOff = fromHex(REAL.tcp4Syn);
  badOff[20 + 12] = 0x40; // data offset 16 bytes < 20
  assert.equal(parsePacket(badOff).problem, "bad TCP data offset");

  const shortUdp = fromHex(REAL.udp4Dns).slice(0, 24);
  shortUdp[3] = 24;
  assert.equal(parsePacket(shortUdp).problem, "UDP header cut short");

  const hopByHop = fromHex(REAL.tcp6Syn);
  hopByHop[6] = 0;
  assert.equal(parsePacket(hopByHop).problem, "unsupported IPv6 extension header");
});

Deno.test("parsePacket() follows tailscaled's rules for IPv4 fragments", () => {
  const later = fromHex(REAL.udp4Dns);
  later[6] = 0x00;
  later[7] = 10; // offset 10 blocks = 80 bytes: past any transport header
  const p = parsePacket(later);
  assert.equal(p.problem, null);
  assert.equal(p.laterFragment, true);
  assert.equal(p.dstPort, 0);

  later[7] = 9; // 72 bytes: could overwrite a TCP header after a 60-byte IP header
  assert.equal(parsePacket(later).problem, "fragment offset could overlap the transport header");

  // A first fragment (MF set, offset 0) is parsed like a whole packet.
  const first = fromHex(REAL.tcp4Syn);
  first[6] = 0x20;
  const f = parsePacket(first);
  assert.equal(f.problem, null);
  assert.equal(f.laterFragment, false);
  assert.equal(f.dstPort, 22);
});

Deno.test("parsePacket() steps over an IPv6 fragment header", () => {
  const inner = fromHex(REAL.tcp6Syn);
  const body = inner.subarray(40);
  const mk = (offsetBlocks: number) => {
    const b = new Uint8Array(48 + body.length);
    b.set(inner.subarray(0, 40));
    b[4] = (8 + body.length) >> 8;
    b[5] = (8 + body.length) & 0xff;
    b[6] = 44;
    b[40] = IPPROTO_TCP;
    b[42] = (offsetBlocks << 3) >> 8;
    b[43] = ((offsetBlocks << 3) & 0xf8) | 1; // M flag
    b.set(body, 48);
    return b;
  };
  const first = parsePacket(mk(0));
  assert.equal(first.problem, null);
  assert.equal(first.proto, IPPROTO_TCP);
  assert.equal(first.l4Off, 48);
  assert.equal(first.dstPort, 443);
  const later = parsePacket(mk(100));
  assert.equal(later.problem, null);
  assert.equal(later.laterFragment, true);
  assert.equal(later.proto, IPPROTO_TCP);
  assert.equal(parsePacket(mk(2)).problem, "fragment offset could overlap the transport header");
});

Deno.test("buildUdpPacket() round-trips through parsePacket() on both families", () => {
  for (const [s, d] of [["100.64.0.1", "100.100.100.100"], ["fd7a:115c:a1e0::1", "fd7a::53"]]) {
    const payload = Uint8Array.from({ length: 33 }, (_, i) => i * 7);
    const b = buildUdpPacket({
      src: parseIp(s),
      dst: parseIp(d),
      srcPort: 33333,
      dstPort: 53,
      payload,
    });
    assert.ok(verifyChecksums(b));
    const p = parsePacket(b);
    assert.equal(p.problem, null);
    assert.equal(formatIp(p.srcIp()), s);
    assert.equal(formatIp(p.dstIp()), d);
    assert.equal(p.srcPort, 33333);
    assert.deepEqual(p.payload(), payload);
  }
});

Deno.test("buildUdpPacket() rebuilds the kernel's IPv4 datagram byte for byte but ID", () => {
  const real = fromHex(REAL.udp4Dns);
  const p = parsePacket(real);
  const b = buildUdpPacket({
    src: p.srcIp(),
    dst: p.dstIp(),
    srcPort: p.srcPort,
    dstPort: p.dstPort,
    payload: p.payload(),
  });
  // The kernel set an IP ID; ours is 0, so only the ID and the header checksum differ.
  assert.deepEqual(b.subarray(20), real.subarray(20));
  assert.deepEqual(b.subarray(12, 20), real.subarray(12, 20));
});

Deno.test("buildTcpPacket() and buildIcmpPacket() build valid packets", () => {
  const t = buildTcpPacket({
    src: parseIp("fd7a:115c:a1e0::2"),
    dst: parseIp("fd7a:115c:a1e0::1"),
    srcPort: 443,
    dstPort: 50000,
    seq: 0xfffffffe,
    ack: 7,
    flags: TCP_SYN | TCP_ACK,
    options: new Uint8Array([2, 4, 5, 0xb4, 1]),
    payload: new Uint8Array([1, 2, 3]),
  });
  assert.ok(verifyChecksums(t));
  const pt = parsePacket(t);
  assert.equal(pt.tcpFlags, TCP_SYN | TCP_ACK);
  assert.equal(pt.payloadOff - pt.l4Off, 28);
  assert.deepEqual(pt.payload(), new Uint8Array([1, 2, 3]));
  assert.equal(new DataView(t.buffer).getUint32(44), 0xfffffffe);

  const real = fromHex(REAL.icmp6Echo);
  const pr = parsePacket(real);
  const i6 = buildIcmpPacket({
    src: pr.srcIp(),
    dst: pr.dstIp(),
    type: 128,
    rest: 0x48ee0001,
    payload: pr.payload(),
  });
  // Same as the kernel's echo request apart from the flow label it picked.
  assert.deepEqual(i6.subarray(4), real.subarray(4));
  const i4 = buildIcmpPacket({ src: parseIp("1.2.3.4"), dst: parseIp("5.6.7.8"), type: 0 });
  assert.ok(verifyChecksums(i4));
  assert.equal(parsePacket(i4).icmpType, 0);
});

Deno.test("builders reject mixed families, bad ports and oversize packets", () => {
  const v4 = parseIp("10.0.0.1");
  const v6 = parseIp("::1");
  const payload = new Uint8Array(0);
  assert.throws(
    () => buildUdpPacket({ src: v4, dst: v6, srcPort: 1, dstPort: 2, payload }),
    TypeError,
  );
  assert.throws(
    () => buildUdpPacket({ src: v4, dst: v4, srcPort: 70000, dstPort: 2, payload }),
    RangeError,
  );
  assert.throws(
    () =>
      buildUdpPacket({ src: v4, dst: v4, srcPort: 1, dstPort: 2, payload: new Uint8Array(65510) }),
    RangeError,
  );
  assert.throws(
    () =>
      buildTcpPacket({
        src: v6,
        dst: v6,
        srcPort: 1,
        dstPort: 2,
        flags: 0,
        options: new Uint8Array(41),
      }),
    RangeError,
  );
  assert.throws(() => writeChecksums(new Uint8Array([0x45])), SyntaxError);
});

Deno.test("a UDP checksum of zero is sent as 0xffff, and zero over IPv6 is invalid", () => {
  // Search for a payload whose checksum computes to zero.
  const src = parseIp("10.0.0.1");
  const dst = parseIp("10.0.0.2");
  let found = false;
  for (let x = 0; x < 65536 && !found; x++) {
    const b = buildUdpPacket({
      src,
      dst,
      srcPort: 1,
      dstPort: 2,
      payload: new Uint8Array([x >> 8, x & 0xff]),
    });
    if (b[26] === 0xff && b[27] === 0xff) {
      found = true;
      assert.ok(verifyChecksums(b));
    }
  }
  assert.ok(found);
  const six = buildUdpPacket({
    src: parseIp("::1"),
    dst: parseIp("::2"),
    srcPort: 1,
    dstPort: 2,
    payload: new Uint8Array(1),
  });
  six[46] = six[47] = 0;
  assert.equal(verifyChecksums(six), false);
  const four = buildUdpPacket({ src, dst, srcPort: 1, dstPort: 2, payload: new Uint8Array(1) });
  four[26] = four[27] = 0;
  assert.ok(verifyChecksums(four));
});
