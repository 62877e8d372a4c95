import assert from "node:assert/strict";
import {
  decodeGreeting,
  decodeRequest,
  decodeUdpDatagram,
  decodeUserPass,
  encodeAddress,
  encodeReply,
  encodeUdpDatagram,
  Socks5CodecError,
} from "./socks5_codec.ts";

Deno.test("decodeGreeting() waits for the whole greeting and returns the methods", () => {
  assert.equal(decodeGreeting(new Uint8Array([])), null);
  assert.equal(decodeGreeting(new Uint8Array([5])), null);
  assert.equal(decodeGreeting(new Uint8Array([5, 2, 0])), null);
  assert.deepEqual(decodeGreeting(new Uint8Array([5, 2, 0, 2, 9])), { value: [0, 2], length: 4 });
});

Deno.test("decodeGreeting() rejects another version and an empty method list at once", () => {
  assert.throws(() => decodeGreeting(new TextEncoder().encode("GET ")), Socks5CodecError);
  assert.throws(() => decodeGreeting(new Uint8Array([4])), /version 4 is not 5/);
  assert.throws(() => decodeGreeting(new Uint8Array([5, 0])), /no authentication method/);
});

Deno.test("decodeUserPass() reads RFC 1929 fields and rejects version 5", () => {
  const bytes = new Uint8Array([1, 3, ...new TextEncoder().encode("bob"), 2, 0x68, 0x69]);
  for (let i = 0; i < bytes.length; i++) assert.equal(decodeUserPass(bytes.subarray(0, i)), null);
  assert.deepEqual(decodeUserPass(bytes), {
    value: { username: "bob", password: "hi" },
    length: bytes.length,
  });
  assert.throws(() => decodeUserPass(new Uint8Array([5, 1])), /version 5 is not 1/);
});

Deno.test("decodeRequest() reads IPv4, IPv6 and domain destinations", () => {
  // The request curl --socks5 sends for 127.0.0.1:8080.
  const v4 = decodeRequest(new Uint8Array([5, 1, 0, 1, 127, 0, 0, 1, 0x1f, 0x90]));
  assert.deepEqual(v4, {
    value: { command: 1, dest: { atyp: 1, hostname: "127.0.0.1", port: 8080 } },
    length: 10,
  });
  const v6 = decodeRequest(new Uint8Array([5, 1, 0, 4, ...new Uint8Array(15), 1, 0, 80]));
  assert.equal(v6?.value.dest.hostname, "::1");
  const name = new Uint8Array([5, 3, 0, 3, 4, ...new TextEncoder().encode("peer"), 0, 22, 99]);
  assert.deepEqual(decodeRequest(name)?.value, {
    command: 3,
    dest: { atyp: 3, hostname: "peer", port: 22 },
  });
  assert.equal(decodeRequest(name)?.length, 11, "bytes after the request are not consumed");
  for (let i = 0; i < 11; i++) assert.equal(decodeRequest(name.subarray(0, i)), null);
});

Deno.test("decodeRequest() rejects unknown address types with reply 8 and empty names", () => {
  assert.throws(
    () => decodeRequest(new Uint8Array([5, 1, 0, 9])),
    (e: unknown) => e instanceof Socks5CodecError && e.reply === 8,
  );
  assert.throws(() => decodeRequest(new Uint8Array([5, 1, 0, 3, 0, 0, 80])), /empty domain/);
  assert.throws(() => decodeRequest(new Uint8Array([4, 1, 0, 1])), /version 4/);
});

Deno.test("encodeReply() and encodeAddress() pick the address type from the text", () => {
  assert.deepEqual([...encodeReply(0)], [5, 0, 0, 1, 0, 0, 0, 0, 0, 0]);
  assert.deepEqual(
    [...encodeReply(0, { hostname: "::ffff:10.1.2.3", port: 1080 })],
    [5, 0, 0, 1, 10, 1, 2, 3, 4, 56],
  );
  assert.deepEqual([...encodeAddress("::1", 1)], [4, ...new Uint8Array(15), 1, 0, 1]);
  assert.deepEqual([...encodeAddress("ab", 2)], [3, 2, 97, 98, 0, 2]);
  assert.throws(() => encodeAddress("x".repeat(256), 1), RangeError);
});

Deno.test("UDP datagrams round-trip and a truncated header is rejected", () => {
  const wire = encodeUdpDatagram("fd7a:115c:a1e0::1", 53, new Uint8Array([7, 8]));
  const d = decodeUdpDatagram(wire);
  assert.deepEqual(d.addr, { atyp: 4, hostname: "fd7a:115c:a1e0::1", port: 53 });
  assert.equal(d.frag, 0);
  assert.deepEqual([...d.data], [7, 8]);
  assert.equal(decodeUdpDatagram(new Uint8Array([0, 0, 1, 1, 1, 2, 3, 4, 0, 1])).frag, 1);
  assert.throws(() => decodeUdpDatagram(new Uint8Array([0, 0, 0, 1, 1, 2])), /truncated/);
  assert.throws(() => decodeUdpDatagram(new Uint8Array([0, 0])), /truncated/);
});
