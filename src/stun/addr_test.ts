import assert from "node:assert/strict";
import { formatIp, parseIp, to16, unmap } from "./addr.ts";

Deno.test("parseIp() and formatIp() round-trip IPv4 and compressed IPv6", () => {
  for (
    const s of ["0.0.0.0", "192.0.2.1", "::", "::1", "2001:db8::7", "fe80::1:2", "1:2:3:4:5:6:7:8"]
  ) {
    assert.equal(formatIp(parseIp(s)), s);
  }
  assert.equal(formatIp(parseIp("2001:0db8:0:0:0:0:0:0001")), "2001:db8::1");
  assert.equal(formatIp(parseIp("[::ffff:1.2.3.4]")), "::ffff:102:304");
  assert.deepEqual(parseIp("fe80::1%eth0"), parseIp("fe80::1"));
});

Deno.test("parseIp() rejects malformed addresses", () => {
  for (
    const s of [
      "",
      "1.2.3",
      "1.2.3.256",
      "01.2.3.4",
      "1::2::3",
      "12345::",
      "1:2:3:4:5:6:7:8:9",
      "x",
    ]
  ) {
    assert.throws(() => parseIp(s), SyntaxError, s);
  }
});

Deno.test("to16() maps IPv4 and unmap() undoes it", () => {
  const m = to16(parseIp("192.0.2.1"));
  assert.equal(formatIp(m), "::ffff:c000:201");
  assert.deepEqual(unmap(m), parseIp("192.0.2.1"));
  assert.deepEqual(unmap(parseIp("::1")), parseIp("::1"));
});
