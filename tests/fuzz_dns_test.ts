/**
 * Seeded mutation fuzzing of the DNS decoder and of quad-100, which must
 * answer every query from a peer with a valid response or drop it. Seeds are
 * dig/dnsmasq captures and warren's encoder.
 */
import assert from "node:assert/strict";
import { fromHex } from "../src/bytes/hex.ts";
import { fuzzCases } from "../src/testing/mutate.ts";
import {
  documentedError,
  fuzzSettings,
  invariant,
  runFuzz,
  runFuzzAsync,
} from "../src/testing/fuzz.ts";
import {
  buildDnsMessage,
  type DnsMessage,
  emptyMessage,
  getEdns,
  parseDnsMessage,
} from "../src/dns/message.ts";
import { DnsParseError } from "../src/dns/parse_error.ts";
import { MagicDnsTable } from "../src/dns/magicdns.ts";
import { Quad100Responder } from "../src/dns/quad100.ts";
import { CLASS_IN, MAX_UDP_PLAIN, MAX_UDP_RESPONSE, TYPE_ANY } from "../src/dns/constants.ts";
import { buildUdpPacket, IPPROTO_UDP, parsePacket, verifyChecksums } from "../src/net/packet.ts";
import { parseIp } from "../src/net/ip.ts";
import { DIG_EXCHANGES } from "../src/dns/_dig_capture_test_util.ts";

const { seed: SEED, scale } = fuzzSettings(0x5eed_0003);
const n = (count: number) => Math.round(count * scale);
const ex = Object.values(DIG_EXCHANGES);

function query(name: string, type: number, id = 0x4242): Uint8Array {
  const m = emptyMessage();
  m.id = id;
  m.recursionDesired = true;
  m.questions.push({ name, type, class: CLASS_IN });
  return buildDnsMessage(m);
}

const queries = [
  ...ex.map((e) => fromHex(e.query)),
  query("example.com.", 1),
  query("git.corp.example.", 28),
  query("2.0.64.100.in-addr.arpa.", 12),
  query("node-a.tslab.test.", TYPE_ANY),
  query("magicdns.localhost-tailscale-daemon.", 1),
];
// Label bytes that need escaping in text form ("\\", ".", space, 0x00, 0xff), at either end.
const rawName = [2, 0x61, 0x5c, 3, 0x2e, 0x20, 0x5c, 2, 0x00, 0xff, 1, 0x5c, 0];
const tricky = Uint8Array.of(0x77, 0x77, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0, ...rawName, 0, 1, 0, 1);
queries.push(tricky);
const responses = ex.map((e) => fromHex(e.response));
// An upstream answer whose question section alone is over 512 bytes (names that do not compress).
const wide = emptyMessage();
wide.response = true;
for (const c of "xyz") {
  wide.questions.push({ name: `${c.repeat(60)}.`.repeat(4), type: 1, class: 1 });
}
responses.push(buildDnsMessage(wide));
// Header counts, then the first question's type and class, for aiming length mutations.
const dnsFields = (b: Uint8Array) => {
  const f = [4, 6, 8, 10].map((offset) => ({ offset, size: 2 as const }));
  let at = 12;
  while (at < b.length && b[at] !== 0) at += b[at] + 1;
  return [...f, { offset: at + 1, size: 2 as const }, { offset: at + 3, size: 2 as const }];
};

/** The fields a rebuild must keep. */
function shape(m: DnsMessage): unknown {
  // The writer compresses case-insensitively, so a later name may come back in an earlier
  // one's case (as with every DNS server); questions are written first and keep theirs.
  const lower = (x: string | Uint8Array) => typeof x === "string" ? x.toLowerCase() : x;
  const rec = (r: DnsMessage["answers"][number]) => [
    lower(r.name),
    r.type,
    r.class,
    r.ttl,
    lower(r.data),
  ];
  return {
    ...m,
    questions: m.questions.map((q) => [q.name, q.type, q.class]),
    answers: m.answers.map(rec),
    authorities: m.authorities.map(rec),
    additionals: m.additionals.map(rec),
  };
}

Deno.test("fuzz: parseDnsMessage() throws DnsParseError or returns a message that rebuilds to itself", () => {
  const seeds = [...queries, ...responses];
  runFuzz(
    "dns message",
    SEED,
    fuzzCases(seeds, {
      seed: SEED,
      count: n(8000),
      prefixesUpTo: 128,
      lengthFields: seeds.map(dnsFields),
    }),
    (b) => {
      let m: DnsMessage;
      try {
        m = parseDnsMessage(b);
      } catch (e) {
        return documentedError(e, [DnsParseError]);
      }
      const counts = [4, 6, 8, 10].map((at) => (b[at] << 8) | b[at + 1]);
      const sections = [m.questions, m.answers, m.authorities, m.additionals];
      sections.forEach((s, i) => invariant(s.length === counts[i], `section ${i} count`));
      for (const r of [...m.answers, ...m.authorities, ...m.additionals]) {
        invariant(r.ttl >= 0 && r.ttl <= 0xffffffff, "ttl");
        if (r.type === 1) invariant((r.data as Uint8Array).length === 4, "A data");
        if (r.type === 28) invariant((r.data as Uint8Array).length === 16, "AAAA data");
      }
      // Whatever parses must be writable again, unchanged: quad-100 echoes questions and
      // re-encodes upstream answers.
      assert.deepEqual(shape(parseDnsMessage(buildDnsMessage(m))), shape(m));
    },
  );
});

function responder(forward?: (q: Uint8Array) => Uint8Array | null): Quad100Responder {
  const table = MagicDnsTable.fromNetmap(
    { Name: "node-b.tslab.test.", Addresses: ["100.64.0.2/32", "fd7a:115c:a1e0::2/128"] },
    [{ Name: "node-a.tslab.test.", Addresses: ["100.64.0.1/32", "fd7a:115c:a1e0::1/128"] }],
    {
      Proxied: true,
      Domains: ["tslab.test"],
      Resolvers: [{ Addr: "1.1.1.1" }],
      Routes: { "corp.example": [{ Addr: "10.0.0.53:5353" }] },
    },
  );
  return new Quad100Responder({
    table,
    forward: forward && ((q) => Promise.resolve(forward(q))),
    forwardTimeoutMs: 50,
  });
}

/** Checks that `reply` is a valid response to `q` within the size the query allows. */
function checkReply(q: Uint8Array, reply: Uint8Array | null): boolean {
  if (reply === null) {
    invariant(q.length < 12 || (q[2] & 0x80) !== 0, "only non-queries are dropped");
    return true;
  }
  const m = parseDnsMessage(reply);
  invariant(m.response && m.id === ((q[0] << 8) | q[1]), "a response with the query's ID");
  let limit = MAX_UDP_PLAIN;
  try {
    const edns = getEdns(parseDnsMessage(q));
    limit = Math.min(MAX_UDP_RESPONSE, Math.max(MAX_UDP_PLAIN, edns?.udpSize ?? 0));
  } catch {
    // A FORMERR reply is 12 bytes.
  }
  invariant(reply.length <= limit, `reply of ${reply.length} bytes over ${limit}`);
  return false;
}

Deno.test("fuzz: quad-100 answers every mutated query with a valid response, or drops a non-query", async () => {
  const upstream = (q: Uint8Array): Uint8Array | null => {
    const m = parseDnsMessage(q);
    m.response = true;
    m.answers = m.questions.map((x) => ({ ...x, ttl: 60, data: Uint8Array.of(192, 0, 2, 1) }));
    m.answers = m.answers.filter((a) => a.type === 1);
    return buildDnsMessage(m);
  };
  for (const forward of [upstream, undefined]) {
    const r = responder(forward);
    await runFuzzAsync(
      `quad-100 query${forward ? "" : " (no forwarder)"}`,
      SEED,
      fuzzCases(queries, {
        seed: SEED,
        count: n(forward ? 4000 : 1500),
        prefixesUpTo: 64,
        lengthFields: queries.map(dnsFields),
      }),
      async (q) => checkReply(q, await r.handleQuery(q)),
    );
  }
});

Deno.test("fuzz: quad-100 relays or SERVFAILs mutated upstream responses, never throws", async () => {
  const q = query("example.com.", 1, 0x9998);
  let next: Uint8Array = new Uint8Array(0);
  const r = responder(() => next);
  await runFuzzAsync(
    "quad-100 upstream",
    SEED,
    fuzzCases(responses, {
      seed: SEED,
      count: n(3000),
      lengthFields: responses.map(dnsFields),
    }),
    async (resp) => {
      if (resp.length >= 2) resp.set(q.subarray(0, 2)); // the upstream answers this query
      next = resp;
      return checkReply(q, await r.handleQuery(q));
    },
  );
});

const client4 = parseIp("100.64.0.2"), client6 = parseIp("fd7a:115c:a1e0::2");
const q4 = parseIp("100.100.100.100"), q6 = parseIp("fd7a:115c:a1e0::53");

Deno.test("fuzz: quad-100 handlePacket() drops mutated IP/UDP packets or answers with a valid one", async () => {
  const r = responder();
  const packets = queries.slice(0, 4).flatMap((payload, i) => [
    buildUdpPacket({ src: client4, dst: q4, srcPort: 40000 + i, dstPort: 53, payload }),
    buildUdpPacket({ src: client6, dst: q6, srcPort: 50000 + i, dstPort: 53, payload }),
  ]);
  const ipFields = packets.map((p) =>
    p[0] >> 4 === 4
      ? [{ offset: 2, size: 2 as const }, { offset: 24, size: 2 as const }]
      : [{ offset: 4, size: 2 as const }, { offset: 44, size: 2 as const }]
  );
  await runFuzzAsync(
    "quad-100 packet",
    SEED,
    fuzzCases(packets, { seed: SEED, count: n(3000), lengthFields: ipFields }),
    async (pkt) => {
      const req = parsePacket(pkt.slice());
      const reply = await r.handlePacket(pkt);
      if (reply === null) return true;
      const p = parsePacket(reply);
      invariant(p.problem === null && p.proto === IPPROTO_UDP && verifyChecksums(reply), "ip");
      invariant(p.srcPort === 53 && p.dstPort === req.srcPort, "ports");
      assert.deepEqual([p.srcIp(), p.dstIp()], [req.dstIp(), req.srcIp()]);
      checkReply(req.payload(), p.payload());
    },
  );
});
