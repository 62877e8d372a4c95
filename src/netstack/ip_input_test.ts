import assert from "node:assert/strict";
import {
  buildIcmpPacket,
  buildTcpPacket,
  buildUdpPacket,
  type ParsedPacket,
  parsePacket,
  TCP_SYN,
  verifyChecksums,
  writeChecksums,
} from "../net/packet.ts";
import { parseIp, parsePrefix } from "../net/ip.ts";
import { fragmentPacket } from "./ip_fragment.ts";
import { IpInput, type IpInputOptions } from "./ip_input.ts";
import { FakeClock } from "./types.ts";

const US4 = parseIp("10.77.0.2"), PEER4 = parseIp("10.77.0.1"), OTHER4 = parseIp("10.77.0.9");
const US6 = parseIp("fd00:77::2"), PEER6 = parseIp("fd00:77::1");

function stack(opts: Partial<IpInputOptions> = {}) {
  const sent: Uint8Array[] = [];
  const ip = new IpInput({
    clock: new FakeClock(),
    out: (p) => sent.push(p),
    addresses: [US4, US6],
    ...opts,
  });
  return { ip, sent };
}

const ping = (src: Uint8Array, dst: Uint8Array, size = 56) =>
  buildIcmpPacket({
    src,
    dst,
    type: src.length === 4 ? 8 : 128,
    rest: 0x00420001,
    payload: Uint8Array.from({ length: size }, (_, i) => i & 0xff),
  });

const udp = (src: Uint8Array, dst: Uint8Array, dstPort: number, size = 4) =>
  buildUdpPacket({ src, dst, srcPort: 40000, dstPort, payload: new Uint8Array(size).fill(5) });

Deno.test("ip input: echo requests to our IPv4 and IPv6 addresses are answered", () => {
  const { ip, sent } = stack();
  ip.input(ping(PEER4, US4));
  ip.input(ping(PEER6, US6));
  assert.equal(sent.length, 2);
  const [r4, r6] = sent.map((b) => parsePacket(b));
  assert.deepEqual([r4.icmpType, r4.dstIp()], [0, PEER4]);
  assert.deepEqual([r6.icmpType, r6.dstIp()], [129, PEER6]);
  assert.ok(sent.every(verifyChecksums));
  assert.equal(ip.counters.echoReplied, 2);
});

Deno.test("ip input: a fragmented large ping is reassembled and its reply fragmented", () => {
  for (const [peer, us] of [[PEER4, US4], [PEER6, US6]]) {
    const { ip, sent } = stack({ mtu: 1280 });
    const req = ping(peer, us, 4000);
    if (peer.length === 4) {
      req[6] = 0; // no DF, as ping -s 4000 sends it
      writeChecksums(req);
    }
    for (const f of fragmentPacket(req, 1280, 17).reverse()) ip.input(f);
    assert.equal(ip.counters.echoReplied, 1);
    assert.ok(sent.length >= 4 && sent.every((f) => f.length <= 1280));
    const back = stack().ip.reassembler;
    let whole: Uint8Array | null = null;
    for (const f of sent) whole = back.push(f);
    const r = parsePacket(whole!);
    assert.equal(r.icmpType, peer.length === 4 ? 0 : 129);
    assert.deepEqual(r.payload(), parsePacket(req).payload());
    assert.ok(verifyChecksums(whole!));
  }
});

Deno.test("ip input: UDP reaches a bound endpoint; an unbound port gets port unreachable", () => {
  const { ip, sent } = stack();
  const ep = ip.udp.bind({ port: 7 });
  ip.input(udp(PEER4, US4, 7));
  const d = ep.tryReceive()!;
  ep.send(d.payload, d.src, d.dst.ip);
  assert.deepEqual(parsePacket(sent[0]).dstIp(), PEER4);
  ip.input(udp(PEER6, US6, 8));
  const err = parsePacket(sent[1]);
  assert.deepEqual([err.icmpType, err.icmpCode], [1, 4]);
  ip.input(udp(PEER4, US4, 8));
  const err4 = parsePacket(sent[2]);
  assert.deepEqual([err4.icmpType, err4.icmpCode], [3, 3]);
  assert.equal(ip.counters.udpNoPort, 2);
});

Deno.test("ip input: TCP goes to the handler, with no handler it is counted", () => {
  const seen: number[] = [];
  const { ip } = stack({ tcp: (p: ParsedPacket) => seen.push(p.dstPort) });
  const syn = buildTcpPacket({ src: PEER4, dst: US4, srcPort: 1, dstPort: 22, flags: TCP_SYN });
  ip.input(syn);
  assert.deepEqual(seen, [22]);
  ip.setTcpHandler(undefined);
  ip.input(syn);
  assert.equal(ip.counters.tcpNoHandler, 1);
});

Deno.test("ip input: another protocol gets protocol unreachable", () => {
  const { ip, sent } = stack();
  const gre = udp(PEER4, US4, 1);
  gre[9] = 47;
  writeChecksums(gre);
  ip.input(gre);
  const e = parsePacket(sent[0]);
  assert.deepEqual([e.icmpType, e.icmpCode], [3, 2]);
  assert.equal(ip.counters.unknownProtocol, 1);
});

Deno.test("ip input: bad checksums, other destinations and bad lengths are dropped and counted", () => {
  const { ip, sent } = stack();
  ip.udp.bind({ port: 7 });
  const badHdr = udp(PEER4, US4, 7);
  badHdr[10] ^= 1;
  ip.input(badHdr);
  const badUdp = udp(PEER4, US4, 7);
  badUdp[badUdp.length - 1] ^= 1;
  ip.input(badUdp);
  ip.input(udp(PEER4, OTHER4, 7));
  ip.input(udp(PEER4, US4, 7).subarray(0, 25));
  ip.input(new Uint8Array(0));
  ip.input(Uint8Array.of(0x55, 1, 2));
  const mcastSrc = udp(parseIp("224.0.0.5"), US4, 7);
  ip.input(mcastSrc);
  const c = ip.counters;
  assert.deepEqual(
    [c.badHeaderChecksum, c.badChecksum, c.notOurs, c.malformed, c.badSource],
    [1, 1, 1, 3, 1],
  );
  assert.equal(sent.length, 0);
  assert.equal(ip.udp.counters.delivered, 0);
});

Deno.test("ip input: verifyChecksums false skips transport checksums, not the IPv4 header's", () => {
  const { ip } = stack({ verifyChecksums: false });
  const ep = ip.udp.bind({ port: 7 });
  const badUdp = udp(PEER4, US4, 7);
  badUdp[badUdp.length - 1] ^= 1;
  ip.input(badUdp);
  const badHdr = udp(PEER4, US4, 7);
  badHdr[10] ^= 1;
  ip.input(badHdr);
  assert.equal(ip.counters.badChecksum, 0);
  assert.equal(ip.counters.badHeaderChecksum, 1);
  assert.equal(ip.udp.counters.delivered, 1);
  assert.ok(ep.tryReceive() !== undefined);
});

Deno.test("ip input: bytes past the IP length are ignored, not taken as payload", () => {
  const { ip } = stack();
  const ep = ip.udp.bind({ port: 7 });
  const padded = new Uint8Array(udp(PEER4, US4, 7).length + 6);
  padded.set(udp(PEER4, US4, 7));
  ip.input(padded);
  assert.deepEqual(ep.tryReceive()!.payload, new Uint8Array(4).fill(5));
});

Deno.test("ip input: renumbering takes effect for input and the UDP source", () => {
  const { ip, sent } = stack();
  const next = parseIp("10.77.0.5");
  ip.setAddresses([next]);
  ip.input(ping(PEER4, US4));
  assert.equal(ip.counters.notOurs, 1);
  const ep = ip.udp.bind({ port: 0 });
  ep.send(Uint8Array.of(1), { ip: PEER4, port: 9 });
  assert.deepEqual(parsePacket(sent[0]).srcIp(), next);
  assert.ok(ip.isOurs(next) && !ip.isOurs(US4));
});

Deno.test("ip input: held fragments time out as other packets arrive, with Time Exceeded", () => {
  const clock = new FakeClock();
  const { ip, sent } = stack({ clock });
  const first = fragmentPacket(ping(PEER6, US6, 3000), 1280, 1)[0];
  ip.input(first);
  assert.ok(ip.reassembler.pendingBytes > 0);
  clock.advance(60_000);
  ip.input(ping(PEER4, US4));
  assert.equal(ip.reassembler.pendingBytes, 0);
  assert.equal(ip.reassembler.counters.timeout, 1);
  // ICMPv6 Time Exceeded, code 1, quoting the first fragment; then the echo reply.
  assert.equal(sent.length, 2);
  const te = parsePacket(sent[0]);
  assert.deepEqual([te.icmpType, te.icmpCode, te.dstIp()], [3, 1, PEER6]);
  assert.ok(verifyChecksums(sent[0]));
  assert.deepEqual(sent[0].subarray(48), first.subarray(0, 1280 - 48));
});

Deno.test("addresses reports the stack's addresses as copies, and follows setAddresses", () => {
  const a = parseIp("100.64.0.2"), b = parseIp("fd7a:115c:a1e0::2");
  const ip = new IpInput({ clock: new FakeClock(), out: () => {}, addresses: [a] });
  assert.deepEqual(ip.addresses, [a]);
  ip.addresses[0][0] = 1; // a copy: the stack's own address is untouched
  assert.ok(ip.isOurs(a));
  ip.setAddresses([a, b]);
  assert.deepEqual(ip.addresses, [a, b]);
});

Deno.test("ip input: packets to a routed prefix go to the routed handlers, whatever their port", () => {
  const { ip, sent } = stack();
  const lan = parseIp("192.168.9.7"), lan6 = parseIp("fd00:99::7");
  const seen: string[] = [];
  const note = (kind: string) => (p: ParsedPacket) => seen.push(`${kind} ${p.dstIp().join(".")}`);
  ip.udp.bind({ port: 7 }); // bound on our addresses: must not take the routed datagram
  ip.input(udp(PEER4, lan, 7));
  assert.equal(ip.counters.notOurs, 1, "nothing is routed before setRoutes");
  ip.setRoutes([parsePrefix("192.168.9.0/24"), parsePrefix("fd00:99::/64")]);
  ip.setRoutedHandlers({ udp: note("udp"), echo: note("echo") });
  ip.input(udp(PEER4, lan, 7));
  ip.input(ping(PEER4, lan));
  ip.input(ping(PEER6, lan6));
  const syn = buildTcpPacket({ src: PEER4, dst: lan, srcPort: 4000, dstPort: 80, flags: TCP_SYN });
  ip.input(syn); // no TCP handler: dropped, counted
  ip.input(udp(PEER4, parseIp("192.168.10.1"), 7)); // outside the prefix
  assert.deepEqual(seen, ["udp 192.168.9.7", "echo 192.168.9.7", `echo ${lan6.join(".")}`]);
  assert.equal(ip.counters.routed, 3);
  assert.equal(ip.counters.routedDropped, 1);
  assert.equal(ip.counters.notOurs, 2);
  assert.equal(ip.udp.counters.delivered, 0);
  assert.equal(sent.length, 0, "the stack itself answers nothing for a routed address");
  assert.ok(ip.isRouted(lan) && !ip.isRouted(US4) && !ip.isRouted(OTHER4));
  // Our own addresses stay ours even inside a routed prefix.
  ip.setRoutes([parsePrefix("10.77.0.0/24")]);
  ip.input(ping(PEER4, US4));
  assert.equal(ip.counters.echoReplied, 1);
  ip.setRoutes([]);
  ip.input(udp(PEER4, lan, 7));
  assert.equal(ip.counters.notOurs, 3);
});
