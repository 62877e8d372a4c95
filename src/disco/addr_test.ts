import assert from "node:assert/strict";
import {
  addrPort,
  addrPortEqual,
  formatAddrPort,
  isIPv6,
  isLinkLocalUnicast,
  isLoopback,
  isPrivate,
  parseAddrPort,
} from "./addr.ts";
import { parseIp, to16 } from "../net/ip.ts";

Deno.test("parseAddrPort() unmaps IPv4-mapped addresses and formats back", () => {
  const a = parseAddrPort("[::ffff:10.1.2.3]:41641");
  assert.deepEqual(a, { ip: new Uint8Array([10, 1, 2, 3]), port: 41641 });
  assert.equal(formatAddrPort(a), "10.1.2.3:41641");
  assert.equal(formatAddrPort(parseAddrPort("[2001:DB8::1]:7")), "[2001:db8::1]:7");
  assert.ok(addrPortEqual(a, { ip: to16(a.ip), port: 41641 }));
  assert.ok(!addrPortEqual(a, { ip: a.ip, port: 41642 }));
});

Deno.test("parseAddrPort() and addrPort() reject names, bad ports and bad lengths", () => {
  assert.throws(() => parseAddrPort("derp.example.com:443"), SyntaxError);
  assert.throws(() => parseAddrPort("1.2.3.4"), SyntaxError);
  assert.throws(() => parseAddrPort("1.2.3.4:70000"), RangeError);
  assert.throws(() => addrPort(new Uint8Array(5), 1), TypeError);
  assert.throws(() => addrPort(new Uint8Array(4), -1), RangeError);
});

Deno.test("address classes follow Go's netip (loopback, link-local, private, IPv6)", () => {
  const cls = (s: string) => {
    const ip = parseIp(s);
    return [isLoopback(ip), isLinkLocalUnicast(ip), isPrivate(ip), isIPv6(ip)];
  };
  assert.deepEqual(cls("127.0.0.9"), [true, false, false, false]);
  assert.deepEqual(cls("::1"), [true, false, false, true]);
  assert.deepEqual(cls("169.254.3.4"), [false, true, false, false]);
  assert.deepEqual(cls("fe80::1"), [false, true, false, true]);
  assert.deepEqual(cls("febf::1"), [false, true, false, true]);
  assert.deepEqual(cls("fec0::1"), [false, false, false, true]);
  assert.deepEqual(cls("10.0.0.1"), [false, false, true, false]);
  assert.deepEqual(cls("172.16.0.1"), [false, false, true, false]);
  assert.deepEqual(cls("172.31.255.1"), [false, false, true, false]);
  assert.deepEqual(cls("172.32.0.1"), [false, false, false, false]);
  assert.deepEqual(cls("192.168.1.1"), [false, false, true, false]);
  assert.deepEqual(cls("fd7a:115c:a1e0::1"), [false, false, true, true]);
  assert.deepEqual(cls("100.64.0.1"), [false, false, false, false]);
  assert.deepEqual(cls("::ffff:192.168.1.1"), [false, false, true, false]);
  assert.deepEqual(cls("2001:db8::1"), [false, false, false, true]);
});
