import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import { formatIp } from "../net/ip.ts";
import {
  CLASS_IN,
  RCODE_NXDOMAIN,
  TYPE_A,
  TYPE_AAAA,
  TYPE_CNAME,
  TYPE_OPT,
  TYPE_PTR,
  TYPE_TXT,
} from "./constants.ts";
import { buildDnsMessage, emptyMessage, getEdns, parseDnsMessage } from "./message.ts";
import { DnsParseError } from "./parse_error.ts";
import { DIG_EXCHANGES } from "./_dig_capture_test_util.ts";

const ex = DIG_EXCHANGES;

Deno.test("parseDnsMessage() reads dig's query with its EDNS0 cookie", () => {
  const m = parseDnsMessage(fromHex(ex.a_node_a.query));
  assert.equal(m.id, 0x9998);
  assert.equal(m.response, false);
  assert.equal(m.recursionDesired, true);
  assert.equal(m.authenticData, true); // dig sets AD in queries by default
  assert.deepEqual(m.questions, [{ name: "node-a.tslab.test.", type: TYPE_A, class: CLASS_IN }]);
  assert.equal(m.additionals.length, 1);
  assert.equal(m.additionals[0].type, TYPE_OPT);
  assert.deepEqual(getEdns(m), { udpSize: 1232, version: 0, dnssecOk: false, extendedRcode: 0 });
  // The OPT carries one COOKIE option (code 10, 8 bytes).
  const opt = m.additionals[0].data as Uint8Array;
  assert.equal(opt.length, 12);
  assert.equal((opt[0] << 8) | opt[1], 10);
});

Deno.test("parseDnsMessage() reads dnsmasq's compressed answers", () => {
  const a = parseDnsMessage(fromHex(ex.a_node_a.response));
  assert.equal(a.response, true);
  assert.equal(a.authoritative, true);
  assert.equal(a.recursionAvailable, true);
  assert.equal(a.answers.length, 1);
  assert.equal(a.answers[0].name, "node-a.tslab.test."); // via pointer c00c
  assert.equal(formatIp(a.answers[0].data as Uint8Array), "100.64.0.1");
  assert.equal(a.answers[0].ttl, 0);

  const aaaa = parseDnsMessage(fromHex(ex.aaaa_node_a.response));
  assert.equal(aaaa.answers[0].type, TYPE_AAAA);
  assert.equal(formatIp(aaaa.answers[0].data as Uint8Array), "fd7a:115c:a1e0::1");

  const ptr = parseDnsMessage(fromHex(ex.ptr_100_64_0_1.response));
  assert.equal(ptr.questions[0].name, "1.0.64.100.in-addr.arpa.");
  assert.equal(ptr.answers[0].type, TYPE_PTR);
  assert.equal(ptr.answers[0].data, "node-a.tslab.test.");

  const ptr6 = parseDnsMessage(fromHex(ex.ptr_fd7a_1.response));
  assert.equal(
    ptr6.questions[0].name,
    "1." + "0.".repeat(19) + "0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa.",
  );
  assert.equal(ptr6.answers[0].data, "node-a.tslab.test.");

  // The second answer's owner name is a pointer into the first answer's RDATA.
  const cname = parseDnsMessage(fromHex(ex.cname_www.response));
  assert.equal(cname.answers.length, 2);
  assert.equal(cname.answers[0].type, TYPE_CNAME);
  assert.equal(cname.answers[0].name, "www.tslab.test.");
  assert.equal(cname.answers[0].data, "node-a.tslab.test.");
  assert.equal(cname.answers[1].name, "node-a.tslab.test.");
  assert.equal(formatIp(cname.answers[1].data as Uint8Array), "100.64.0.1");

  const nx = parseDnsMessage(fromHex(ex.nxdomain_nope.response));
  assert.equal(nx.rcode, RCODE_NXDOMAIN);
  assert.equal(nx.answers.length, 0);

  const upper = parseDnsMessage(fromHex(ex.a_upper_noedns.response));
  assert.equal(upper.questions[0].name, "NODE-A.tslab.test."); // case kept
  assert.equal(getEdns(upper), null);
});

Deno.test("buildDnsMessage() reproduces dig's and dnsmasq's messages byte for byte", () => {
  for (const [name, e] of Object.entries(ex)) {
    const want = fromHex(e.response);
    if (name === "cname_www") continue; // dnsmasq leaves CNAME data uncompressed; below
    assert.equal(toHex(buildDnsMessage(parseDnsMessage(want))), e.response, name);
    assert.equal(toHex(buildDnsMessage(parseDnsMessage(fromHex(e.query)))), e.query, name);
  }
});

Deno.test("buildDnsMessage() also compresses CNAME data, unlike dnsmasq", () => {
  const real = fromHex(ex.cname_www.response);
  const ours = buildDnsMessage(parseDnsMessage(real));
  assert.equal(ours.length, real.length - 10); // "tslab.test." becomes a 2-byte pointer
  assert.deepEqual(parseDnsMessage(ours), parseDnsMessage(real));
});

Deno.test("names with odd bytes round-trip through escapes", () => {
  const m = emptyMessage();
  m.questions.push({ name: "a\\.b.c\\\\d.\\000\\255x.", type: TYPE_TXT, class: CLASS_IN });
  const b = buildDnsMessage(m);
  // Labels: "a.b" (3), "c\d" (3), "\0\xffx" (3).
  assert.deepEqual(
    b.subarray(12, 12 + 13),
    Uint8Array.from([3, 0x61, 0x2e, 0x62, 3, 0x63, 0x5c, 0x64, 3, 0, 255, 0x78, 0]),
  );
  assert.equal(parseDnsMessage(b).questions[0].name, "a\\.b.c\\\\d.\\000\\255x.");
});

Deno.test("buildDnsMessage() compresses repeated names case-insensitively", () => {
  const m = emptyMessage();
  m.response = true;
  m.questions.push({ name: "Host.Example.", type: TYPE_A, class: CLASS_IN });
  for (const ip of [[1, 2, 3, 4], [5, 6, 7, 8]]) {
    m.answers.push({
      name: "host.example.",
      type: TYPE_A,
      class: CLASS_IN,
      ttl: 5,
      data: Uint8Array.from(ip),
    });
  }
  m.answers.push({
    name: "x.host.example.",
    type: TYPE_CNAME,
    class: CLASS_IN,
    ttl: 5,
    data: "host.example.",
  });
  const b = buildDnsMessage(m);
  // header 12 + question 14+4 + two A (2+10+4 each) + CNAME (1+1+2 owner, 10, 2 rdata)
  assert.equal(b.length, 12 + 18 + 32 + 4 + 10 + 2);
  const back = parseDnsMessage(b);
  // Compression is case-insensitive (as in BIND): suffixes take the question's spelling.
  assert.equal(back.answers[2].name, "x.Host.Example.");
  assert.equal(back.answers[0].name, "Host.Example.");
  assert.equal(back.answers[2].data, "Host.Example.");
});

Deno.test("buildDnsMessage() truncates to maxSize, sets TC and keeps OPT", () => {
  const m = emptyMessage();
  m.response = true;
  m.questions.push({ name: "many.example.", type: TYPE_A, class: CLASS_IN });
  for (let i = 0; i < 40; i++) {
    m.answers.push({
      name: "many.example.",
      type: TYPE_A,
      class: CLASS_IN,
      ttl: 5,
      data: Uint8Array.of(10, 0, 0, i),
    });
  }
  m.additionals.push({ name: ".", type: TYPE_OPT, class: 1232, ttl: 0, data: new Uint8Array(0) });
  const full = buildDnsMessage(m);
  assert.equal(parseDnsMessage(full).truncated, false);
  const cut = buildDnsMessage(m, { maxSize: 200 });
  assert.ok(cut.length <= 200);
  const back = parseDnsMessage(cut);
  assert.equal(back.truncated, true);
  assert.equal(back.answers.length, 0);
  assert.equal(back.questions.length, 1);
  assert.equal(back.additionals.length, 1);
  assert.equal(back.additionals[0].type, TYPE_OPT);
  assert.throws(() => buildDnsMessage(m, { maxSize: 20 }), RangeError);
});

Deno.test("parseDnsMessage() rejects malformed messages with DnsParseError", () => {
  const good = fromHex(ex.cname_www.response);
  const cases: [string, Uint8Array][] = [
    ["short header", good.subarray(0, 11)],
    ["question cut", good.subarray(0, 30)],
    ["record cut", good.subarray(0, 40)],
    ["rdata cut", good.subarray(0, good.length - 20)],
  ];
  // A name whose pointer points at itself (a loop).
  const loop = fromHex("000001000001000000000000c00c00010001");
  cases.push(["pointer loop", loop]);
  // A forward pointer.
  cases.push(["forward pointer", fromHex("000001000001000000000000c01000010001000000")]);
  // Label type 0x40 (extended labels, obsolete).
  cases.push(["label type", fromHex("000001000001000000000000410000001000")]);
  // An A record with 5 bytes of data.
  cases.push([
    "bad A length",
    fromHex("00008180000000010000000000000100010000000000050a00000101"),
  ]);
  // A name of 256 wire bytes: four 63-byte labels + root.
  const long = new Uint8Array(12 + 4 * 64 + 1 + 4);
  long[5] = 1;
  for (let i = 0; i < 4; i++) long[12 + i * 64] = 63;
  cases.push(["name too long", long]);
  // A CNAME whose name is shorter than RDLENGTH.
  cases.push([
    "rdata slack",
    fromHex("000081800000000100000000000005000100000000000303616200ff"),
  ]);
  for (const [what, b] of cases) {
    assert.throws(() => parseDnsMessage(b), DnsParseError, what);
  }
});

Deno.test("parseDnsMessage() never throws anything but DnsParseError on random input", () => {
  let seed = 12345;
  const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const base = fromHex(ex.cname_www.response);
  for (let i = 0; i < 3000; i++) {
    const b = base.slice(0, Math.floor(rand() * (base.length + 1)));
    for (let k = 0; k < 3; k++) {
      if (b.length) b[Math.floor(rand() * b.length)] = Math.floor(rand() * 256);
    }
    try {
      const m = parseDnsMessage(b);
      buildDnsMessage(m); // whatever parses must also build
    } catch (e) {
      if (!(e instanceof DnsParseError)) throw e;
    }
  }
  assert.ok(true);
});

Deno.test("buildDnsMessage() rejects bad names and out-of-range fields", () => {
  const q = (name: string) => ({ ...emptyMessage(), questions: [{ name, type: 1, class: 1 }] });
  assert.throws(() => buildDnsMessage(q("a..b.")), SyntaxError);
  assert.throws(() => buildDnsMessage(q("x".repeat(64) + ".")), SyntaxError);
  assert.throws(() => buildDnsMessage(q(("x".repeat(60) + ".").repeat(5))), SyntaxError);
  assert.throws(() => buildDnsMessage(q("é\u0100.")), SyntaxError);
  assert.throws(() => buildDnsMessage({ ...q("a."), id: 70000 }), RangeError);
  const badA = emptyMessage();
  badA.answers.push({ name: "a.", type: TYPE_A, class: 1, ttl: 1, data: new Uint8Array(16) });
  assert.throws(() => buildDnsMessage(badA), RangeError);
});

/** A message whose first answer's RDATA is a chain of `k` pointers, each to the one before, then
 * `m` answers named by a pointer to the chain's end. */
function pointerChain(k: number, m: number): Uint8Array {
  const b = [0, 1, 0x81, 0x80, 0, 0, (1 + m) >> 8, (1 + m) & 0xff, 0, 0, 0, 0, 0];
  b.push(0, TYPE_TXT, 0, 1, 0, 0, 0, 0, (2 * k) >> 8, (2 * k) & 0xff);
  let prev = 12; // the root name of the first answer
  for (let i = 0; i < k; i++) {
    const at = b.length;
    b.push(0xc0 | (prev >> 8), prev & 0xff);
    prev = at;
  }
  for (let i = 0; i < m; i++) {
    b.push(0xc0 | (prev >> 8), prev & 0xff, 0, TYPE_TXT, 0, 1, 0, 0, 0, 0, 0, 0);
  }
  return Uint8Array.from(b);
}

Deno.test("parseDnsMessage() follows up to 126 compression pointers per name, not more", () => {
  assert.equal(parseDnsMessage(pointerChain(125, 1)).answers[1].name, ".");
  assert.throws(() => parseDnsMessage(pointerChain(126, 1)), /more than 126 compression pointers/);
  // 8000 chained pointers and 4000 names into them: each name used to walk the whole chain,
  // 32 million steps for a 64 KB message.
  const t0 = performance.now();
  assert.throws(() => parseDnsMessage(pointerChain(8000, 4000)), DnsParseError);
  assert.ok(performance.now() - t0 < 50, "rejected without walking the chain");
});
