import assert from "node:assert/strict";
import { formatPrefix, parsePrefix } from "../net/ip.ts";
import { networkOf, routesFor } from "./routes.ts";

const p = (s: string) => parsePrefix(s, { keepHostBits: true });

Deno.test("routesFor() installs one route per distinct allowed prefix", () => {
  const plans = routesFor([p("10.0.0.2/32"), p("fd00::2/128"), p("10.0.0.2/32")], [
    p("10.0.0.1/24"),
  ]);
  assert.deepEqual(plans.map((r) => [formatPrefix(r.prefix), r.skip]), [
    ["10.0.0.2/32", undefined],
    ["fd00::2/128", undefined],
  ]);
});

Deno.test("routesFor() skips the interface's own subnet and default routes, saying why", () => {
  const plans = routesFor(
    [p("10.0.0.0/24"), p("0.0.0.0/0"), p("::/0"), p("192.168.7.0/24")],
    [p("10.0.0.1/24")],
  );
  assert.equal(plans.length, 4);
  assert.match(plans[0].skip!, /already routed by the interface address/);
  assert.match(plans[1].skip!, /default route not installed/);
  assert.match(plans[2].skip!, /default route not installed/);
  assert.equal(plans[3].skip, undefined);
});

Deno.test("networkOf() clears host bits at every prefix length", () => {
  assert.equal(formatPrefix(networkOf(p("10.1.2.3/24"))), "10.1.2.0/24");
  assert.equal(formatPrefix(networkOf(p("10.1.2.3/9"))), "10.0.0.0/9");
  assert.equal(formatPrefix(networkOf(p("fd00:1:2:3::9/64"))), "fd00:1:2:3::/64");
  assert.equal(formatPrefix(networkOf(p("10.1.2.3/32"))), "10.1.2.3/32");
});
