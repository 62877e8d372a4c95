import assert from "node:assert/strict";
import { IpAllocator } from "./ip_alloc.ts";

Deno.test("IpAllocator hands out Headscale's first addresses in order", () => {
  const a = new IpAllocator();
  assert.deepEqual(a.allocate(), { ipv4: "100.64.0.1", ipv6: "fd7a:115c:a1e0::1" });
  assert.deepEqual(a.allocate(), { ipv4: "100.64.0.2", ipv6: "fd7a:115c:a1e0::2" });
});

Deno.test("IpAllocator reuses a released address and skips reserved ones", () => {
  const a = new IpAllocator();
  const first = a.allocate();
  a.allocate();
  a.release(first);
  assert.equal(a.allocate().ipv4, "100.64.0.1");
  a.reserve({ ipv4: "100.64.0.3", ipv6: "fd7a:115c:a1e0::3" });
  assert.equal(a.allocate().ipv4, "100.64.0.4");
});

Deno.test("IpAllocator.restore() of a snapshot continues where the saved allocator stopped", () => {
  const a = new IpAllocator();
  a.allocate();
  const second = a.allocate();
  a.allocate();
  a.release(second);
  const snap = a.snapshot();
  assert.deepEqual(snap, {
    v4: ["100.64.0.1", "100.64.0.3"],
    v6: ["fd7a:115c:a1e0::1", "fd7a:115c:a1e0::3"],
  });
  const b = new IpAllocator();
  b.restore(snap);
  assert.deepEqual(b.allocate(), a.allocate());
  assert.equal(b.allocate().ipv4, "100.64.0.4");
});

Deno.test("IpAllocator.restore() rejects addresses outside the tailnet ranges", () => {
  const a = new IpAllocator();
  assert.throws(() => a.restore({ v4: ["10.0.0.1"], v6: [] }), RangeError);
  assert.throws(() => a.restore({ v4: ["100.64.0.0"], v6: [] }), RangeError);
  assert.throws(() => a.restore({ v4: [], v6: ["fd00::1"] }), RangeError);
  assert.throws(() => a.restore({ v4: [], v6: ["fd7a:115c:a1e0::"] }), RangeError);
});

Deno.test("IpAllocator hands out from the prefixes it is given, as Headscale's prefixes", () => {
  const a = new IpAllocator({ v4: "100.96.0.0/12", v6: "fd7a:115c:a1e0:2::/64" });
  assert.deepEqual(a.allocate(), { ipv4: "100.96.0.1", ipv6: "fd7a:115c:a1e0:2::1" });
  assert.deepEqual(a.allocate(), { ipv4: "100.96.0.2", ipv6: "fd7a:115c:a1e0:2::2" });
  const b = new IpAllocator({ v4: "100.96.0.0/12", v6: "fd7a:115c:a1e0:2::/64" });
  b.restore(a.snapshot());
  assert.equal(b.allocate().ipv4, "100.96.0.3");
  assert.throws(() => b.restore({ v4: ["100.64.0.1"], v6: [] }), /not a host in 100\.96\.0\.0\/12/);
  const tiny = new IpAllocator({ v4: "10.9.0.0/30" });
  tiny.allocate();
  tiny.allocate();
  assert.throws(() => tiny.allocate(), /all 3 addresses are in use/);
  assert.throws(() => new IpAllocator({ v4: "fd00::/64" }), /want an IPv4 prefix/);
  assert.throws(() => new IpAllocator({ v6: "fd00::/120" }), /at most \/96/);
});
