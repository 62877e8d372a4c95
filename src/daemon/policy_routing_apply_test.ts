import assert from "node:assert/strict";
import { describeRule } from "./policy_routing_apply.ts";
import { namespaceSupport, Netns } from "../testbed/netns.ts";
import { testOrSkip } from "../testing/skip.ts";

Deno.test("describeRule() reads like `ip rule`, priority first when known", () => {
  const rule = { family: 4 as const, invert: true, fwmark: 51820, table: 51820 };
  assert.equal(describeRule(rule), "not from all fwmark 0xca6c lookup 51820");
  assert.equal(
    describeRule({ ...rule, priority: 32765 }),
    "32765: not from all fwmark 0xca6c lookup 51820",
  );
});

const skip = await namespaceSupport();

// Runs inside the namespace (netlink and the route ioctls act on the caller's namespace). The
// plan's last rule repeats the one before it with the same priority, so the kernel refuses it
// half-way through, as a start that fails would.
const SCRIPT = `
import { InstalledRouting } from ${
  JSON.stringify(import.meta.resolve("./policy_routing_apply.ts"))
};
import { parsePrefix } from ${JSON.stringify(import.meta.resolve("../net/ip.ts"))};
const sh = async (...a) => new TextDecoder().decode((await new Deno.Command("ip", { args: a }).output()).stdout).trim();
const snapshot = async () => [await sh("-4", "rule"), await sh("-6", "rule"), await sh("route", "show", "table", "all"), await sh("-6", "route", "show", "table", "all")].join("\\n");
const out = { log: [] };
const routing = new InstalledRouting("pra", (l) => out.log.push(l));
const pinned = { family: 4, table: 100, fwmark: 7, priority: 100 };
const plan = (rules) => ({
  fwmark: 51820,
  fullTunnelTable: 51820,
  routes: [
    { prefix: parsePrefix("10.9.0.0/16"), table: 254 },
    { prefix: parsePrefix("10.8.0.0/24"), table: 254, skip: "already routed by the interface address" },
    { prefix: parsePrefix("0.0.0.0/0"), table: 51820 },
    { prefix: parsePrefix("::/0"), table: 51820 },
  ],
  rules,
  srcValidMark: false,
});
const before = await snapshot();
const rules = [
  { family: 4, invert: true, fwmark: 51820, table: 51820 },
  { family: 6, table: 254, suppressPrefixLength: 0 },
];
routing.install(plan(rules));
out.routes = routing.routes.map((r) => r.table);
out.rules = routing.rules.map((r) => r.priority);
out.during = await snapshot();
routing.removeAll();
out.cleanAfterStop = (await snapshot()) === before;
try {
  routing.install(plan([...rules, pinned, pinned]));
  out.failed = "no";
} catch (e) {
  out.failed = e.code;
}
out.partial = routing.rules.length;
routing.removeAll();
out.cleanAfterFailure = (await snapshot()) === before;
routing.removeAll(); // nothing left: a no-op
console.log(JSON.stringify(out));
`;

testOrSkip(import.meta, skip, {
  name:
    "InstalledRouting adds routes in main and other tables and rules, and removes exactly those",
  async fn() {
    const ns = await Netns.create("wpra");
    const dir = await Deno.makeTempDir();
    try {
      await ns.exec(["ip", "link", "add", "pra", "type", "veth", "peer", "name", "prb"]);
      await ns.exec(["ip", "addr", "add", "10.8.0.1/24", "dev", "pra"]);
      await ns.exec(["ip", "link", "set", "pra", "up"]);
      await Deno.writeTextFile(`${dir}/probe.ts`, SCRIPT);
      const r = await ns.exec([Deno.execPath(), "run", "-A", `${dir}/probe.ts`]);
      const out = JSON.parse(r.stdout);
      assert.deepEqual(out.routes, [254, 51820, 51820]);
      assert.deepEqual(out.rules, [32765, 32765]);
      assert.match(out.during, /10\.9\.0\.0\/16 dev pra/);
      assert.match(out.during, /default dev pra table 51820/);
      assert.match(out.during, /default dev pra table 51820 metric 1024/);
      assert.match(out.during, /32765:\s+not from all fwmark 0xca6c lookup 51820/);
      assert.match(out.during, /32765:\s+from all lookup main suppress_prefixlength 0/);
      assert.doesNotMatch(out.during, /10\.8\.0\.0\/24 dev pra proto boot/, "skipped route");
      assert.equal(out.cleanAfterStop, true);
      assert.equal(out.failed, "EEXIST");
      assert.equal(out.partial, 3, "three rules were in when the fourth was refused");
      assert.equal(out.cleanAfterFailure, true);
      assert.ok(out.log.includes("route 10.8.0.0/24: already routed by the interface address"));
      assert.ok(
        out.log.includes("rule added (IPv4): 32765: not from all fwmark 0xca6c lookup 51820"),
      );
    } finally {
      await ns.delete();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
