import assert from "node:assert/strict";
import { hostAllowed } from "./host_guard.ts";

const LOCAL = { hostname: "127.0.0.1", port: 8384 };

Deno.test("hostAllowed() serves the listen address and loopback names on the listening port", () => {
  for (const h of ["127.0.0.1:8384", "localhost:8384", "LOCALHOST:8384", "[::1]:8384"]) {
    assert.equal(hostAllowed(h, LOCAL), true, h);
  }
  assert.equal(hostAllowed("100.64.0.1:8384", { hostname: "100.64.0.1", port: 8384 }), true);
  assert.equal(hostAllowed("[fd7a::1]:8384", { hostname: "[FD7A::1]", port: 8384 }), true);
  assert.equal(hostAllowed("localhost", { hostname: "127.0.0.1", port: 80 }), true);
});

Deno.test("hostAllowed() refuses a rebound domain, another port and malformed or missing headers", () => {
  for (
    const h of [
      "evil.example:8384",
      "127.0.0.1.nip.io:8384",
      "localhost.evil.example:8384",
      "127.0.0.1:8385",
      "127.0.0.1",
      "127.0.0.1:8384:1",
      "[::1:8384",
      "",
      "user@127.0.0.1:8384",
    ]
  ) {
    assert.equal(hostAllowed(h, LOCAL), false, h);
  }
  assert.equal(hostAllowed(null, LOCAL), false);
});

Deno.test("hostAllowed() on a wildcard address takes any IP literal but no name", () => {
  const any = { hostname: "0.0.0.0", port: 8384 };
  assert.equal(hostAllowed("192.0.2.10:8384", any), true);
  assert.equal(hostAllowed("[2001:db8::5]:8384", { hostname: "::", port: 8384 }), true);
  assert.equal(hostAllowed("box.lan:8384", any), false);
  // On a specific address, another IP is not this server.
  assert.equal(hostAllowed("192.0.2.10:8384", LOCAL), false);
});
