import assert from "node:assert/strict";
import { parseAddrPort } from "./addr.ts";
import { betterAddr } from "./better_addr.ts";

const q = (s: string, latency: number) => ({ addr: parseAddrPort(s), latency });

Deno.test("betterAddr() takes any path over none and never prefers a path to itself", () => {
  assert.ok(betterAddr(q("203.0.113.1:1", 100), null));
  assert.ok(!betterAddr(q("203.0.113.1:1", 1), q("203.0.113.1:1", 100)));
});

Deno.test("betterAddr() prefers lower latency among public IPv4 paths", () => {
  assert.ok(betterAddr(q("203.0.113.1:1", 10), q("198.51.100.1:1", 20)));
  assert.ok(!betterAddr(q("203.0.113.1:1", 20), q("198.51.100.1:1", 10)));
});

Deno.test("betterAddr() does not switch for an improvement under 1 % (hysteresis)", () => {
  // 199 vs 200 ms: a scores 100 - floor(99.5) = 1 point, b 0 → no switch.
  assert.ok(!betterAddr(q("203.0.113.1:1", 199), q("198.51.100.1:1", 200)));
  // 197 vs 200 ms: 2 points → switch.
  assert.ok(betterAddr(q("203.0.113.1:1", 197), q("198.51.100.1:1", 200)));
  // Equal latency, equal class: stay.
  assert.ok(!betterAddr(q("203.0.113.1:1", 50), q("198.51.100.1:1", 50)));
});

Deno.test("betterAddr() bonuses: loopback 50, link-local 30, private 20, IPv6 10", () => {
  // A private path up to ~20 % slower still wins over a public one.
  assert.ok(betterAddr(q("192.168.1.2:1", 11), q("203.0.113.1:1", 10)));
  assert.ok(!betterAddr(q("192.168.1.2:1", 13), q("203.0.113.1:1", 10))); // 23 % slower
  // Link-local beats private at equal latency; loopback beats link-local.
  assert.ok(betterAddr(q("169.254.1.1:1", 10), q("10.0.0.1:1", 10)));
  assert.ok(betterAddr(q("127.0.0.1:1", 10), q("169.254.1.1:1", 10)));
  assert.ok(!betterAddr(q("10.0.0.1:1", 10), q("169.254.1.1:1", 10)));
  // IPv6 public beats IPv4 public at equal latency, but not when 20 % slower.
  assert.ok(betterAddr(q("[2001:db8::1]:1", 10), q("203.0.113.1:1", 10)));
  assert.ok(!betterAddr(q("[2001:db8::1]:1", 12.5), q("203.0.113.1:1", 10)));
  // Private IPv6 (ULA) gets both bonuses.
  assert.ok(betterAddr(q("[fd00::1]:1", 10), q("10.0.0.1:1", 10)));
});
