import assert from "node:assert/strict";
import { parseListenAddress } from "./listen.ts";

Deno.test("parseListenAddress() takes HOST:PORT, [IPv6]:PORT and a bare port on loopback", () => {
  assert.deepEqual(parseListenAddress("127.0.0.1:8384"), { hostname: "127.0.0.1", port: 8384 });
  assert.deepEqual(parseListenAddress("0.0.0.0:80"), { hostname: "0.0.0.0", port: 80 });
  assert.deepEqual(parseListenAddress("localhost:9000"), { hostname: "localhost", port: 9000 });
  assert.deepEqual(parseListenAddress("[::1]:8384"), { hostname: "::1", port: 8384 });
  assert.deepEqual(parseListenAddress("8384"), { hostname: "127.0.0.1", port: 8384 });
  assert.deepEqual(parseListenAddress("127.0.0.1:0"), { hostname: "127.0.0.1", port: 0 });
});

Deno.test("parseListenAddress() refuses a missing host, a bad port and junk", () => {
  assert.throws(() => parseListenAddress(":8384"), /name the host, e\.g\. 127\.0\.0\.1:8384/);
  assert.throws(() => parseListenAddress("127.0.0.1:70000"), RangeError);
  for (const bad of ["", "127.0.0.1", "::1:8384", "host:port", "[::1]", "a:1:2"]) {
    assert.throws(() => parseListenAddress(bad), TypeError, bad);
  }
});
