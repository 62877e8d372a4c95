import assert from "node:assert/strict";
import { fromHex } from "../bytes/hex.ts";
import { formatIp, parseIp } from "../net/ip.ts";
import {
  buildTcpPacket,
  buildUdpPacket,
  parsePacket,
  TCP_SYN,
  verifyChecksums,
} from "../net/packet.ts";
import type { DNSResolver } from "../netmap/tailcfg.ts";
import {
  CLASS_IN,
  RCODE_FORMERR,
  RCODE_NOERROR,
  RCODE_NOTIMP,
  RCODE_NXDOMAIN,
  RCODE_SERVFAIL,
  TYPE_A,
  TYPE_AAAA,
  TYPE_MX,
  TYPE_PTR,
  TYPE_SOA,
} from "./constants.ts";
import { MagicDnsTable } from "./magicdns.ts";
import { buildDnsMessage, type DnsMessage, emptyMessage, parseDnsMessage } from "./message.ts";
import { isQuad100Query, Quad100Responder } from "./quad100.ts";
import { DIG_EXCHANGES } from "./_dig_capture_test_util.ts";

const CLIENT4 = parseIp("100.64.0.2");
const CLIENT6 = parseIp("fd7a:115c:a1e0::2");
const Q4 = parseIp("100.100.100.100");
const Q6 = parseIp("fd7a:115c:a1e0::53");

function table(extra: Partial<Parameters<typeof MagicDnsTable.fromNetmap>[2]> = {}): MagicDnsTable {
  return MagicDnsTable.fromNetmap(
    { Name: "node-b.tslab.test.", Addresses: ["100.64.0.2/32", "fd7a:115c:a1e0::2/128"] },
    [{ Name: "node-a.tslab.test.", Addresses: ["100.64.0.1/32", "fd7a:115c:a1e0::1/128"] }],
    {
      Proxied: true,
      Domains: ["tslab.test"],
      Resolvers: [{ Addr: "1.1.1.1" }],
      Routes: { "corp.example": [{ Addr: "10.0.0.53:5353" }] },
      ...extra,
    },
  );
}

function query(name: string, type: number, id = 0x1234): Uint8Array {
  const m = emptyMessage();
  m.id = id;
  m.recursionDesired = true;
  m.questions.push({ name, type, class: CLASS_IN });
  return buildDnsMessage(m);
}

function udp(payload: Uint8Array, v6 = false, srcPort = 41000): Uint8Array {
  return buildUdpPacket({
    src: v6 ? CLIENT6 : CLIENT4,
    dst: v6 ? Q6 : Q4,
    srcPort,
    dstPort: 53,
    payload,
  });
}

/** Runs a packet through and checks the IP/UDP framing of the reply; returns the DNS message. */
async function roundTrip(r: Quad100Responder, pkt: Uint8Array): Promise<DnsMessage> {
  const req = parsePacket(pkt);
  const out = await r.handlePacket(pkt);
  assert.ok(out !== null, "expected a reply");
  assert.ok(verifyChecksums(out));
  const p = parsePacket(out);
  assert.equal(p.problem, null);
  assert.equal(formatIp(p.srcIp()), formatIp(req.dstIp()));
  assert.equal(formatIp(p.dstIp()), formatIp(req.srcIp()));
  assert.equal(p.srcPort, 53);
  assert.equal(p.dstPort, req.srcPort);
  return parseDnsMessage(p.payload());
}

Deno.test("quad-100 answers dig's real A query over IPv4 with the tailnet address", async () => {
  const r = new Quad100Responder({ table: table() });
  const m = await roundTrip(r, udp(fromHex(DIG_EXCHANGES.a_node_a.query)));
  assert.equal(m.id, 0x9998);
  assert.equal(m.response, true);
  assert.equal(m.authoritative, true);
  assert.equal(m.recursionAvailable, true);
  assert.equal(m.rcode, RCODE_NOERROR);
  assert.equal(m.answers.length, 1);
  assert.equal(m.answers[0].name, "node-a.tslab.test.");
  assert.equal(formatIp(m.answers[0].data as Uint8Array), "100.64.0.1");
  assert.equal(r.counters.local, 1);
});

Deno.test("quad-100 answers AAAA and PTR over IPv6", async () => {
  const r = new Quad100Responder({ table: table() });
  const aaaa = await roundTrip(r, udp(fromHex(DIG_EXCHANGES.aaaa_node_a.query), true));
  assert.equal(aaaa.answers[0].type, TYPE_AAAA);
  assert.equal(formatIp(aaaa.answers[0].data as Uint8Array), "fd7a:115c:a1e0::1");
  const ptr = await roundTrip(r, udp(fromHex(DIG_EXCHANGES.ptr_fd7a_1.query), true));
  assert.equal(ptr.answers[0].type, TYPE_PTR);
  assert.equal(ptr.answers[0].data, "node-a.tslab.test.");
  const ptr4 = await roundTrip(r, udp(fromHex(DIG_EXCHANGES.ptr_100_64_0_1.query)));
  assert.equal(ptr4.answers[0].data, "node-a.tslab.test.");
});

Deno.test("quad-100 says NXDOMAIN with an SOA for unknown names in the suffix", async () => {
  const r = new Quad100Responder({ table: table() });
  const m = await roundTrip(r, udp(fromHex(DIG_EXCHANGES.nxdomain_nope.query)));
  assert.equal(m.rcode, RCODE_NXDOMAIN);
  assert.equal(m.answers.length, 0);
  assert.equal(m.authorities.length, 1);
  assert.equal(m.authorities[0].type, TYPE_SOA);
  assert.equal(m.authorities[0].name, "tslab.test.");
  assert.equal(m.authorities[0].ttl, 10);
  // NODATA: the name exists, no MX.
  const nodata = await roundTrip(r, udp(query("node-a.tslab.test.", TYPE_MX)));
  assert.equal(nodata.rcode, RCODE_NOERROR);
  assert.equal(nodata.answers.length, 0);
  assert.equal(nodata.authorities[0].type, TYPE_SOA);
});

Deno.test("quad-100 forwards other names to the default resolvers and relays the answer", async () => {
  const calls: { q: Uint8Array; up: readonly DNSResolver[] }[] = [];
  const r = new Quad100Responder({
    table: table(),
    forward: (q, up) => {
      calls.push({ q, up });
      const m = parseDnsMessage(q);
      m.response = true;
      m.recursionAvailable = true;
      m.answers.push({
        name: m.questions[0].name,
        type: TYPE_A,
        class: CLASS_IN,
        ttl: 300,
        data: parseIp("93.184.216.34"),
      });
      return Promise.resolve(buildDnsMessage(m));
    },
  });
  const q = query("example.com.", TYPE_A, 77);
  const m = await roundTrip(r, udp(q));
  assert.equal(calls.length, 1);
  assert.deepEqual(calls[0].q, q); // the query goes upstream unchanged
  assert.deepEqual(calls[0].up, [{ Addr: "1.1.1.1" }]);
  assert.equal(m.id, 77);
  assert.equal(formatIp(m.answers[0].data as Uint8Array), "93.184.216.34");
  assert.equal(r.counters.forwarded, 1);
});

Deno.test("quad-100 sends split-DNS names to their route's resolvers", async () => {
  const seen: string[] = [];
  const r = new Quad100Responder({
    table: table(),
    forward: (q, up) => {
      seen.push(up.map((u) => u.Addr).join(","));
      const m = parseDnsMessage(q);
      m.response = true;
      m.rcode = RCODE_NXDOMAIN;
      return Promise.resolve(buildDnsMessage(m));
    },
  });
  await roundTrip(r, udp(query("git.corp.example.", TYPE_A)));
  await roundTrip(r, udp(query("corp.example.", TYPE_A)));
  await roundTrip(r, udp(query("notcorp.example.", TYPE_A)));
  assert.deepEqual(seen, ["10.0.0.53:5353", "10.0.0.53:5353", "1.1.1.1"]);
});

Deno.test("quad-100 answers SERVFAIL without upstreams, on failure, timeout and ID mismatch", async () => {
  const noFwd = new Quad100Responder({ table: table() });
  assert.equal((await roundTrip(noFwd, udp(query("example.com.", TYPE_A)))).rcode, RCODE_SERVFAIL);

  const noUpstreams = new Quad100Responder({
    table: table({ Resolvers: null, Routes: null }),
    forward: () => Promise.reject(new Error("must not be called")),
  });
  assert.equal(
    (await roundTrip(noUpstreams, udp(query("example.com.", TYPE_A)))).rcode,
    RCODE_SERVFAIL,
  );

  const failing = new Quad100Responder({
    table: table(),
    forward: () => Promise.reject(new Error("boom")),
  });
  assert.equal(
    (await roundTrip(failing, udp(query("example.com.", TYPE_A)))).rcode,
    RCODE_SERVFAIL,
  );

  const silent = new Quad100Responder({ table: table(), forward: () => Promise.resolve(null) });
  assert.equal((await roundTrip(silent, udp(query("example.com.", TYPE_A)))).rcode, RCODE_SERVFAIL);

  const hanging = new Quad100Responder({
    table: table(),
    forward: () => new Promise(() => {}),
    forwardTimeoutMs: 10,
  });
  assert.equal(
    (await roundTrip(hanging, udp(query("example.com.", TYPE_A)))).rcode,
    RCODE_SERVFAIL,
  );

  const wrongId = new Quad100Responder({
    table: table(),
    forward: (q) => {
      const m = parseDnsMessage(q);
      m.id ^= 1;
      m.response = true;
      return Promise.resolve(buildDnsMessage(m));
    },
  });
  assert.equal(
    (await roundTrip(wrongId, udp(query("example.com.", TYPE_A)))).rcode,
    RCODE_SERVFAIL,
  );
  assert.equal(wrongId.counters.servfail, 1);
});

Deno.test("quad-100 truncates an oversized upstream answer to 512 bytes without EDNS", async () => {
  const r = new Quad100Responder({
    table: table(),
    forward: (q) => {
      const m = parseDnsMessage(q);
      m.response = true;
      for (let i = 0; i < 60; i++) {
        m.answers.push({
          name: m.questions[0].name,
          type: TYPE_A,
          class: CLASS_IN,
          ttl: 1,
          data: Uint8Array.of(10, 0, 0, i),
        });
      }
      return Promise.resolve(buildDnsMessage(m));
    },
  });
  const m = await roundTrip(r, udp(query("big.example.", TYPE_A)));
  assert.equal(m.truncated, true);
  assert.equal(m.answers.length, 0);
  // With dig's EDNS0 (1232 bytes) the whole answer (~976 bytes) fits.
  const edns = fromHex(DIG_EXCHANGES.a_node_a.query);
  const q = parseDnsMessage(edns);
  q.questions[0].name = "big.example.";
  const m2 = await roundTrip(r, udp(buildDnsMessage(q)));
  assert.equal(m2.truncated, false);
  assert.equal(m2.answers.length, 60);
});

Deno.test("quad-100 rejects malformed and unsupported queries and ignores non-queries", async () => {
  const r = new Quad100Responder({ table: table() });
  // A header claiming one question, and no question.
  const bad = fromHex("abcd01000001000000000000");
  const formerr = await roundTrip(r, udp(bad));
  assert.equal(formerr.id, 0xabcd);
  assert.equal(formerr.rcode, RCODE_FORMERR);
  assert.equal(formerr.recursionAvailable, true);
  // Opcode 2 (STATUS).
  const status = parseDnsMessage(query("node-a.tslab.test.", TYPE_A));
  status.opcode = 2;
  assert.equal((await roundTrip(r, udp(buildDnsMessage(status)))).rcode, RCODE_NOTIMP);
  // No question at all.
  assert.equal((await roundTrip(r, udp(fromHex("abcd01000000000000000000")))).rcode, RCODE_FORMERR);

  // Not answered at all: a response, a runt, TCP to port 53, UDP to another port or address.
  const resp = fromHex(DIG_EXCHANGES.a_node_a.response);
  assert.equal(await r.handlePacket(udp(resp)), null);
  assert.equal(await r.handlePacket(udp(new Uint8Array(5))), null);
  assert.equal(
    await r.handlePacket(
      buildTcpPacket({ src: CLIENT4, dst: Q4, srcPort: 1, dstPort: 53, flags: TCP_SYN }),
    ),
    null,
  );
  const otherPort = buildUdpPacket({
    src: CLIENT4,
    dst: Q4,
    srcPort: 1,
    dstPort: 54,
    payload: query("a.", 1),
  });
  assert.equal(await r.handlePacket(otherPort), null);
  const otherDst = buildUdpPacket({
    src: CLIENT4,
    dst: parseIp("100.100.100.101"),
    srcPort: 1,
    dstPort: 53,
    payload: query("a.", 1),
  });
  assert.equal(isQuad100Query(parsePacket(otherDst)), false);
  assert.equal(await r.handlePacket(otherDst), null);
  assert.equal(await r.handlePacket(new Uint8Array([0x45, 0, 0])), null);
  assert.equal(r.counters.dropped, 6);
});

Deno.test("quad-100 answers a query whose last label ends in a backslash byte (it used to throw)", async () => {
  // Found by tests/fuzz_dns_test.ts: the name's text form a\\. did not encode again, so
  // handlePacket rejected, an unhandled rejection in the data plane.
  const r = new Quad100Responder({ table: table() });
  const q = fromHex("12340100000100000000000002615c0000010001");
  const m = await roundTrip(r, udp(q));
  assert.equal(m.id, 0x1234);
  assert.equal(m.rcode, RCODE_SERVFAIL);
  assert.deepEqual(m.questions, [{ name: "a\\\\.", type: TYPE_A, class: CLASS_IN }]);
  const tricky = fromHex("77770100000100000000000002615c032e205c0200ff015c0000010001");
  const name = (await roundTrip(r, udp(tricky))).questions[0].name;
  assert.equal(name, "a\\\\.\\.\\032\\\\.\\000\\255.\\\\.");
});

Deno.test("quad-100 answers SERVFAIL to an upstream answer whose questions alone exceed 512 bytes", async () => {
  // Found by tests/fuzz_dns_test.ts: re-encoding it to fit threw a RangeError out of handlePacket.
  const wide = emptyMessage();
  wide.id = 0x1234;
  wide.response = true;
  for (const c of "xyz") {
    wide.questions.push({ name: `${c.repeat(60)}.`.repeat(4), type: 1, class: 1 });
  }
  const upstream = buildDnsMessage(wide);
  assert.equal(upstream.length, 759);
  const r = new Quad100Responder({ table: table(), forward: () => Promise.resolve(upstream) });
  const m = await roundTrip(r, udp(query("example.com.", TYPE_A)));
  assert.equal(m.rcode, RCODE_SERVFAIL);
  assert.deepEqual(m.questions, [{ name: "example.com.", type: TYPE_A, class: CLASS_IN }]);
  assert.equal(r.counters.servfail, 1);
  assert.equal(r.counters.forwarded, 0);
});

Deno.test("setTable() swaps the names quad-100 answers", async () => {
  const r = new Quad100Responder({ table: MagicDnsTable.fromNetmap(null, [], null) });
  assert.equal(
    (await roundTrip(r, udp(query("node-a.tslab.test.", TYPE_A)))).rcode,
    RCODE_SERVFAIL,
  );
  r.setTable(table());
  const m = await roundTrip(r, udp(query("node-a.tslab.test.", TYPE_A)));
  assert.equal(formatIp(m.answers[0].data as Uint8Array), "100.64.0.1");
});
