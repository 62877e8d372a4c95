import assert from "node:assert/strict";
import { addRoute, deleteRoute, RouteTable } from "./route.ts";
import { Driver, ipJson, needsRoot, withNetns } from "./testdata/netns.ts";
import { testOrSkip } from "../src/testing/skip.ts";

interface IpRoute {
  dst: string;
  dev: string;
  metric?: number;
}

const skipReason = needsRoot();

async function routes(ns: string, dev: string, v6 = false): Promise<string[]> {
  const list = await ipJson(ns, ...(v6 ? ["-6"] : []), "route", "show", "dev", dev) as IpRoute[];
  return list.map((r) => `${r.dst} ${r.metric ?? 0}`);
}

Deno.test("addRoute() and deleteRoute() reject malformed prefixes and interface names", () => {
  const v4 = new Uint8Array([10, 0, 0, 0]);
  assert.throws(() => addRoute({ ip: v4, bits: 33 }, "lo"), RangeError);
  assert.throws(() => addRoute({ ip: new Uint8Array(5), bits: 8 }, "lo"), RangeError);
  assert.throws(() => deleteRoute({ ip: new Uint8Array(16), bits: 129 }, "lo"), RangeError);
  assert.throws(() => addRoute({ ip: v4, bits: 8 }, "an-overlong-ifname"), RangeError);
  assert.throws(() => addRoute({ ip: v4, bits: 8 }, "lo", { metric: -1 }), RangeError);
  assert.throws(() => new RouteTable().add({ ip: v4, bits: 1.5 }, "lo"), RangeError);
});

testOrSkip(import.meta, skipReason, {
  name: "addRoute() and deleteRoute() manage IPv4 and IPv6 routes through a TUN",
  fn: () =>
    withNetns(async (ns) => {
      const d = Driver.start(ns);
      try {
        const { name } = await d.ok("open", { name: "wtroute" }) as { name: string };
        await d.ok("up");
        // Host bits are cleared: 10.20.3.4/16 is the route 10.20.0.0/16.
        await d.ok("route_add", { ip: "10.20.3.4", bits: 16, metric: 7 });
        await d.ok("route_add", { ip: "10.30.0.5", bits: 32 });
        await d.ok("route_add", { ip: "fd00:20::", bits: 48 });
        await d.ok("route_add", { ip: "fd00:21::", bits: 64, metric: 50 });
        const v4 = await routes(ns, name);
        assert.ok(v4.includes("10.20.0.0/16 7"), `routes ${v4}`);
        assert.ok(v4.includes("10.30.0.5 0"), `routes ${v4}`);
        const v6 = await routes(ns, name, true);
        assert.ok(v6.includes("fd00:20::/48 1024"), `routes ${v6}`);
        assert.ok(v6.includes("fd00:21::/64 50"), `routes ${v6}`);

        const dup = await d.call("route_add", { ip: "10.20.0.0", bits: 16, metric: 7 });
        assert.equal(dup.code, "EEXIST");
        assert.equal(
          dup.error,
          "Cannot add route 10.20.0.0/16 dev wtroute: ioctl(SIOCADDRT) failed with EEXIST " +
            "(file exists); the route already exists",
        );
        const dup6 = await d.call("route_add", { ip: "fd00:20::", bits: 48 });
        assert.equal(dup6.code, "EEXIST");

        await d.ok("route_del", { ip: "10.20.0.0", bits: 16, metric: 7 });
        await d.ok("route_del", { ip: "fd00:20::", bits: 48 });
        assert.ok(!(await routes(ns, name)).includes("10.20.0.0/16 7"));
        assert.ok(!(await routes(ns, name, true)).includes("fd00:20::/48 1024"));
        const again = await d.call("route_del", { ip: "10.20.0.0", bits: 16, metric: 7 });
        assert.equal(again.code, "ESRCH");
        assert.match(again.error!, /no such route$/);
        const nodev = await d.call("route_add", { ip: "fd00:22::", bits: 64, dev: "nosuchdev" });
        assert.equal(nodev.code, "ENODEV");
      } finally {
        await d.stop();
      }
    }),
});

testOrSkip(import.meta, skipReason, {
  name: "RouteTable.removeAll() removes exactly the routes it added, even if some are gone",
  fn: () =>
    withNetns(async (ns) => {
      const d = Driver.start(ns);
      try {
        const { name } = await d.ok("open", { name: "wttable" }) as { name: string };
        await d.ok("up");
        await d.ok("route_add", { ip: "10.40.0.0", bits: 16 }); // not the table's
        await d.ok("table_add", { ip: "10.50.0.0", bits: 16 });
        await d.ok("table_add", { ip: "10.51.0.0", bits: 24, metric: 3 });
        await d.ok("table_add", { ip: "fd00:50::", bits: 48 });
        await d.ok("route_del", { ip: "10.50.0.0", bits: 16 }); // already gone at teardown
        await d.ok("table_remove_all");
        assert.deepEqual(await routes(ns, name), ["10.40.0.0/16 0"]);
        const v6 = await routes(ns, name, true);
        assert.ok(!v6.some((r) => r.startsWith("fd00:50::")), `routes ${v6}`);
        // Nothing left to remove: a second call is a no-op.
        await d.ok("table_remove_all");
      } finally {
        await d.stop();
      }
    }),
});
