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
