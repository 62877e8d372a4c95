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
