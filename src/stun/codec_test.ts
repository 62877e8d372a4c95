import assert from "node:assert/strict";
import { fromHex } from "../bytes/hex.ts";
import {
  crc32,
  encodeBindingRequest,
  encodeBindingResponse,
  fingerprint,
  isStun,
  looksLikeStunResponse,
  parseBindingRequest,
  parseBindingResponse,
} from "./codec.ts";
import { parseIp } from "../net/ip.ts";

const hex = (s: string) => fromHex(s.replace(/\s+/g, ""));

// RFC 5769 §2.1: sample request (SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME,
// MESSAGE-INTEGRITY, FINGERPRINT).
const RFC5769_REQUEST = hex(`
  0001 0058 2112a442 b7e7a701bc34d686fa87dfae
  8022 0010 5354554e 20746573 7420636c 69656e74
  0024 0004 6e0001ff
  8029 0008 932ff9b1 51263b36
  0006 0009 6576746a 3a683676 59202020
  0008 0014 9aeaa70c bfd8cb56 781ef2b5 b2d3f249 c1b571a2
  8028 0004 e57a3bcf`);

// RFC 5769 §2.2: sample IPv4 response, 192.0.2.1 port 32853.
const RFC5769_V4 = hex(`
  0101 003c 2112a442 b7e7a701bc34d686fa87dfae
  8022 000b 74657374 20766563 746f7220
  0020 0008 0001a147 e112a643
  0008 0014 2b91f599 fd9e90c3 8c7489f9 2af9ba53 f06be7d7
  8028 0004 c07d4c96`);

// RFC 5769 §2.3: sample IPv6 response, 2001:db8:1234:5678:11:2233:4455:6677 port 32853.
const RFC5769_V6 = hex(`
  0101 0048 2112a442 b7e7a701bc34d686fa87dfae
  8022 000b 74657374 20766563 746f7220
  0020 0014 0002a147 0113a9fa a5d3f179 bc25f4b5 bed2b9d9
  0008 0014 a382954e 4be67bf1 1784c97c 8292c275 bfe3ed41
  8028 0004 c8fb0b4c`);

Deno.test("crc32() matches the IEEE check value", () => {
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
});

Deno.test("fingerprint() reproduces the FINGERPRINTs of the RFC 5769 vectors", () => {
  for (const v of [RFC5769_REQUEST, RFC5769_V4, RFC5769_V6]) {
    const want = new DataView(v.buffer).getUint32(v.length - 4);
    assert.equal(fingerprint(v.subarray(0, v.length - 8)), want);
  }
});

Deno.test("parseBindingRequest() accepts the RFC 5769 request and reads SOFTWARE", () => {
  const r = parseBindingRequest(RFC5769_REQUEST);
  assert.equal(r.software, "STUN test client");
  assert.ok(r.modern);
  assert.ok(r.fingerprint);
  assert.deepEqual(r.transaction, RFC5769_REQUEST.subarray(4, 20));
  assert.throws(() => parseBindingRequest(RFC5769_REQUEST, true), /non-Tailscale/);
});

Deno.test("parseBindingResponse() decodes the RFC 5769 IPv4 and IPv6 responses", () => {
  const v4 = parseBindingResponse(RFC5769_V4);
  assert.deepEqual(v4.ip, parseIp("192.0.2.1"));
  assert.equal(v4.port, 32853);
  assert.deepEqual(v4.txId, RFC5769_V4.subarray(8, 20));
  const v6 = parseBindingResponse(RFC5769_V6);
  assert.deepEqual(v6.ip, parseIp("2001:db8:1234:5678:11:2233:4455:6677"));
  assert.equal(v6.port, 32853);
});

Deno.test("encodeBindingRequest() makes tailscaled's exact 40-byte request", () => {
  const tx = new Uint8Array(12).fill(0xaa);
  const b = encodeBindingRequest(tx);
  assert.equal(b.length, 40);
  assert.deepEqual(b.subarray(0, 8), hex("0001 0014 2112a442"));
  assert.deepEqual(b.subarray(20, 32), hex("8022 0008 7461696c6e6f6465"));
  assert.deepEqual(b.subarray(32, 36), hex("8028 0004"));
  assert.equal(new DataView(b.buffer).getUint32(36), fingerprint(b.subarray(0, 32)));
  const r = parseBindingRequest(b, true);
  assert.equal(r.software, "tailnode");
  assert.deepEqual(r.transaction.subarray(4), tx);
});

Deno.test("parseBindingRequest() rejects a bad fingerprint, bad lengths, other types", () => {
  const b = encodeBindingRequest(new Uint8Array(12));
  const bad = b.slice();
  bad[39] ^= 1;
  assert.throws(() => parseBindingRequest(bad), /fingerprint/);
  assert.throws(() => parseBindingRequest(b.subarray(0, 19)), /Not a STUN/);
  const longLen = b.slice();
  longLen[3] = 0x40;
  assert.throws(() => parseBindingRequest(longLen), /length/);
  const resp = b.slice();
  resp[1] = 0x11;
  assert.throws(() => parseBindingRequest(resp), /not a binding request/);
  const attrOverrun = b.slice();
  attrOverrun[23] = 0x30;
  assert.throws(() => parseBindingRequest(attrOverrun), /malformed/);
  // Tailnode-only mode wants SOFTWARE=tailnode and a trailing fingerprint.
  const noFp = b.slice(0, 32);
  noFp[3] = 12;
  assert.ok(parseBindingRequest(noFp));
  assert.throws(() => parseBindingRequest(noFp, true), /fingerprint/);
});

Deno.test("parseBindingRequest() accepts a classic RFC 3489 request and reads CHANGE-REQUEST", () => {
  const classic = hex("0001 0008 0102030405060708090a0b0c0d0e0f10 0003 0004 00000004");
  const r = parseBindingRequest(classic);
  assert.equal(r.modern, false);
  assert.equal(r.changeRequest, 4);
  assert.throws(() => parseBindingRequest(classic, true), /magic cookie/);
});

Deno.test("encodeBindingResponse() round-trips IPv4 and IPv6 through XOR-MAPPED-ADDRESS", () => {
  const req = encodeBindingRequest(new Uint8Array(12).fill(3));
  const tr = parseBindingRequest(req).transaction;
  for (const [ip, port] of [["203.0.113.9", 41641], ["2001:db8::7", 3478]] as const) {
    const resp = encodeBindingResponse(tr, parseIp(ip), port);
    assert.ok(isStun(resp));
    const got = parseBindingResponse(resp);
    assert.deepEqual(got.ip, parseIp(ip));
    assert.equal(got.port, port);
    assert.deepEqual(got.txId, new Uint8Array(12).fill(3));
    assert.equal(new DataView(resp.buffer).getUint16(20), 0x0020);
  }
  assert.equal(encodeBindingResponse(tr, parseIp("1.2.3.4"), 1).length, 32);
  assert.equal(encodeBindingResponse(tr, parseIp("::1"), 1).length, 44);
});

Deno.test("encodeBindingResponse() answers classic requests with MAPPED-ADDRESS", () => {
  const tr = hex("0102030405060708090a0b0c0d0e0f10");
  const resp = encodeBindingResponse(tr, parseIp("10.1.2.3"), 5000);
  assert.deepEqual(resp.subarray(20), hex("0001 0008 0001 1388 0a010203"));
});

Deno.test("parseBindingResponse() falls back to MAPPED-ADDRESS and takes 0x8020", () => {
  const base = hex("0101 000c 2112a442 000000000000000000000000");
  const mapped = new Uint8Array([...base, ...hex("0001 0008 0001 1388 c0000201")]);
  assert.deepEqual(parseBindingResponse(mapped).ip, parseIp("192.0.2.1"));
  const alt = new Uint8Array([...base, ...hex("8020 0008 0001 a147 e112a643")]);
  assert.equal(parseBindingResponse(alt).port, 32853);
});

Deno.test("looksLikeStunResponse() accepts a binding success and rejects WireGuard", () => {
  const s = new Uint8Array(20);
  s.set([0x01, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42]);
  assert.ok(looksLikeStunResponse(s));
  assert.ok(!looksLikeStunResponse(s.subarray(0, 19)));
  const wg = new Uint8Array(32);
  wg[0] = 4;
  assert.ok(!looksLikeStunResponse(wg));
});

Deno.test("parseBindingResponse() rejects errors, non-STUN, missing and bad addresses", () => {
  assert.throws(() => parseBindingResponse(new Uint8Array(20)), /Not a STUN/);
  const err = RFC5769_V4.slice();
  err[0] = 0x01;
  err[1] = 0x11;
  assert.throws(() => parseBindingResponse(err), /not a success/);
  const none = hex("0101 0000 2112a442 000000000000000000000000");
  assert.throws(() => parseBindingResponse(none), /no mapped address/);
  const badFam = hex("0101 0008 2112a442 000000000000000000000000 0020 0004 0003 0000");
  assert.throws(() => parseBindingResponse(badFam), /malformed/);
  const overrun = hex("0101 0010 2112a442 000000000000000000000000 0020 0008 0001");
  assert.throws(() => parseBindingResponse(overrun), /malformed/);
});
