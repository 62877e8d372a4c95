import assert from "node:assert/strict";
import { formatPrefix, parsePrefix } from "../net/ip.ts";
import { networkOf, type RoutePlan, routesFor } from "./routes.ts";

const p = (s: string) => parsePrefix(s, { keepHostBits: true });
const show = (plans: RoutePlan[]) =>
  plans.map((r) => [formatPrefix(r.prefix), r.table, r.skip ?? null]);

Deno.test("routesFor() installs one route per distinct allowed prefix, in main", () => {
  const plans = routesFor([p("10.0.0.2/32"), p("fd00::2/128"), p("10.0.0.2/32")], [
    p("10.0.0.1/24"),
  ]);
  assert.deepEqual(show(plans), [
    ["10.0.0.2/32", 254, null],
    ["fd00::2/128", 254, null],
  ]);
});

Deno.test("routesFor() skips the interface's own subnet, saying why", () => {
  const plans = routesFor([p("10.0.0.0/24"), p("192.168.7.0/24")], [p("10.0.0.1/24")]);
  assert.equal(plans.length, 2);
  assert.match(plans[0].skip!, /already routed by the interface address/);
  assert.equal(plans[1].skip, undefined);
});

Deno.test("routesFor() puts default routes in the full tunnel's table under Table = auto", () => {
  const allowed = [p("0.0.0.0/0"), p("::/0"), p("10.9.0.0/16"), p("0.0.0.0/0")];
  assert.deepEqual(show(routesFor(allowed, [], "auto", 51821)), [
    ["0.0.0.0/0", 51821, null],
    ["::/0", 51821, null],
    ["10.9.0.0/16", 254, null],
  ]);
  // Without a table for them, default routes would capture the tunnel's own packets.
  const none = routesFor(allowed, [], "auto", null);
  assert.match(none[0].skip!, /default route not installed/);
  assert.match(none[1].skip!, /default route not installed/);
  assert.equal(none[2].skip, undefined);
});

Deno.test("routesFor() installs nothing under Table = off and everything in table N", () => {
  const allowed = [p("0.0.0.0/0"), p("10.0.0.0/24"), p("fd00::/64")];
  const addresses = [p("10.0.0.1/24")];
  const off = routesFor(allowed, addresses, "off");
  assert.equal(off.length, 3);
  assert.ok(off.every((r) => r.skip === "not installed (Table = off)"));
  // In a table of its own the interface's subnet has no kernel route, so it is added too.
  assert.deepEqual(show(routesFor(allowed, addresses, 1234, 51820)), [
    ["0.0.0.0/0", 1234, null],
    ["10.0.0.0/24", 1234, null],
    ["fd00::/64", 1234, null],
  ]);
  assert.deepEqual(show(routesFor(allowed, addresses, 254)), [
    ["0.0.0.0/0", 254, null],
    ["10.0.0.0/24", 254, "already routed by the interface address"],
    ["fd00::/64", 254, null],
  ]);
});

Deno.test("networkOf() clears host bits at every prefix length", () => {
  assert.equal(formatPrefix(networkOf(p("10.1.2.3/24"))), "10.1.2.0/24");
  assert.equal(formatPrefix(networkOf(p("10.1.2.3/9"))), "10.0.0.0/9");
  assert.equal(formatPrefix(networkOf(p("fd00:1:2:3::9/64"))), "fd00:1:2:3::/64");
  assert.equal(formatPrefix(networkOf(p("10.1.2.3/32"))), "10.1.2.3/32");
});
