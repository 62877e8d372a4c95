import assert from "node:assert/strict";
import { fromHex, toHex } from "../src/bytes/hex.ts";
import {
  align4,
  decodeAttributes,
  decodeError,
  decodeMessages,
  decodeRoute,
  decodeRule,
  encodeMessage,
  encodeRouteDumpRequest,
  encodeRouteRequest,
  encodeRuleRequest,
  formatRule,
  NLM_F_ECHO,
  NLMSG_DONE,
  NLMSG_ERROR,
  RTM_DELROUTE,
  RTM_DELRULE,
  RTM_NEWROUTE,
  RTM_NEWRULE,
  tableName,
} from "./netlink_codec.ts";
import { needsRoot, run, withNetns } from "./testdata/netns.ts";
import { testOrSkip } from "../src/testing/skip.ts";

/** Bytes from a hex dump such as strace's `-e write=FD` (spaces and newlines ignored). */
function hex(s: string): Uint8Array {
  return fromHex(s.replace(/\s+/g, ""));
}

/** The spaced form of {@linkcode hex}'s input, so a failing assertion reads like the dump. */
function spacedHex(b: Uint8Array): string {
  return toHex(b).replace(/(..)(?!$)/g, "$1 ");
}

// Captured with `strace -e trace=sendmsg -e write=3 ip …` (iproute2 6.1, Linux 6.18), in a
// namespace where "va" is ifindex 3; every request carried sequence number 0x6b025587.
const SEQ = 0x6b025587;
const V4 = { ip: new Uint8Array(4), bits: 0 };
const V6 = { ip: new Uint8Array(16), bits: 0 };

Deno.test("encodeRouteRequest() sends what `ip route add 0.0.0.0/0 dev va table 51820` sends", () => {
  const want = hex(`34 00 00 00 18 00 05 06  87 55 02 6b 00 00 00 00
                    02 00 00 00 00 03 fd 01  00 00 00 00 08 00 01 00
                    00 00 00 00 08 00 0f 00  6c ca 00 00 08 00 04 00
                    03 00 00 00`);
  const got = encodeRouteRequest(RTM_NEWROUTE, { prefix: V4, ifname: "va", table: 51820 }, 3, SEQ);
  assert.equal(spacedHex(got), spacedHex(want));
});

Deno.test("encodeRouteRequest() sends what `ip -6 route add|del ::/0 dev va table 51820` sends", () => {
  const add = hex(`40 00 00 00 18 00 05 06  87 55 02 6b 00 00 00 00
                   0a 00 00 00 00 03 00 01  00 00 00 00 14 00 01 00
                   00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00
                   08 00 0f 00 6c ca 00 00  08 00 04 00 03 00 00 00`);
  const del = hex(`40 00 00 00 19 00 05 00  87 55 02 6b 00 00 00 00
                   0a 00 00 00 00 00 00 00  00 00 00 00 14 00 01 00
                   00 00 00 00 00 00 00 00  00 00 00 00 00 00 00 00
                   08 00 0f 00 6c ca 00 00  08 00 04 00 03 00 00 00`);
  const route = { prefix: V6, ifname: "va", table: 51820 };
  assert.equal(spacedHex(encodeRouteRequest(RTM_NEWROUTE, route, 3, SEQ)), spacedHex(add));
  assert.equal(spacedHex(encodeRouteRequest(RTM_DELROUTE, route, 3, SEQ)), spacedHex(del));
});

Deno.test("encodeRouteRequest() puts small tables in rtm_table, clears host bits, matches any scope on IPv4 delete", () => {
  const route = {
    prefix: { ip: new Uint8Array([10, 1, 2, 3]), bits: 16 },
    ifname: "x",
    table: 100,
  };
  const add = encodeRouteRequest(RTM_NEWROUTE, route, 7, 1);
  assert.equal(add.length, 16 + 12 + 8 + 8); // no RTA_TABLE
  assert.deepEqual([...add.subarray(16, 24)], [2, 16, 0, 0, 100, 3, 253, 1]);
  assert.deepEqual([...add.subarray(28, 36)], [8, 0, 1, 0, 10, 1, 0, 0]);
  const del = encodeRouteRequest(RTM_DELROUTE, route, 7, 1);
  assert.deepEqual([...del.subarray(16, 24)], [2, 16, 0, 0, 100, 0, 255, 0]);
  assert.equal(new DataView(del.buffer).getUint16(6, true), 0x5); // REQUEST | ACK
});

Deno.test("encodeRuleRequest() sends what `ip rule add not fwmark 51820 table 51820` sends", () => {
  const want = hex(`2c 00 00 00 20 00 05 06  87 55 02 6b 00 00 00 00
                    02 00 00 00 00 00 00 01  02 00 00 00 08 00 0a 00
                    6c ca 00 00 08 00 0f 00  6c ca 00 00`);
  const rule = { family: 4 as const, invert: true, fwmark: 51820, table: 51820 };
  assert.equal(spacedHex(encodeRuleRequest(RTM_NEWRULE, rule, SEQ)), spacedHex(want));
  // With echo, only the flags differ: the kernel then sends the new rule back.
  const echo = encodeRuleRequest(RTM_NEWRULE, rule, SEQ, { echo: true });
  assert.equal(new DataView(echo.buffer).getUint16(6, true), 0x605 | NLM_F_ECHO);
  assert.equal(spacedHex(echo.subarray(8)), spacedHex(want.subarray(8)));
});

Deno.test("encodeRuleRequest() sends what `ip -6 rule add table main suppress_prefixlength 0` sends", () => {
  const want = hex(`24 00 00 00 20 00 05 06  87 55 02 6b 00 00 00 00
                    0a 00 00 00 fe 00 00 01  00 00 00 00 08 00 0e 00
                    00 00 00 00`);
  const rule = { family: 6 as const, table: 254, suppressPrefixLength: 0 };
  assert.equal(spacedHex(encodeRuleRequest(RTM_NEWRULE, rule, SEQ)), spacedHex(want));
});

Deno.test("encodeRuleRequest() sends what `ip rule del priority 32765 not fwmark 51820 table 51820` sends", () => {
  const want = hex(`34 00 00 00 21 00 05 00  87 55 02 6b 00 00 00 00
                    02 00 00 00 00 00 00 00  02 00 00 00 08 00 06 00
                    fd 7f 00 00 08 00 0a 00  6c ca 00 00 08 00 0f 00
                    6c ca 00 00`);
  const rule = { family: 4 as const, invert: true, fwmark: 51820, table: 51820, priority: 32765 };
  assert.equal(spacedHex(encodeRuleRequest(RTM_DELRULE, rule, SEQ)), spacedHex(want));
});

Deno.test("encodeRouteDumpRequest() asks for every route", () => {
  assert.equal(
    spacedHex(encodeRouteDumpRequest(9)),
    "1c 00 00 00 1a 00 01 03 09 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00",
  );
});

Deno.test("encodeMessage() pads the fixed header and every attribute to 4 bytes", () => {
  const msg = encodeMessage(99, 1, 2, new Uint8Array([1, 2, 3]), [[7, new Uint8Array([5])]]);
  assert.equal(
    spacedHex(msg),
    "1c 00 00 00 63 00 01 00 02 00 00 00 00 00 00 00 01 02 03 00 05 00 07 00 05 00 00 00",
  );
  assert.deepEqual([0, 1, 4, 5, 8].map(align4), [0, 4, 4, 8, 8]);
});

Deno.test("The encoders reject tables, marks, families and prefixes out of range", () => {
  const route = (table: number, bits = 0) => ({ prefix: { ...V4, bits }, ifname: "x", table });
  assert.throws(() => encodeRouteRequest(RTM_NEWROUTE, route(0), 1, 1), /table 0: must be 1-/);
  assert.throws(() => encodeRouteRequest(RTM_NEWROUTE, route(2 ** 32), 1, 1), RangeError);
  assert.throws(() => encodeRouteRequest(RTM_NEWROUTE, route(5, 33), 1, 1), /prefix length 33/);
  const rule = (extra: object) => ({ family: 4 as const, table: 5, ...extra });
  assert.throws(() => encodeRuleRequest(RTM_NEWRULE, rule({ fwmark: -1 }), 1), /fwmark -1/);
  assert.throws(() => encodeRuleRequest(RTM_NEWRULE, rule({ priority: 1.5 }), 1), /priority/);
  assert.throws(
    () => encodeRuleRequest(RTM_NEWRULE, rule({ suppressPrefixLength: 33 }), 1),
    /suppress_prefixlength 33: must be 0-32/,
  );
  assert.throws(() => encodeRuleRequest(RTM_NEWRULE, rule({ family: 5 }), 1), /family 5/);
  assert.doesNotThrow(() =>
    encodeRuleRequest(RTM_NEWRULE, { family: 6, table: 5, suppressPrefixLength: 128 }, 1)
  );
});

// The kernel's answer to `ip -4 rule show` after `ip rule add not fwmark 51820 table 51820`
// (strace -e read=3): four RTM_NEWRULE parts and NLMSG_DONE in one datagram.
const RULE_DUMP = hex(`
  34 00 00 00 20 00 02 00  d7 55 02 6b 02 4b 00 00  02 00 00 00 ff 00 00 01  00 00 00 00 08 00 0f 00
  ff 00 00 00 08 00 0e 00  ff ff ff ff 05 00 15 00  02 00 00 00 4c 00 00 00  20 00 02 00 d7 55 02 6b
  02 4b 00 00 02 00 00 00  fc 00 00 01 02 00 00 00  08 00 0f 00 6c ca 00 00  08 00 0e 00 ff ff ff ff
  05 00 15 00 00 00 00 00  08 00 06 00 fd 7f 00 00  08 00 0a 00 6c ca 00 00  08 00 10 00 ff ff ff ff
  3c 00 00 00 20 00 02 00  d7 55 02 6b 02 4b 00 00  02 00 00 00 fe 00 00 01  00 00 00 00 08 00 0f 00
  fe 00 00 00 08 00 0e 00  ff ff ff ff 05 00 15 00  02 00 00 00 08 00 06 00  fe 7f 00 00 3c 00 00 00
  20 00 02 00 d7 55 02 6b  02 4b 00 00 02 00 00 00  fd 00 00 01 00 00 00 00  08 00 0f 00 fd 00 00 00
  08 00 0e 00 ff ff ff ff  05 00 15 00 02 00 00 00  08 00 06 00 ff 7f 00 00  14 00 00 00 03 00 02 00
  d7 55 02 6b 02 4b 00 00  00 00 00 00`);

Deno.test("decodeMessages() and decodeRule() read a real rule dump", () => {
  const msgs = decodeMessages(RULE_DUMP);
  assert.deepEqual(msgs.map((m) => m.type), [32, 32, 32, 32, NLMSG_DONE]);
  assert.ok(msgs.every((m) => m.seq === 0x6b0255d7 && m.pid === 0x4b02 && m.flags === 2));
  assert.equal(decodeError(msgs[4].body), 0);
  assert.deepEqual(msgs.slice(0, 4).map((m) => decodeRule(m.body)), [
    { family: 4, table: 255, priority: 0 },
    { family: 4, table: 51820, priority: 32765, fwmark: 51820, invert: true },
    { family: 4, table: 254, priority: 32766 },
    { family: 4, table: 253, priority: 32767 },
  ]);
  assert.equal(formatRule(decodeRule(msgs[1].body)), "not from all fwmark 0xca6c lookup 51820");
});

Deno.test("decodeRoute() reads a real route dump entry; decodeError() a real refusal", () => {
  // `ip -4 route show table 51820`: "default dev va scope link linkdown".
  const [route, done] = decodeMessages(hex(`
    2c 00 00 00 18 00 22 00  d7 55 02 6b 0c 4b 00 00  02 00 00 00 fc 03 fd 01  10 00 00 00 08 00 0f 00
    6c ca 00 00 08 00 04 00  03 00 00 00 14 00 00 00  03 00 22 00 d7 55 02 6b  0c 4b 00 00 00 00 00 00`));
  assert.deepEqual(decodeRoute(route.body), {
    family: 2,
    dstLen: 0,
    table: 51820,
    oif: 3,
    type: 1,
    dst: new Uint8Array(0),
  });
  assert.equal(done.type, NLMSG_DONE);
  // `ip rule del not fwmark 7 table 7` where there is no such rule: -ENOENT and the request.
  const [err] = decodeMessages(hex(`
    38 00 00 00 02 00 00 00  d7 55 02 6b 07 4b 00 00  fe ff ff ff 24 00 00 00  21 00 05 00 d7 55 02 6b
    00 00 00 00 02 00 00 00  07 00 00 00 02 00 00 00  08 00 0a 00 07 00 00 00`));
  assert.equal(err.type, NLMSG_ERROR);
  assert.equal(decodeError(err.body), -2);
});

Deno.test("The decoders reject truncated messages and skip truncated attributes", () => {
  const bad = new Uint8Array(20);
  new DataView(bad.buffer).setUint32(0, 24, true);
  assert.throws(() => decodeMessages(bad), /length 24 outside 16-20/);
  new DataView(bad.buffer).setUint32(0, 8, true);
  assert.throws(() => decodeMessages(bad), /length 8/);
  assert.deepEqual(decodeMessages(new Uint8Array(10)), []);
  assert.throws(() => decodeError(new Uint8Array(2)), RangeError);
  assert.throws(() => decodeRoute(new Uint8Array(11)), RangeError);
  assert.throws(() => decodeRule(new Uint8Array(4)), RangeError);
  // One whole attribute, then one whose length runs past the end.
  const body = hex("08 00 0f 00 05 00 00 00 0c 00 04 00 01 00");
  const attrs = decodeAttributes(body, 0);
  assert.deepEqual([...attrs.keys()], [15]);
});

Deno.test("formatRule() and tableName() use ip's words", () => {
  assert.equal(
    formatRule({ family: 6, table: 254, suppressPrefixLength: 0 }),
    "from all lookup main suppress_prefixlength 0",
  );
  assert.deepEqual([253, 254, 255, 100].map(tableName), ["default", "main", "local", "100"]);
});

const skipReason = needsRoot();

// Runs in the namespace (a netlink socket works on the namespace of the process that opens it)
// and reports what happened as JSON, including what `ip` saw between the steps.
const SCRIPT = `
import { RtNetlink } from ${JSON.stringify(new URL("./netlink.ts", import.meta.url).href)};
const ip = async (...a) => {
  const o = await new Deno.Command("ip", { args: ["-j", ...a] }).output();
  const t = new TextDecoder().decode(o.stdout).trim();
  return t ? JSON.parse(t) : [];
};
const attempt = (f) => { try { f(); return "ok"; } catch (e) { return e.code + ": " + e.message; } };
const out = {};
using nl = RtNetlink.open();
const v4 = { prefix: { ip: new Uint8Array(4), bits: 0 }, ifname: "nla", table: 51820 };
const v6 = { prefix: { ip: new Uint8Array(16), bits: 0 }, ifname: "nla", table: 51820 };
const small = { prefix: { ip: new Uint8Array([10, 9, 0, 0]), bits: 16 }, ifname: "nla", table: 100 };
const mark = { family: 4, invert: true, fwmark: 51820, table: 51820 };
const suppress = { family: 6, table: 254, suppressPrefixLength: 0 };
out.before = nl.tablesInUse().has(51820);
nl.addRoute(v4); nl.addRoute(v6); nl.addRoute(small);
out.markPref = nl.addRule(mark);
out.suppressPref = nl.addRule(suppress);
out.explicitPref = nl.addRule({ family: 4, table: 100, priority: 1234 });
out.tables = [...nl.tablesInUse()].filter((t) => t === 51820 || t === 100).sort();
out.dup = attempt(() => nl.addRoute(v4));
out.nodev = attempt(() => nl.addRoute({ ...v4, ifname: "nosuch" }));
out.routes4 = await ip("-4", "route", "show", "table", "51820");
out.routes6 = await ip("-6", "route", "show", "table", "51820");
out.routes100 = await ip("-4", "route", "show", "table", "100");
out.rules4 = await ip("-4", "rule");
out.rules6 = await ip("-6", "rule");
nl.deleteRule({ ...mark, priority: out.markPref });
nl.deleteRule({ ...suppress, priority: out.suppressPref });
nl.deleteRule({ family: 4, table: 100, priority: 1234 });
nl.deleteRoute(v4); nl.deleteRoute(v6); nl.deleteRoute(small);
out.delAgain = attempt(() => nl.deleteRoute(v4));
out.ruleAgain = attempt(() => nl.deleteRule(mark));
out.after = [await ip("-4", "rule"), await ip("-6", "rule"), await ip("route", "show", "table", "all")];
console.log(JSON.stringify(out));
`;

testOrSkip(import.meta, skipReason, {
  name: "RtNetlink adds and deletes routes in tables and rules, as ip shows them",
  fn: () =>
    withNetns(async (ns) => {
      const sh = async (...cmd: string[]) => {
        const r = await run(["ip", "netns", "exec", ns, ...cmd]);
        assert.equal(r.code, 0, r.stderr);
        return r.stdout;
      };
      await sh("ip", "link", "add", "nla", "type", "veth", "peer", "name", "nlb");
      await sh("ip", "link", "set", "nla", "up");
      const dir = await Deno.makeTempDir();
      try {
        await Deno.writeTextFile(`${dir}/probe.ts`, SCRIPT);
        const out = JSON.parse(await sh(Deno.execPath(), "run", "-A", `${dir}/probe.ts`));
        assert.equal(out.before, false);
        assert.equal(out.markPref, 32765);
        assert.equal(out.suppressPref, 32765); // the IPv6 list had only the defaults
        assert.equal(out.explicitPref, 1234);
        assert.deepEqual(out.tables, [100, 51820]);
        assert.match(
          out.dup,
          /^EEXIST: Cannot add route 0\.0\.0\.0\/0 dev nla table 51820: netlink RTM_NEWROUTE failed with EEXIST \(file exists\); the route already exists$/,
        );
        assert.match(out.nodev, /^ENODEV: .*if_nametoindex failed with ENODEV/);
        assert.deepEqual(
          out.routes4.map((r: { dst: string; dev: string; scope: string }) => [
            r.dst,
            r.dev,
            r.scope,
          ]),
          [["default", "nla", "link"]],
        );
        assert.deepEqual(
          out.routes6.map((r: { dst: string; metric: number }) => [r.dst, r.metric]),
          [["default", 1024]],
        );
        assert.deepEqual(out.routes100.map((r: { dst: string }) => r.dst), ["10.9.0.0/16"]);
        const rules = (list: Record<string, unknown>[]) =>
          list.map((r) =>
            [
              r.priority,
              "not" in r ? "not" : "",
              r.fwmark ?? "",
              r.table,
              r.suppress_prefixlen ?? "",
            ]
              .join(" ")
          );
        assert.deepEqual(rules(out.rules4), [
          "0   local ",
          "1234   100 ",
          "32765 not 0xca6c 51820 ",
          "32766   main ",
          "32767   default ",
        ]);
        assert.deepEqual(rules(out.rules6), [
          "0   local ",
          "32765   main 0",
          "32766   main ",
        ]);
        assert.match(out.delAgain, /^ESRCH: .*; no such route$/);
        assert.match(
          out.ruleAgain,
          /^ENOENT: Cannot delete rule "not from all fwmark 0xca6c lookup 51820" \(IPv4\): .*no such rule$/,
        );
        const [rules4, rules6, all] = out.after;
        assert.deepEqual(rules(rules4), ["0   local ", "32766   main ", "32767   default "]);
        assert.deepEqual(rules(rules6), ["0   local ", "32766   main "]);
        assert.ok(
          !all.some((r: { table?: string }) => r.table === "51820" || r.table === "100"),
          JSON.stringify(all),
        );
      } finally {
        await Deno.remove(dir, { recursive: true });
      }
    }),
});

Deno.test("encodeRuleRequest() carries tailscaled's mark mask and the unreachable action; decodeRule() reads them back", () => {
  const masked = {
    family: 4 as const,
    fwmark: 0x80000,
    fwmask: 0xff0000,
    table: 254,
    priority: 5210,
  };
  const msg = encodeRuleRequest(RTM_NEWRULE, masked, 1);
  const body = msg.subarray(16);
  assert.deepEqual(decodeRule(body), masked);
  assert.equal(formatRule(masked), "from all fwmark 0x80000/0xff0000 lookup main");
  const unreachable = {
    family: 6 as const,
    fwmark: 0x80000,
    fwmask: 0xff0000,
    table: 0,
    unreachable: true,
    priority: 5250,
  };
  const u = decodeRule(encodeRuleRequest(RTM_NEWRULE, unreachable, 2).subarray(16));
  assert.equal(u.unreachable, true);
  assert.equal(u.table, 0);
  assert.equal(formatRule(unreachable), "from all fwmark 0x80000/0xff0000 unreachable");
  assert.throws(() => encodeRuleRequest(RTM_NEWRULE, { family: 4, table: 0 }, 3), RangeError);
});

Deno.test("encodeRouteRequest() makes a throw route: type throw, no interface", () => {
  const prefix = { ip: new Uint8Array([192, 168, 7, 0]), bits: 24 };
  const msg = encodeRouteRequest(
    RTM_NEWROUTE,
    { prefix, ifname: "", table: 52, kind: "throw" },
    0,
    1,
  );
  const r = decodeRoute(msg.subarray(16));
  assert.equal(r.type, 9);
  assert.equal(r.oif, 0, "no RTA_OIF");
  assert.equal(r.table, 52);
  assert.deepEqual([...r.dst], [192, 168, 7, 0]);
  const dev = decodeRoute(
    encodeRouteRequest(RTM_NEWROUTE, { prefix, ifname: "x", table: 52 }, 7, 2).subarray(16),
  );
  assert.deepEqual([dev.type, dev.oif], [1, 7]);
});
