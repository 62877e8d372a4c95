import assert from "node:assert/strict";
import { fromHex, toHex } from "../bytes/hex.ts";
import {
  decodeCookieReply,
  decodeInitiation,
  decodeResponse,
  encodeCookieReply,
  encodeInitiation,
  encodeResponse,
  MessageType,
  parseMessageType,
  readTransportCounter,
  readTransportHeader,
  readTransportReceiver,
  writeTransportHeader,
} from "./messages.ts";

const seq = (n: number, start: number) =>
  Uint8Array.from({ length: n }, (_, i) => (start + i) & 0xff);

// A real initiation sent by wireguard-go 0.0.20220316 (testdata/wireguard_go_handshakes.json).
const captures = JSON.parse(
  Deno.readTextFileSync(new URL("./testdata/wireguard_go_handshakes.json", import.meta.url)),
);
const REAL_INITIATION = fromHex(captures.warren_responds[0].initiation);
const REAL_RESPONSE = fromHex(captures.warren_initiates[0].response);
const REAL_TRANSPORT = fromHex(captures.warren_responds[0].transport);

Deno.test("decodeInitiation() splits wireguard-go's initiation and encodeInitiation() rebuilds it", () => {
  const m = decodeInitiation(REAL_INITIATION);
  assert.ok(m);
  assert.equal(m.sender, new DataView(REAL_INITIATION.buffer).getUint32(4, true));
  assert.deepEqual(m.ephemeral, REAL_INITIATION.subarray(8, 40));
  assert.equal(m.encryptedStatic.length, 48);
  assert.equal(m.encryptedTimestamp.length, 28);
  assert.equal(m.mac1.length, 16);
  assert.deepEqual(m.mac2, new Uint8Array(16));
  assert.deepEqual(encodeInitiation(m), REAL_INITIATION);
});

Deno.test("decodeResponse() splits wireguard-go's response and encodeResponse() rebuilds it", () => {
  const m = decodeResponse(REAL_RESPONSE);
  assert.ok(m);
  assert.equal(m.receiver, captures.warren_initiates[0].warren_index);
  assert.equal(m.encryptedNothing.length, 16);
  assert.deepEqual(encodeResponse(m), REAL_RESPONSE);
});

Deno.test("encodeCookieReply() lays out type, receiver, nonce and cookie", () => {
  const out = encodeCookieReply({
    receiver: 0x04030201,
    nonce: seq(24, 0x10),
    encryptedCookie: seq(32, 0x40),
  });
  assert.equal(
    toHex(out),
    "03000000" + "01020304" + toHex(seq(24, 0x10)) + toHex(seq(32, 0x40)),
  );
  const d = decodeCookieReply(out)!;
  assert.equal(d.receiver, 0x04030201);
  assert.deepEqual(d.nonce, seq(24, 0x10));
  assert.deepEqual(d.encryptedCookie, seq(32, 0x40));
});

Deno.test("readTransportHeader() reads wireguard-go's transport packet", () => {
  const h = readTransportHeader(REAL_TRANSPORT);
  assert.deepEqual(h, { receiver: captures.warren_responds[0].warren_index, counter: 0 });
});

Deno.test("writeTransportHeader() round-trips receivers and counters, little-endian", () => {
  const p = new Uint8Array(40);
  writeTransportHeader(p, 0xdeadbeef, 0x0102030405, 4);
  assert.equal(toHex(p.subarray(4, 20)), "04000000" + "efbeadde" + "0504030201000000");
  assert.deepEqual(readTransportHeader(p.subarray(4, 36)), {
    receiver: 0xdeadbeef,
    counter: 0x0102030405,
  });
  writeTransportHeader(p, 1, Number.MAX_SAFE_INTEGER);
  assert.equal(readTransportCounter(p), Number.MAX_SAFE_INTEGER);
  assert.equal(readTransportReceiver(p), 1);
  assert.throws(() => writeTransportHeader(p, 1, 2 ** 53), RangeError);
  assert.throws(() => writeTransportHeader(p, 1, 0, 30), RangeError);
});

Deno.test("readTransportHeader() returns counter Infinity at 2^53 and above", () => {
  const p = new Uint8Array(32);
  p[0] = 4;
  p.set(fromHex("0000000000002000"), 8); // 2^53
  assert.equal(readTransportHeader(p)!.counter, Infinity);
  p.set(fromHex("ffffffffffffffff"), 8);
  assert.equal(readTransportHeader(p)!.counter, Infinity);
  p.set(fromHex("ffffffffffff1f00"), 8); // 2^53 - 1
  assert.equal(readTransportHeader(p)!.counter, Number.MAX_SAFE_INTEGER);
});

Deno.test("parseMessageType() accepts only well-formed sizes and zero reserved bytes", () => {
  const typed = (type: number, len: number) => {
    const b = new Uint8Array(len);
    b[0] = type;
    return b;
  };
  assert.equal(parseMessageType(typed(1, 148)), MessageType.Initiation);
  assert.equal(parseMessageType(typed(2, 92)), MessageType.Response);
  assert.equal(parseMessageType(typed(3, 64)), MessageType.CookieReply);
  assert.equal(parseMessageType(typed(4, 32)), MessageType.Transport);
  assert.equal(parseMessageType(typed(4, 1500)), MessageType.Transport);
  for (
    const [t, n] of [[1, 147], [1, 149], [2, 148], [3, 65], [4, 31], [5, 148], [0, 148], [1, 3]]
  ) {
    assert.equal(parseMessageType(typed(t, n)), 0, `type ${t} size ${n}`);
  }
  const reserved = typed(1, 148);
  reserved[2] = 1;
  assert.equal(parseMessageType(reserved), 0);
});

Deno.test("decoders return null for the wrong type or size", () => {
  assert.equal(decodeInitiation(REAL_RESPONSE), null);
  assert.equal(decodeInitiation(REAL_INITIATION.subarray(0, 147)), null);
  assert.equal(decodeResponse(REAL_INITIATION), null);
  assert.equal(decodeCookieReply(new Uint8Array(64)), null);
  assert.equal(readTransportHeader(REAL_INITIATION), null);
  assert.equal(readTransportHeader(REAL_TRANSPORT.subarray(0, 31)), null);
});

Deno.test("encoders throw RangeError for wrong field or buffer sizes", () => {
  const z = (n: number) => new Uint8Array(n);
  const init = {
    sender: 1,
    ephemeral: z(32),
    encryptedStatic: z(48),
    encryptedTimestamp: z(28),
    mac1: z(16),
    mac2: z(16),
  };
  assert.throws(() => encodeInitiation({ ...init, ephemeral: z(31) }), RangeError);
  assert.throws(() => encodeInitiation(init, z(147)), RangeError);
  assert.throws(
    () =>
      encodeResponse({
        sender: 1,
        receiver: 2,
        ephemeral: z(32),
        encryptedNothing: z(15),
        mac1: z(16),
        mac2: z(16),
      }),
    RangeError,
  );
  assert.throws(
    () => encodeCookieReply({ receiver: 1, nonce: z(12), encryptedCookie: z(32) }),
    RangeError,
  );
});
