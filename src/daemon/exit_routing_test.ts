import assert from "node:assert/strict";
import { describeRule } from "./policy_routing_apply.ts";
import { exitRules, lanPrefixes, planExitRouting } from "./exit_routing.ts";
import { formatPrefix, parsePrefix } from "../net/ip.ts";
import { namespaceSupport, Netns } from "../testbed/netns.ts";
import { testOrSkip } from "../testing/skip.ts";

Deno.test("exitRules() are tailscaled's four rules, bypass mark under its mask", () => {
  assert.deepEqual(exitRules(4).map(describeRule), [
    "5210: from all fwmark 0x80000/0xff0000 lookup main",
    "5230: from all fwmark 0x80000/0xff0000 lookup default",
    "5250: from all fwmark 0x80000/0xff0000 unreachable",
    "5270: from all lookup 52",
  ]);
});

Deno.test("planExitRouting() puts both default routes and the LAN throws in table 52", () => {
  const plan = planExitRouting([parsePrefix("192.168.7.0/24")]);
  assert.deepEqual(
    plan.routes.map((r) => `${r.kind ?? "dev"} ${formatPrefix(r.prefix)} ${r.table}`),
    ["dev 0.0.0.0/0 52", "dev ::/0 52", "throw 192.168.7.0/24 52"],
  );
  assert.equal(plan.rules.length, 8);
  assert.equal(plan.srcValidMark, false);
});

Deno.test("lanPrefixes() keeps the host's networks, not the TUN, loopback or tailnet", () => {
  const nic = (name: string, address: string, cidr: string) =>
    ({ name, address, cidr, family: address.includes(":") ? "IPv6" : "IPv4" }) as never;
  const got = lanPrefixes([
    nic("eth0", "192.168.7.5", "192.168.7.5/24"),
    nic("eth1", "192.168.7.6", "192.168.7.6/24"),
    nic("eth0", "fd00:7::5", "fd00:7::5/64"),
    nic("lo", "127.0.0.1", "127.0.0.1/8"),
    nic("warren0", "100.64.0.2", "100.64.0.2/32"),
    nic("eth2", "100.64.0.9", "100.64.0.9/10"),
  ], "warren0");
  assert.deepEqual(got.map(formatPrefix), ["192.168.7.0/24", "fd00:7::/64"]);
});

const skip = await namespaceSupport();

// Runs inside the namespace: netlink acts on the caller's namespace.
const SCRIPT = `
import { ExitRouting, cleanStaleExitRouting } from ${
  JSON.stringify(import.meta.resolve("./exit_routing.ts"))
};
import { parsePrefix } from ${JSON.stringify(import.meta.resolve("../net/ip.ts"))};
const sh = async (...a) => new TextDecoder().decode((await new Deno.Command("ip", { args: a }).output()).stdout).trim();
const snapshot = async () => [await sh("-4", "rule"), await sh("-6", "rule"), await sh("route", "show", "table", "52"), await sh("-6", "route", "show", "table", "52")].join("\\n");
const out = { log: [] };
const log = (l) => out.log.push(l);
const before = await snapshot();
const r = new ExitRouting("era", log);
r.set({ active: true, lan: [parsePrefix("10.8.0.0/24")] });
out.during = await snapshot();
r.set({ active: true, lan: [] });
out.noLan = await snapshot();
r.set({ active: false, lan: [] });
out.cleanAfterOff = (await snapshot()) === before;
// What a SIGKILL leaves: rules and a throw route (the device routes die with the TUN).
const k = new ExitRouting("era", log);
k.set({ active: true, lan: [parsePrefix("10.8.0.0/24"), parsePrefix("fd00:8::/64")] });
await sh("link", "del", "era");
out.afterKill = await snapshot();
out.removed = cleanStaleExitRouting(log);
out.cleanAfterRestart = (await snapshot()) === before;
out.again = cleanStaleExitRouting(log);
console.log(JSON.stringify(out));
`;

testOrSkip(import.meta, skip, {
  name: "ExitRouting installs table 52 and the rules, and a later start clears a killed one's",
  async fn() {
    const ns = await Netns.create("wera");
    const dir = await Deno.makeTempDir();
    try {
      await ns.exec(["ip", "link", "add", "era", "type", "veth", "peer", "name", "erb"]);
      await ns.exec(["ip", "addr", "add", "10.8.0.1/24", "dev", "era"]);
      await ns.exec(["ip", "link", "set", "era", "up"]);
      await ns.exec(["ip", "link", "set", "erb", "up"]);
      await Deno.writeTextFile(`${dir}/probe.ts`, SCRIPT);
      const r = await ns.exec([Deno.execPath(), "run", "-A", `${dir}/probe.ts`]);
      const out = JSON.parse(r.stdout);
      assert.match(out.during, /5210:\s+from all fwmark 0x80000\/0xff0000 lookup main/);
      assert.match(out.during, /5230:\s+from all fwmark 0x80000\/0xff0000 lookup default/);
      assert.match(out.during, /5250:\s+from all fwmark 0x80000\/0xff0000 unreachable/);
      assert.match(out.during, /5270:\s+from all lookup 52/);
      for (const p of ["5210", "5230", "5250", "5270"]) {
        assert.equal(out.during.match(new RegExp(`${p}:`, "g"))?.length, 2, `${p}: one per family`);
      }
      assert.match(out.during, /default dev era/);
      assert.match(out.during, /throw 10\.8\.0\.0\/24/);
      assert.doesNotMatch(out.noLan, /throw/);
      assert.equal(out.cleanAfterOff, true);
      assert.match(out.afterKill, /5270:/);
      assert.match(out.afterKill, /throw 10\.8\.0\.0\/24/);
      assert.match(out.afterKill, /throw fd00:8::\/64/);
      assert.equal(out.removed, 10, "eight rules and the two throw routes");
      assert.equal(out.cleanAfterRestart, true);
      assert.equal(out.again, 0);
    } finally {
      await ns.delete();
      await Deno.remove(dir, { recursive: true });
    }
  },
});
