import assert from "node:assert/strict";
import { buildUdpPacket, parsePacket, verifyChecksums } from "../net/packet.ts";
import { parseIp } from "../net/ip.ts";
import { UdpTable } from "./udp_endpoints.ts";

const US4 = parseIp("10.77.0.2"), US4B = parseIp("10.77.0.3"), PEER4 = parseIp("10.77.0.1");
const US6 = parseIp("fd00:77::2"), PEER6 = parseIp("fd00:77::1");

function incoming(dst: Uint8Array, dstPort: number, payload = new Uint8Array([1, 2, 3])) {
  return parsePacket(buildUdpPacket({
    src: dst.length === 4 ? PEER4 : PEER6,
    dst,
    srcPort: 40000,
    dstPort,
    payload,
  }));
}

function table() {
  const sent: Uint8Array[] = [];
  return { sent, t: new UdpTable((p) => sent.push(p), [US4, US6]) };
}

Deno.test("udp: a datagram reaches the endpoint bound to its port, and the reply goes back", () => {
  const { t, sent } = table();
  const ep = t.bind({ port: 5353 });
  assert.equal(t.deliver(incoming(US4, 5353)), true);
  const d = ep.tryReceive()!;
  assert.deepEqual(d.src, { ip: PEER4, port: 40000 });
  assert.deepEqual(d.dst, { ip: US4, port: 5353 });
  assert.deepEqual(d.payload, Uint8Array.of(1, 2, 3));
  ep.send(Uint8Array.of(9), d.src, d.dst.ip);
  assert.equal(sent.length, 1);
  assert.ok(verifyChecksums(sent[0]));
  const r = parsePacket(sent[0]);
  assert.deepEqual([r.srcIp(), r.srcPort, r.dstIp(), r.dstPort], [US4, 5353, PEER4, 40000]);
  assert.deepEqual(r.payload(), Uint8Array.of(9));
});

Deno.test("udp: IPv6 datagrams in and out, the checksum over the pseudo-header", () => {
  const { t, sent } = table();
  const ep = t.bind({ port: 7, family: 6 });
  assert.equal(t.deliver(incoming(US6, 7)), true);
  assert.equal(t.deliver(incoming(US4, 7)), false, "an IPv6-only wildcard does not take IPv4");
  const d = ep.tryReceive()!;
  ep.send(d.payload, d.src); // no from: the table's IPv6 source
  const r = parsePacket(sent[0]);
  assert.ok(verifyChecksums(sent[0]));
  assert.deepEqual(r.srcIp(), US6);
  assert.equal(r.version, 6);
});

Deno.test("udp: an unbound port is reported (for the port unreachable) and counted", () => {
  const { t } = table();
  t.bind({ port: 53 });
  assert.equal(t.deliver(incoming(US4, 54)), false);
  assert.equal(t.counters.noPort, 1);
});

Deno.test("udp: binds conflict like a host's, and each datagram goes to the endpoint of its address", () => {
  const { t } = table();
  const any = t.bind({ port: 80, family: 6 });
  const exact = t.bind({ port: 81, ip: US4 });
  const wild4 = t.bind({ port: 81, ip: US4B });
  assert.throws(() => t.bind({ port: 80 }), Deno.errors.AddrInUse);
  assert.throws(() => t.bind({ port: 81, ip: US4 }), Deno.errors.AddrInUse);
  assert.throws(() => t.bind({ port: 81, family: 4 }), Deno.errors.AddrInUse);
  const v4any = t.bind({ port: 80, family: 4 }); // IPv4 and IPv6 wildcards coexist
  t.deliver(incoming(US4, 81));
  t.deliver(incoming(US4B, 81));
  t.deliver(incoming(US4, 80));
  t.deliver(incoming(US6, 80));
  assert.deepEqual([exact.queued, wild4.queued, v4any.queued, any.queued], [1, 1, 1, 1]);
  assert.equal(t.deliver(incoming(US6, 81)), false);
});

Deno.test("udp: port 0 picks a free ephemeral port; close frees the port", () => {
  const { t } = table();
  const a = t.bind({ port: 0 });
  const b = t.bind({ port: 0 });
  assert.ok(a.port >= 49152 && b.port >= 49152 && a.port !== b.port);
  const c = t.bind({ port: 9 });
  c.close();
  assert.equal(t.deliver(incoming(US4, 9)), false);
  t.bind({ port: 9 });
  assert.equal(t.size, 3);
});

Deno.test("udp: a full receive queue drops and counts, by datagrams and by bytes", () => {
  const { t } = table();
  const ep = t.bind({ port: 1, queueDatagrams: 3 });
  for (let i = 0; i < 5; i++) assert.equal(t.deliver(incoming(US4, 1)), true);
  assert.equal(ep.queued, 3);
  assert.equal(ep.dropped, 2);
  assert.equal(t.counters.queueFull, 2);
  assert.equal(t.counters.delivered, 3);
  const small = t.bind({ port: 2, queueBytes: 1000 });
  for (let i = 0; i < 5; i++) t.deliver(incoming(US4, 2, new Uint8Array(400)));
  assert.equal(small.queued, 2);
  assert.equal(small.queuedBytes, 800);
  small.tryReceive();
  assert.equal(small.queuedBytes, 400);
});

Deno.test("udp: receive() waits for a datagram, close() rejects it", async () => {
  const { t } = table();
  const ep = t.bind({ port: 3 });
  const p = ep.receive();
  t.deliver(incoming(US4, 3, Uint8Array.of(42)));
  assert.deepEqual((await p).payload, Uint8Array.of(42));
  const q = ep.receive();
  ep.close();
  await assert.rejects(q, Deno.errors.BadResource);
  assert.throws(() => ep.send(Uint8Array.of(1), { ip: PEER4, port: 1 }), Deno.errors.BadResource);
});

Deno.test("udp: sending needs a source of the destination's family", () => {
  const t = new UdpTable(() => {}, [US4]);
  const ep = t.bind({ port: 5 });
  assert.throws(() => ep.send(Uint8Array.of(1), { ip: PEER6, port: 1 }), TypeError);
  assert.throws(() => t.bind({ port: 70000 }), RangeError);
});
