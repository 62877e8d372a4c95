import assert from "node:assert/strict";
import { buildIcmpPacket, buildUdpPacket, parsePacket, verifyChecksums } from "../net/packet.ts";
import { parseIp } from "../net/ip.ts";
import {
  buildEchoReply,
  buildTimeExceeded,
  buildUnreachable,
  IcmpErrorLimiter,
  isEchoRequest,
  mayAnswerWithError,
} from "./icmp_echo.ts";
import { FakeClock } from "./types.ts";

const unhex = (s: string) => Uint8Array.from(s.match(/../g)!, (h) => parseInt(h, 16));

// What iputils `ping -c 1 10.77.0.2` from 10.77.0.1 sends: id 0x1c2b, seq 1, a struct timeval
// and the pattern 0x10..0x37 (56 data bytes).
const PING4 = unhex(
  "450000549a3e400040018bce0a4d00010a4d00020800919f1c2b0001f3a16065000000002c5a0b0000000000" +
    "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637",
);
// `ping -6 fd00:77::2` from fd00:77::1: id 0x1c2c, seq 1, same data.
const PING6 = unhex(
  "600b1c2d00403a40fd000077000000000000000000000001fd000077000000000000000000000002" +
    "80001e311c2c0001f3a16065000000002c5a0b0000000000" +
    "101112131415161718191a1b1c1d1e1f202122232425262728292a2b2c2d2e2f3031323334353637",
);

Deno.test("icmp echo: the reply to ping's IPv4 request", () => {
  assert.ok(verifyChecksums(PING4));
  const req = parsePacket(PING4);
  assert.ok(isEchoRequest(req));
  const reply = buildEchoReply(req);
  assert.ok(verifyChecksums(reply));
  assert.equal(reply.length, PING4.length);
  assert.deepEqual([...reply.subarray(12, 20)], [10, 77, 0, 2, 10, 77, 0, 1]);
  assert.equal(reply[9], 1);
  assert.equal(reply[6] & 0x40, 0, "no DF, so a large reply may be fragmented");
  // Type 0, code 0, checksum (worked out independently), then id, seq and data as sent.
  assert.deepEqual([...reply.subarray(20, 24)], [0, 0, 0x99, 0x9f]);
  assert.deepEqual(reply.subarray(24), PING4.subarray(24));
});

Deno.test("icmp echo: the reply to ping's IPv6 request has the pseudo-header checksum", () => {
  assert.ok(verifyChecksums(PING6));
  const req = parsePacket(PING6);
  assert.ok(isEchoRequest(req));
  const reply = buildEchoReply(req);
  assert.ok(verifyChecksums(reply));
  assert.deepEqual(reply.subarray(8, 24), PING6.subarray(24, 40));
  assert.deepEqual(reply.subarray(24, 40), PING6.subarray(8, 24));
  assert.equal(reply[6], 58);
  assert.deepEqual([...reply.subarray(40, 44)], [129, 0, 0x1d, 0x31]);
  assert.deepEqual(reply.subarray(44), PING6.subarray(44));
});

Deno.test("icmp echo: replies, other ICMP and a code other than 0 are not requests", () => {
  const reply = parsePacket(buildEchoReply(parsePacket(PING4)));
  assert.equal(isEchoRequest(reply), false);
  const coded = PING4.slice();
  coded[21] = 1;
  assert.equal(isEchoRequest(parsePacket(coded)), false);
  const udp = buildUdpPacket({
    src: parseIp("10.77.0.1"),
    dst: parseIp("10.77.0.2"),
    srcPort: 1,
    dstPort: 2,
    payload: new Uint8Array(8),
  });
  assert.equal(isEchoRequest(parsePacket(udp)), false);
});

function dgram(src: string, dst: string, size = 20): Uint8Array {
  return buildUdpPacket({
    src: parseIp(src),
    dst: parseIp(dst),
    srcPort: 40000,
    dstPort: 9,
    payload: new Uint8Array(size).fill(0xab),
  });
}

Deno.test("icmp unreachable: IPv4 port unreachable quotes the datagram (type 3 code 3)", () => {
  const d = dgram("10.77.0.1", "10.77.0.2");
  const err = buildUnreachable(parsePacket(d), "port")!;
  assert.ok(verifyChecksums(err));
  const p = parsePacket(err);
  assert.deepEqual([p.icmpType, p.icmpCode], [3, 3]);
  assert.deepEqual(p.srcIp(), parseIp("10.77.0.2"));
  assert.deepEqual(p.dstIp(), parseIp("10.77.0.1"));
  assert.deepEqual([...err.subarray(24, 28)], [0, 0, 0, 0], "the unused word is zero");
  assert.deepEqual(err.subarray(28), d);
});

Deno.test("icmp unreachable: IPv4 quotes stay within 576 bytes, IPv6 within 1280", () => {
  const e4 = buildUnreachable(parsePacket(dgram("10.77.0.1", "10.77.0.2", 1400)), "port")!;
  assert.equal(e4.length, 576);
  assert.ok(verifyChecksums(e4));
  const big6 = dgram("fd00:77::1", "fd00:77::2", 1400);
  const e6 = buildUnreachable(parsePacket(big6), "port")!;
  assert.equal(e6.length, 1280);
  assert.ok(verifyChecksums(e6));
  assert.deepEqual(e6.subarray(48), big6.subarray(0, 1280 - 48));
});

Deno.test("icmp unreachable: IPv6 port unreachable is type 1 code 4", () => {
  const d = dgram("fd00:77::1", "fd00:77::2");
  const err = buildUnreachable(parsePacket(d), "port")!;
  const p = parsePacket(err);
  assert.deepEqual([p.icmpType, p.icmpCode], [1, 4]);
  assert.ok(verifyChecksums(err));
  assert.deepEqual(err.subarray(48), d);
});

Deno.test("icmp unreachable: protocol unreachable (ICMP 3/2, ICMPv6 parameter problem 4/1)", () => {
  const d4 = dgram("10.77.0.1", "10.77.0.2");
  d4[9] = 132; // as if SCTP
  const e4 = parsePacket(buildUnreachable(parsePacket(d4), "protocol")!);
  assert.deepEqual([e4.icmpType, e4.icmpCode], [3, 2]);
  const d6 = dgram("fd00:77::1", "fd00:77::2");
  d6[6] = 132;
  const e6 = buildUnreachable(parsePacket(d6), "protocol")!;
  assert.deepEqual([e6[40], e6[41]], [4, 1]);
  assert.deepEqual([...e6.subarray(44, 48)], [0, 0, 0, 6], "points at the Next Header field");
});

Deno.test("icmp unreachable: never for an ICMP error, a broadcast, multicast or unspecified address", () => {
  const err = buildUnreachable(parsePacket(dgram("10.77.0.1", "10.77.0.2")), "port")!;
  assert.equal(buildUnreachable(parsePacket(err), "port"), null);
  const err6 = buildUnreachable(parsePacket(dgram("fd00:77::1", "fd00:77::2")), "port")!;
  assert.equal(buildUnreachable(parsePacket(err6), "port"), null);
  for (const [s, d] of [["10.77.0.1", "255.255.255.255"], ["10.77.0.1", "224.0.0.1"]]) {
    assert.equal(mayAnswerWithError(parsePacket(dgram(s, d))), false, d);
  }
  assert.equal(mayAnswerWithError(parsePacket(dgram("0.0.0.0", "10.77.0.2"))), false);
  assert.equal(mayAnswerWithError(parsePacket(dgram("::", "fd00:77::2"))), false);
  assert.equal(mayAnswerWithError(parsePacket(dgram("fd00:77::1", "ff02::1"))), false);
  // An echo request is a query, not an error: a protocol error about it is allowed.
  assert.equal(mayAnswerWithError(parsePacket(PING4)), true);
  const later = dgram("10.77.0.1", "10.77.0.2");
  later[6] = 0;
  later[7] = 200; // a later fragment
  assert.equal(mayAnswerWithError(parsePacket(later)), false);
});

Deno.test("icmp unreachable: the limiter lets a burst out, then the refill rate", () => {
  const clock = new FakeClock();
  const lim = new IcmpErrorLimiter(clock, { perSecond: 10, burst: 5 });
  const p = parsePacket(dgram("10.77.0.1", "10.77.0.2"));
  const sent = () => Array.from({ length: 20 }, () => lim.unreachable(p, "port")).filter(Boolean);
  assert.equal(sent().length, 5);
  assert.equal(lim.rateLimited, 15);
  clock.advance(300);
  assert.equal(sent().length, 3);
  assert.equal(lim.sent, 8);
  const bcast = parsePacket(dgram("10.77.0.1", "255.255.255.255"));
  assert.equal(lim.unreachable(bcast, "port"), null);
  assert.equal(lim.suppressed, 1);
});

Deno.test("icmp echo: a built request round-trips through the reply builder", () => {
  const req = buildIcmpPacket({
    src: parseIp("fd00:77::1"),
    dst: parseIp("fd00:77::2"),
    type: 128,
    rest: 0xabcd0007,
    payload: new Uint8Array(1000).fill(7),
  });
  const reply = parsePacket(buildEchoReply(parsePacket(req)));
  assert.equal(reply.icmpType, 129);
  assert.deepEqual([...reply.buf.subarray(44, 48)], [0xab, 0xcd, 0, 7]);
  assert.equal(reply.length, req.length);
});

Deno.test("icmp time exceeded: type 11 code 1 (IPv4), type 3 code 1 (IPv6), quoting the fragment", () => {
  const f4 = dgram("10.77.0.1", "10.77.0.2", 100);
  f4[6] = 0x20; // MF: a first fragment
  const e4 = buildTimeExceeded(parsePacket(f4))!;
  assert.deepEqual([e4[20], e4[21]], [11, 1]);
  assert.ok(verifyChecksums(e4));
  assert.deepEqual(e4.subarray(28), f4);
  const e6 = buildTimeExceeded(parsePacket(dgram("fd00:77::1", "fd00:77::2")))!;
  assert.deepEqual([e6[40], e6[41]], [3, 1]);
  assert.ok(verifyChecksums(e6));
  assert.equal(buildTimeExceeded(parsePacket(dgram("10.77.0.1", "224.0.0.9"))), null);
});
