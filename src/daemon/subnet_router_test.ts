import assert from "node:assert/strict";
import { formatPrefix, parseIp, parsePrefix, prefixContains } from "../net/ip.ts";
import { parseAdvertiseRoutes } from "../net/advertise_routes.ts";
import type { ForwardingConfig } from "../../ffi/nftables.ts";
import type { Node } from "../netmap/tailcfg.ts";
import {
  approvedRoutes,
  forwardingWarning,
  nftTableFor,
  removeStaleRouterTable,
  startSubnetRouter,
  SubnetRouter,
  subtractPrefixes,
} from "./subnet_router.ts";

const P = (s: string) => parsePrefix(s);
const texts = (ps: { ip: Uint8Array; bits: number }[]) => ps.map(formatPrefix);

function nic(name: string, address: string, cidr: string): Deno.NetworkInterfaceInfo {
  return {
    name,
    address,
    cidr,
    family: address.includes(":") ? "IPv6" : "IPv4",
    netmask: "",
    scopeid: null,
    mac: "",
  };
}

function fakeRouter(
  advertise: string,
  exit: boolean,
  snat: boolean,
  sysctl: Record<string, string>,
) {
  const calls: string[] = [];
  const installed: ForwardingConfig[] = [];
  const lines: string[] = [];
  const r = new SubnetRouter({
    advertised: parseAdvertiseRoutes(advertise, exit),
    snat,
    tun: "warren0",
    log: (l) => lines.push(l),
    ports: {
      install: (c) => {
        installed.push(c);
        calls.push("install");
      },
      remove: (t) => {
        calls.push(`remove ${t}`);
        return true;
      },
      readSysctl: (p) => sysctl[p] ?? null,
      interfaces: () => [
        nic("lo", "127.0.0.1", "127.0.0.1/8"),
        nic("eth0", "10.99.0.1", "10.99.0.1/24"),
        nic("warren0", "100.64.0.1", "100.64.0.1/32"),
      ],
    },
  });
  return { r, calls, installed, lines };
}

const FORWARDING_ON = {
  "/proc/sys/net/ipv4/ip_forward": "1\n",
  "/proc/sys/net/ipv6/conf/all/forwarding": "1\n",
};

Deno.test("router: SNAT installs warren's table with both masquerades; stop removes it", () => {
  const { r, calls, installed, lines } = fakeRouter("10.99.0.0/24", false, true, FORWARDING_ON);
  r.start();
  assert.equal(installed.length, 1);
  assert.equal(installed[0].table, "warren-warren0", "a table of the interface's own");
  assert.equal(installed[0].tun, "warren0");
  assert.equal(formatPrefix(installed[0].snatV4!), "100.64.0.0/10");
  assert.equal(formatPrefix(installed[0].snatV6!), "fd7a:115c:a1e0::/48");
  assert.equal(r.status(null).nftables, true);
  assert.equal(r.status(null).forwardingWarning, null);
  assert.ok(!lines.some((l) => /forwarding is disabled/.test(l)));
  r.close();
  r.close();
  assert.deepEqual(calls, ["install", `remove ${nftTableFor("warren0")}`]);
  assert.equal(r.status(null).nftables, false);
});

Deno.test("router: --snat-subnet-routes=false forwards without masquerade; nothing advertised, no table", () => {
  const { r, installed } = fakeRouter("10.99.0.0/24", false, false, FORWARDING_ON);
  r.start();
  assert.equal(installed[0].snatV4, undefined);
  assert.equal(installed[0].snatV6, undefined);
  const idle = fakeRouter("", false, true, FORWARDING_ON);
  idle.r.start();
  idle.r.close();
  assert.deepEqual(idle.calls, []);
});

Deno.test("router: IP forwarding off is one warning line naming the sysctl, also in status", () => {
  const sysctl = { "/proc/sys/net/ipv4/ip_forward": "0\n" };
  const { r, lines } = fakeRouter("10.99.0.0/24", false, true, sysctl);
  r.start();
  const warn = lines.filter((l) => /forwarding is disabled/.test(l));
  assert.equal(warn.length, 1);
  assert.ok(!warn[0].includes("\n"));
  assert.match(warn[0], /^IP forwarding is disabled, subnet routing\/exit nodes will not work/);
  assert.match(warn[0], /net\.ipv4\.ip_forward=1/);
  assert.equal(r.status(null).forwardingWarning, warn[0]);
  sysctl["/proc/sys/net/ipv4/ip_forward"] = "1\n"; // the user followed the advice
  assert.equal(r.status(null).forwardingWarning, null);
});

Deno.test("forwardingWarning: only the families advertised matter", () => {
  const v4off = { "/proc/sys/net/ipv6/conf/all/forwarding": "1" };
  const v6off = { "/proc/sys/net/ipv4/ip_forward": "1" };
  const read = (m: Record<string, string>) => (p: string) => m[p] ?? null;
  assert.equal(forwardingWarning([P("fd00::/64")], read(v4off)), null);
  assert.match(
    forwardingWarning([P("fd00::/64")], read(v6off))!,
    /^IPv6 forwarding is disabled.*net\.ipv6\.conf\.all\.forwarding=1/,
  );
  assert.equal(forwardingWarning([P("10.0.0.0/24")], read(v6off)), null);
  assert.match(
    forwardingWarning(parseAdvertiseRoutes("", true), read({}))!,
    /net\.ipv4\.ip_forward=1 and net\.ipv6\.conf\.all\.forwarding=1/,
  );
});

Deno.test("router: the filter takes advertised subnets; an exit route minus the host's networks", () => {
  const sub = fakeRouter("10.99.0.0/24,fd00::/64", false, true, FORWARDING_ON);
  assert.deepEqual(texts(sub.r.localNets()), ["10.99.0.0/24", "fd00::/64"]);
  const exit = fakeRouter("", true, true, FORWARDING_ON);
  const nets = exit.r.localNets();
  const v4 = nets.filter((p) => p.ip.length === 4);
  // Everything but 10.99.0.0/24 (eth0's network; its own address is inside it).
  assert.equal(v4.length, 24);
  assert.ok(!texts(v4).some((t) => t.startsWith("10.99.0.")));
  assert.ok(texts(v4).includes("0.0.0.0/5"));
  assert.ok(texts(v4).includes("10.99.1.0/24"));
  // Loopback and the TUN are not carved out (tailscaled's interfaceRoutes skips them too).
  const covers = (ip: string) => v4.some((p) => prefixContains(p, parseIp(ip)));
  assert.ok(covers("100.64.0.1") && covers("127.0.0.1") && covers("8.8.8.8"));
  assert.ok(!covers("10.99.0.1") && !covers("10.99.0.2"));
  assert.deepEqual(texts(nets.filter((p) => p.ip.length === 16)), ["::/0"]);
});

Deno.test("subtractPrefixes: the fewest prefixes that cover the rest", () => {
  assert.deepEqual(texts(subtractPrefixes(P("10.0.0.0/30"), [P("10.0.0.0/31")])), ["10.0.0.2/31"]);
  assert.deepEqual(texts(subtractPrefixes(P("10.0.0.0/30"), [P("10.0.0.0/8")])), []);
  assert.deepEqual(texts(subtractPrefixes(P("10.0.0.0/30"), [P("11.0.0.0/8")])), ["10.0.0.0/30"]);
  assert.deepEqual(
    texts(subtractPrefixes(P("0.0.0.0/1"), [P("64.0.0.0/2"), P("0.0.0.0/2")])),
    [],
  );
});

Deno.test("approvedRoutes: what the self node's AllowedIPs or PrimaryRoutes grant", () => {
  // ts-a's node as Headscale 0.28 builds it after approve-routes (fixtures/headscale-0.28-routes).
  const self = {
    AllowedIPs: ["0.0.0.0/0", "10.98.8.0/24", "100.64.0.1/32", "::/0", "fd7a:115c:a1e0::1/128"],
    PrimaryRoutes: ["10.98.8.0/24"],
  } as Node;
  const adv = ["0.0.0.0/0", "10.98.8.0/24", "::/0", "10.1.0.0/16"];
  assert.deepEqual(approvedRoutes(adv, self), ["0.0.0.0/0", "10.98.8.0/24", "::/0"]);
  assert.deepEqual(
    approvedRoutes(adv, { AllowedIPs: ["100.64.0.1/32"] } as Node),
    [],
  );
  assert.deepEqual(approvedRoutes(adv, null), []);
});

Deno.test("a node that advertises nothing removes the table a killed run on its interface left", () => {
  const lines: string[] = [];
  const tables = new Set(["warren-ts-corp", "warren-ts-lab"]);
  const remove = (t: string) => tables.delete(t);
  assert.equal(removeStaleRouterTable("ts-corp", (l) => lines.push(l), remove), true);
  assert.deepEqual([...tables], ["warren-ts-lab"], "another interface's table is left alone");
  assert.match(lines[0], /removed nftables table inet warren-ts-corp a previous run left/);
  assert.equal(removeStaleRouterTable("ts-corp", (l) => lines.push(l), remove), false);
  const failing = () => {
    throw new Error("EPERM");
  };
  assert.equal(removeStaleRouterTable("ts-x", (l) => lines.push(l), failing), false);
  assert.equal(lines.length, 1);
});

Deno.test("router: in userspace mode nothing is installed and the netstack takes the routes less the tailnet and loopback", () => {
  const lines: string[] = [];
  const set: string[][] = [];
  const r = startSubnetRouter({
    advertised: parseAdvertiseRoutes("10.99.0.0/24,100.64.0.0/24", true),
    snat: false,
    tun: "userspace-networking",
    kernel: false,
    netstack: { setRoutes: (p) => set.push(texts(p)) },
    log: (l) => lines.push(l),
    ports: {
      install: () => assert.fail("no nftables in userspace mode"),
      readSysctl: () => "0\n", // forwarding off: no warning, nothing is forwarded by the kernel
      interfaces: () => [nic("eth0", "10.98.0.1", "10.98.0.1/24")],
    },
  })!;
  assert.equal(set.length, 2, "cleared first, then set");
  const routes = set[1].map(P);
  const covers = (ip: string) => routes.some((p) => prefixContains(p, parseIp(ip)));
  assert.ok(covers("10.99.0.7") && covers("8.8.8.8") && covers("2001:db8::1"));
  for (const ip of ["100.64.0.5", "100.100.100.100", "127.0.0.1", "::1", "fd7a:115c:a1e0::9"]) {
    assert.ok(!covers(ip), `${ip} is not routed`);
  }
  assert.ok(!covers("10.98.0.5"), "the host's own network is not an exit destination");
  const st = r.status(null);
  assert.deepEqual([st.userspace, st.nftables, st.forwardingWarning], [true, false, null]);
  assert.match(lines.join("\n"), /served in userspace.*--snat-subnet-routes=false has no effect/);
  assert.equal(
    startSubnetRouter({
      ...routerBase,
      kernel: false,
      netstack: { setRoutes: (p) => set.push(texts(p)) },
    }),
    null,
  );
  assert.deepEqual(set.at(-1), [], "advertising nothing clears the netstack's routes");
});

const routerBase = { advertised: [], snat: true, tun: "userspace-networking", log: () => {} };
