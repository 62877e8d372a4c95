import assert from "node:assert/strict";
import { bytesEqual } from "../bytes/equal.ts";
import { isIP } from "node:net";
import {
  formatIp,
  formatPrefix,
  ipFamily,
  isV4Mapped,
  maskIp,
  parseIp,
  parsePrefix,
  prefixContains,
  splitHostPort,
  to16,
  unmap,
} from "./ip.ts";
import { mulberry32 } from "../testing/prng.ts";

const bytes = (...b: number[]) => new Uint8Array(b);

Deno.test("parseIp() reads IPv4 dotted quads", () => {
  assert.deepEqual(parseIp("0.0.0.0"), bytes(0, 0, 0, 0));
  assert.deepEqual(parseIp("255.255.255.255"), bytes(255, 255, 255, 255));
  assert.deepEqual(parseIp("100.64.0.1"), bytes(100, 64, 0, 1));
  assert.deepEqual(parseIp("10.0.0.10"), bytes(10, 0, 0, 10));
});

Deno.test("parseIp() reads every RFC 4291 IPv6 text form", () => {
  const v6 = (...groups: number[]) => {
    const out = new Uint8Array(16);
    groups.forEach((g, i) => {
      out[2 * i] = g >> 8;
      out[2 * i + 1] = g & 0xff;
    });
    return out;
  };
  // RFC 4291 §2.2 examples.
  assert.deepEqual(
    parseIp("ABCD:EF01:2345:6789:ABCD:EF01:2345:6789"),
    v6(0xabcd, 0xef01, 0x2345, 0x6789, 0xabcd, 0xef01, 0x2345, 0x6789),
  );
  assert.deepEqual(
    parseIp("2001:DB8:0:0:8:800:200C:417A"),
    v6(0x2001, 0xdb8, 0, 0, 8, 0x800, 0x200c, 0x417a),
  );
  assert.deepEqual(
    parseIp("2001:DB8::8:800:200C:417A"),
    v6(0x2001, 0xdb8, 0, 0, 8, 0x800, 0x200c, 0x417a),
  );
  assert.deepEqual(parseIp("FF01::101"), v6(0xff01, 0, 0, 0, 0, 0, 0, 0x101));
  assert.deepEqual(parseIp("::1"), v6(0, 0, 0, 0, 0, 0, 0, 1));
  assert.deepEqual(parseIp("::"), new Uint8Array(16));
  assert.deepEqual(parseIp("0:0:0:0:0:0:13.1.68.3"), v6(0, 0, 0, 0, 0, 0, 0x0d01, 0x4403));
  assert.deepEqual(parseIp("::13.1.68.3"), v6(0, 0, 0, 0, 0, 0, 0x0d01, 0x4403));
  assert.deepEqual(parseIp("::FFFF:129.144.52.38"), v6(0, 0, 0, 0, 0, 0xffff, 0x8190, 0x3426));
  assert.deepEqual(parseIp("::ffff:1.2.3.4"), v6(0, 0, 0, 0, 0, 0xffff, 0x0102, 0x0304));
  // "::" at the end, and standing for a single group.
  assert.deepEqual(parseIp("fe80::"), v6(0xfe80, 0, 0, 0, 0, 0, 0, 0));
  assert.deepEqual(parseIp("1:2:3:4:5:6:7::"), v6(1, 2, 3, 4, 5, 6, 7, 0));
  assert.deepEqual(parseIp("::2:3:4:5:6:7:8"), v6(0, 2, 3, 4, 5, 6, 7, 8));
  assert.deepEqual(parseIp("1::8"), v6(1, 0, 0, 0, 0, 0, 0, 8));
  assert.deepEqual(parseIp("0001:0:0:0:0:0:0:00ff"), v6(1, 0, 0, 0, 0, 0, 0, 0xff));
  assert.deepEqual(parseIp("fd7a:115c:a1e0::1"), v6(0xfd7a, 0x115c, 0xa1e0, 0, 0, 0, 0, 1));
});

Deno.test("parseIp() rejects malformed addresses and says why", () => {
  const cases: Array<[string, RegExp]> = [
    ["", /empty address/],
    ["1.2.3", /IPv4 address needs 4 fields, got 3/],
    ["1.2.3.4.5", /needs 4 fields, got 5/],
    ["256.0.0.1", /IPv4 field "256" is out of range 0-255/],
    ["1.2.3.1000", /"1000" is out of range/],
    ["01.2.3.4", /leading zero/],
    ["1..3.4", /empty IPv4 field/],
    ["1.2.3.4 ", /whitespace/],
    [" ::1", /whitespace/],
    ["1.2.3.a", /must be decimal/],
    ["example.com", /not an IPv4 address/],
    ["-1.2.3.4", /not an IPv4 address/],
    ["::1::", /'::' may appear only once/],
    ["1::2::3", /'::' may appear only once/],
    [":::", /may appear only once/],
    [":1::", /empty group/],
    ["1:2:3:4:5:6:7:", /empty group/],
    [":1:2:3:4:5:6:7", /empty group/],
    ["1:2:3:4:5:6:7", /needs 8 groups, got 7/],
    ["1:2:3:4:5:6:7:8:9", /needs 8 groups, got 9/],
    ["1:2:3:4:5:6:7:8::", /too many groups/],
    ["::1:2:3:4:5:6:7:8", /too many groups/],
    ["1:2:3:4:5:6:1.2.3.4:8", /embedded IPv4 address may only end/],
    ["::1.2.3.4:1", /embedded IPv4 address may only end/],
    ["1.2.3.4::", /embedded IPv4 address may only end/],
    ["::ffff:1.2.3", /needs 4 fields/],
    ["::ffff:256.1.1.1", /out of range/],
    ["12345::", /more than 4 hex digits/],
    ["g::1", /"g" is not hex/],
    ["fe80::1%eth0", /zone identifiers .* not supported/],
    ["[::1]", /brackets/],
  ];
  for (const [input, why] of cases) {
    assert.throws(
      () => parseIp(input),
      (e: unknown) => {
        assert.ok(e instanceof SyntaxError, `${input}: ${e}`);
        assert.match(e.message, why, input);
        assert.ok(e.message.startsWith(`Cannot parse IP address ${JSON.stringify(input)}: `));
        return true;
      },
    );
  }
});

Deno.test("formatIp() writes RFC 5952 canonical text", () => {
  const cases: Array<[string, string]> = [
    // RFC 5952 §4 examples.
    ["2001:db8:0:0:0:0:2:1", "2001:db8::2:1"],
    ["2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"], // first of two equal runs
    ["2001:db8:0:1:1:1:1:1", "2001:db8:0:1:1:1:1:1"], // a single zero group stays
    ["2001:0:0:1:0:0:0:1", "2001:0:0:1::1"], // the longest run wins
    ["2001:DB8::AAAA", "2001:db8::aaaa"],
    ["2001:0db8::0001", "2001:db8::1"],
    ["::", "::"],
    ["::1", "::1"],
    ["1::", "1::"],
    ["1:0:0:0:0:0:0:0", "1::"],
    ["0:0:0:0:0:0:0:1", "::1"],
    ["1:2:3:4:5:6:7:8", "1:2:3:4:5:6:7:8"],
    ["::ffff:1.2.3.4", "::ffff:1.2.3.4"], // IPv4-mapped in mixed notation (§5)
    ["::ffff:102:304", "::ffff:1.2.3.4"],
    ["::1.2.3.4", "::102:304"], // IPv4-compatible is deprecated: plain hex
    ["fd7a:115c:a1e0:0000:0000:0000:0000:0001", "fd7a:115c:a1e0::1"],
    ["10.0.0.1", "10.0.0.1"],
    ["0.0.0.0", "0.0.0.0"],
  ];
  for (const [input, want] of cases) assert.equal(formatIp(parseIp(input)), want, input);
  assert.throws(() => formatIp(new Uint8Array(5)), TypeError);
});

Deno.test("formatIp() and parseIp() round-trip random addresses and agree with WHATWG URL", () => {
  const rand = mulberry32(1);
  for (let n = 0; n < 3000; n++) {
    const ip = new Uint8Array(16);
    // Sparse groups so that zero runs of every length occur.
    for (let g = 0; g < 8; g++) {
      if (rand() < 0.5) continue;
      const v = Math.floor(rand() * 0x10000);
      ip[2 * g] = v >> 8;
      ip[2 * g + 1] = v & 0xff;
    }
    const text = formatIp(ip);
    assert.deepEqual(parseIp(text), ip, text);
    const mapped = ip.subarray(0, 10).every((b) => b === 0) && ip[10] === 0xff && ip[11] === 0xff;
    if (!mapped) {
      // WHATWG's IPv6 serializer applies the same compression rule.
      assert.equal(new URL(`http://[${text}]/`).hostname, `[${text}]`);
    }
    const v4 = ip.subarray(0, 4);
    assert.deepEqual(parseIp(formatIp(v4)), v4);
  }
});

Deno.test("parseIp() accepts exactly what node:net isIP accepts (no zones, no spaces)", () => {
  const rand = mulberry32(2);
  const pieces = [
    "",
    "0",
    "1",
    "ff",
    "FFFF",
    "12345",
    "1.2.3.4",
    "256.1.1.1",
    "01.2.3.4",
    "g",
    "1.2.3",
  ];
  for (let n = 0; n < 20000; n++) {
    const parts: string[] = [];
    const count = 1 + Math.floor(rand() * 10);
    for (let i = 0; i < count; i++) parts.push(pieces[Math.floor(rand() * pieces.length)]);
    const text = parts.join(rand() < 0.8 ? ":" : ".");
    let ours = true;
    try {
      parseIp(text);
    } catch (e) {
      assert.ok(e instanceof SyntaxError);
      ours = false;
    }
    assert.equal(ours, isIP(text) !== 0, text);
  }
});

Deno.test("parsePrefix() parses CIDR notation and zeroes host bits by default", () => {
  assert.equal(formatPrefix(parsePrefix("10.0.0.1/24")), "10.0.0.0/24");
  assert.equal(formatPrefix(parsePrefix("10.0.0.1/24", { keepHostBits: true })), "10.0.0.1/24");
  assert.equal(formatPrefix(parsePrefix("10.255.255.255/9")), "10.128.0.0/9");
  assert.equal(formatPrefix(parsePrefix("1.2.3.4/0")), "0.0.0.0/0");
  assert.equal(formatPrefix(parsePrefix("1.2.3.4")), "1.2.3.4/32");
  assert.equal(formatPrefix(parsePrefix("fd7a:115c:a1e0::1")), "fd7a:115c:a1e0::1/128");
  assert.equal(
    formatPrefix(parsePrefix("fd7a:115c:a1e0:ab12:4843:cd96:6258:b240/48")),
    "fd7a:115c:a1e0::/48",
  );
  assert.equal(formatPrefix(parsePrefix("2001:db8::ffff/127")), "2001:db8::fffe/127");
  assert.equal(formatPrefix(parsePrefix("::/0")), "::/0");
  assert.deepEqual(parsePrefix("192.168.1.77/28"), { ip: bytes(192, 168, 1, 64), bits: 28 });
});

Deno.test("parsePrefix() rejects bad prefixes with the right error type", () => {
  const range: string[] = ["10.0.0.0/33", "::/129", "1.2.3.4/999"];
  for (const s of range) {
    assert.throws(() => parsePrefix(s), (e: unknown) => {
      assert.ok(e instanceof RangeError, s);
      assert.match(e.message, /prefix length out of range/);
      assert.ok(e.message.includes(JSON.stringify(s)));
      return true;
    });
  }
  const syntax: Array<[string, RegExp]> = [
    ["10.0.0.0/", /prefix length "" is not a decimal number/],
    ["10.0.0.0/08", /"08" is not a decimal number/],
    ["10.0.0.0/-1", /not a decimal number/],
    ["10.0.0.0/+8", /not a decimal number/],
    ["10.0.0.0/8/8", /not a decimal number/],
    ["10.0.0.0/ 8", /not a decimal number/],
    ["1.2.3/24", /needs 4 fields/],
    ["/24", /empty address/],
    ["fe80::1%eth0/64", /zone/],
  ];
  for (const [s, why] of syntax) {
    assert.throws(() => parsePrefix(s), (e: unknown) => {
      assert.ok(e instanceof SyntaxError, s);
      assert.match(e.message, why, s);
      return true;
    });
  }
});

Deno.test("formatPrefix() rejects an impossible prefix", () => {
  assert.throws(() => formatPrefix({ ip: new Uint8Array(4), bits: 33 }), RangeError);
  assert.throws(() => formatPrefix({ ip: new Uint8Array(4), bits: 1.5 }), RangeError);
  assert.throws(() => formatPrefix({ ip: new Uint8Array(3), bits: 1 }), TypeError);
});

Deno.test("ipFamily(), bytesEqual(), maskIp() and prefixContains() work on both families", () => {
  assert.equal(ipFamily(parseIp("1.2.3.4")), 4);
  assert.equal(ipFamily(parseIp("::")), 6);
  assert.throws(() => ipFamily(new Uint8Array(8)), /must be 4 or 16 bytes, got 8/);
  assert.ok(bytesEqual(parseIp("::ffff:1.2.3.4"), parseIp("::ffff:102:304")));
  assert.ok(!bytesEqual(parseIp("1.2.3.4"), parseIp("::ffff:1.2.3.4")));
  assert.ok(!bytesEqual(parseIp("1.2.3.4"), parseIp("1.2.3.5")));
  const ip = parseIp("10.1.2.3");
  assert.equal(formatIp(maskIp(ip, 12)), "10.0.0.0");
  assert.equal(formatIp(ip), "10.1.2.3", "maskIp() must not modify its input");
  assert.equal(formatIp(maskIp(parseIp("2001:db8:ffff::1"), 36)), "2001:db8:f000::");
  assert.throws(() => maskIp(ip, 40), RangeError);

  const p = parsePrefix("10.64.0.0/10");
  assert.ok(prefixContains(p, parseIp("10.64.0.0")));
  assert.ok(prefixContains(p, parseIp("10.127.255.255")));
  assert.ok(!prefixContains(p, parseIp("10.128.0.0")));
  assert.ok(!prefixContains(p, parseIp("10.63.255.255")));
  assert.ok(!prefixContains(p, parseIp("::ffff:10.64.0.1")));
  assert.ok(prefixContains(parsePrefix("0.0.0.0/0"), parseIp("8.8.8.8")));
  assert.ok(prefixContains(parsePrefix("fd7a:115c:a1e0::/48"), parseIp("fd7a:115c:a1e0:ab12::1")));
  assert.ok(!prefixContains(parsePrefix("fd7a:115c:a1e0::/48"), parseIp("fd7a:115c:a1e1::1")));
});

Deno.test("to16() maps IPv4, unmap() undoes it and isV4Mapped() tells them apart", () => {
  const v4 = parseIp("192.0.2.1");
  const m = to16(v4);
  assert.deepEqual(m, bytes(0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 192, 0, 2, 1));
  assert.ok(isV4Mapped(m));
  assert.ok(!isV4Mapped(v4));
  assert.ok(!isV4Mapped(parseIp("::1")));
  assert.ok(!isV4Mapped(parseIp("1::ffff:192.0.2.1")));
  assert.deepEqual(unmap(m), v4);
  assert.notEqual(unmap(m).buffer, m.buffer, "unmap() must copy, not alias");
  const v6 = parseIp("::1");
  assert.equal(to16(v6), v6);
  assert.equal(unmap(v6), v6);
  assert.equal(unmap(v4), v4);
});

Deno.test("splitHostPort() splits and validates endpoints", () => {
  assert.deepEqual(splitHostPort("1.2.3.4:51820"), {
    host: "1.2.3.4",
    ip: bytes(1, 2, 3, 4),
    port: 51820,
  });
  assert.deepEqual(splitHostPort("[2001:db8::1]:1"), {
    host: "2001:db8::1",
    ip: parseIp("2001:db8::1"),
    port: 1,
  });
  assert.deepEqual(splitHostPort("vpn.example.com:65535"), {
    host: "vpn.example.com",
    ip: null,
    port: 65535,
  });
  assert.deepEqual(splitHostPort("localhost:53"), { host: "localhost", ip: null, port: 53 });
  assert.deepEqual(splitHostPort("_srv.example.com.:53"), {
    host: "_srv.example.com.",
    ip: null,
    port: 53,
  });

  const syntax: Array<[string, RegExp]> = [
    ["1.2.3.4", /missing ':port'/],
    ["1.2.3.4:", /missing port/],
    [":51820", /missing host/],
    ["2001:db8::1:51820", /needs brackets/],
    ["[2001:db8::1]51820", /expected ':port' after '\]'/],
    ["[2001:db8::1:51820", /missing '\]'/],
    ["[1.2.3.4]:80", /brackets are only for IPv6/],
    ["[fe80::1%eth0]:80", /zone/],
    ["1.2.3:80", /needs 4 fields/],
    ["256.1.1.1:80", /out of range 0-255/],
    ["host:port", /port "port" is not a decimal number/],
    ["host:123456", /not a decimal number/],
    ["bad host:80", /invalid characters/],
    ["-bad.example:80", /invalid characters/],
    ["a..b:80", /empty label/],
    [`${"a".repeat(64)}.com:80`, /longer than 63/],
  ];
  for (const [s, why] of syntax) {
    assert.throws(() => splitHostPort(s), (e: unknown) => {
      assert.ok(e instanceof SyntaxError, s);
      assert.match(e.message, why, s);
      assert.ok(e.message.startsWith(`Cannot parse endpoint ${JSON.stringify(s)}: `));
      return true;
    });
  }
  assert.throws(() => splitHostPort("1.2.3.4:0"), RangeError);
  assert.throws(() => splitHostPort("1.2.3.4:65536"), /port 65536 out of range 1-65535/);
});
