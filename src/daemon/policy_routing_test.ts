import assert from "node:assert/strict";
import { formatRule } from "../../ffi/netlink_codec.ts";
import { formatPrefix, parsePrefix } from "../net/ip.ts";
import type { WgTable } from "../wireguard/wg_quick.ts";
import { planRouting, type RoutingPlan } from "./policy_routing.ts";

const p = (s: string) => parsePrefix(s, { keepHostBits: true });

/** Plans from text prefixes; records which tables the planner asked about. */
function plan(
  allowed: string[],
  opts: { table?: WgTable; fwmark?: number; used?: number[]; addresses?: string[] } = {},
) {
  const asked: number[] = [];
  const used = new Set(opts.used ?? []);
  const result = planRouting({
    allowed: allowed.map(p),
    addresses: (opts.addresses ?? ["10.8.0.2/24"]).map(p),
    table: opts.table ?? "auto",
    fwmark: opts.fwmark ?? 0,
    tableInUse: (t) => {
      asked.push(t);
      return used.has(t);
    },
  });
  return { ...result, asked };
}

const routes = (r: RoutingPlan) =>
  r.routes.map((x) => `${formatPrefix(x.prefix)} ${x.table}${x.skip ? " skip" : ""}`);
const rules = (r: RoutingPlan) => r.rules.map((x) => `${x.family} ${formatRule(x)}`);

Deno.test("planRouting() leaves routing alone for a tunnel without a default route", () => {
  const r = plan(["10.8.0.0/24", "10.9.0.0/16", "fd00:9::/48"]);
  assert.equal(r.fwmark, 0);
  assert.equal(r.fullTunnelTable, null);
  assert.deepEqual(rules(r), []);
  assert.equal(r.srcValidMark, false);
  assert.deepEqual(r.asked, [], "no need to look at the kernel's tables");
  assert.deepEqual(routes(r), ["10.8.0.0/24 254 skip", "10.9.0.0/16 254", "fd00:9::/48 254"]);
});

Deno.test("planRouting() gives an IPv4 full tunnel table 51820, its mark and wg-quick's two rules", () => {
  const r = plan(["0.0.0.0/0", "10.9.0.0/16"]);
  assert.equal(r.fwmark, 51820);
  assert.equal(r.fullTunnelTable, 51820);
  assert.deepEqual(routes(r), ["0.0.0.0/0 51820", "10.9.0.0/16 254"]);
  assert.deepEqual(rules(r), [
    "4 not from all fwmark 0xca6c lookup 51820",
    "4 from all lookup main suppress_prefixlength 0",
  ]);
  assert.equal(r.srcValidMark, true);
});

Deno.test("planRouting() handles a dual-stack full tunnel with one table and one mark", () => {
  const r = plan(["0.0.0.0/0", "::/0"]);
  assert.equal(r.fwmark, 51820);
  assert.deepEqual(routes(r), ["0.0.0.0/0 51820", "::/0 51820"]);
  assert.deepEqual(rules(r), [
    "4 not from all fwmark 0xca6c lookup 51820",
    "4 from all lookup main suppress_prefixlength 0",
    "6 not from all fwmark 0xca6c lookup 51820",
    "6 from all lookup main suppress_prefixlength 0",
  ]);
  assert.equal(r.srcValidMark, true);
});

Deno.test("planRouting() gives an IPv6-only full tunnel IPv6 rules and no IPv4 sysctl", () => {
  const r = plan(["::/0", "10.9.0.0/16"]);
  assert.deepEqual(rules(r).map((x) => x[0]), ["6", "6"]);
  assert.deepEqual(routes(r), ["::/0 51820", "10.9.0.0/16 254"]);
  assert.equal(r.srcValidMark, false);
});

Deno.test("planRouting() takes the first table from 51820 up that holds no routes", () => {
  const r = plan(["0.0.0.0/0"], { used: [51820, 51821, 51823] });
  assert.deepEqual(r.asked, [51820, 51821, 51822]);
  assert.equal(r.fullTunnelTable, 51822);
  assert.equal(r.fwmark, 51822);
  assert.deepEqual(routes(r), ["0.0.0.0/0 51822"]);
  assert.equal(rules(r)[0], "4 not from all fwmark 0xca6e lookup 51822");
});

Deno.test("planRouting() uses an explicit FwMark as the full tunnel's table, as wg-quick does", () => {
  const r = plan(["0.0.0.0/0"], { fwmark: 0x1234, used: [0x1234] });
  assert.deepEqual(r.asked, [], "the mark names the table, in use or not");
  assert.equal(r.fwmark, 0x1234);
  assert.equal(r.fullTunnelTable, 0x1234);
  assert.deepEqual(rules(r), [
    "4 not from all fwmark 0x1234 lookup 4660",
    "4 from all lookup main suppress_prefixlength 0",
  ]);
});

Deno.test("planRouting() under Table = off installs nothing but still marks the socket", () => {
  const r = plan(["0.0.0.0/0", "10.9.0.0/16"], { table: "off", fwmark: 7 });
  assert.equal(r.fwmark, 7);
  assert.equal(r.fullTunnelTable, null);
  assert.deepEqual(routes(r), ["0.0.0.0/0 254 skip", "10.9.0.0/16 254 skip"]);
  assert.deepEqual(rules(r), []);
  assert.equal(r.srcValidMark, false);
  assert.equal(plan(["0.0.0.0/0"], { table: "off" }).fwmark, 0);
});

Deno.test("planRouting() under Table = N puts every route in N without rules or a default mark", () => {
  const r = plan(["0.0.0.0/0", "::/0", "10.8.0.0/24"], { table: 200 });
  assert.equal(r.fwmark, 0);
  assert.deepEqual(routes(r), ["0.0.0.0/0 200", "::/0 200", "10.8.0.0/24 200"]);
  assert.deepEqual(rules(r), []);
  assert.equal(r.srcValidMark, false);
  assert.equal(plan(["0.0.0.0/0"], { table: 200, fwmark: 9 }).fwmark, 9);
});
