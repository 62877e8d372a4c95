import assert from "node:assert/strict";
import { formatPrefix, type IpPrefix, parseIp, parsePrefix, prefixContains } from "../net/ip.ts";
import {
  buildIcmpPacket,
  buildTcpPacket,
  buildUdpPacket,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  TCP_ACK,
  TCP_FIN,
  TCP_RST,
  TCP_SYN,
} from "../net/packet.ts";
import { applyMapResponse } from "../netmap/apply_map_response.ts";
import type { NetworkMap } from "../netmap/network_map.ts";
import type { FilterRule, MapResponse } from "../netmap/tailcfg.ts";
import { PacketFilter } from "./filter.ts";
import { FlowTable } from "./flow_table.ts";
import { parseIpSetEntry, rangeToPrefixes } from "./ip_set.ts";
import { compileFilterRules } from "./rules.ts";

const FIXTURES = new URL("../netmap/testdata/headscale-0.28-mapresponses/", import.meta.url);
const ip = parseIp;
const SELF4 = "100.64.0.1";
const SELF6 = "fd7a:115c:a1e0::1";
const LOCAL = [`${SELF4}/32`, `${SELF6}/128`];

const tcp = (s: string, d: string, dport: number, flags = TCP_SYN, sport = 40000) =>
  buildTcpPacket({ src: ip(s), dst: ip(d), srcPort: sport, dstPort: dport, flags });
const udp = (s: string, d: string, sport: number, dport: number) =>
  buildUdpPacket({
    src: ip(s),
    dst: ip(d),
    srcPort: sport,
    dstPort: dport,
    payload: new Uint8Array(4),
  });
const icmp = (s: string, d: string, type: number, code = 0) =>
  buildIcmpPacket({ src: ip(s), dst: ip(d), type, code });
const rule = (src: string[], dst: [string, number, number][], proto?: number[]): FilterRule => ({
  SrcIPs: src,
  DstPorts: dst.map(([IP, First, Last]) => ({ IP, Ports: { First, Last } })),
  ...(proto ? { IPProto: proto } : {}),
});

Deno.test("Headscale's allow-all PacketFilters let every tailnet packet in", () => {
  for (const dir of ["node1", "node2"]) {
    // Replayed in order through the netmap, which owns merging the named sets.
    const names = [...Deno.readDirSync(new URL(`${dir}/`, FIXTURES))].map((e) => e.name).sort();
    let nm: NetworkMap | null = null;
    for (const name of names) {
      const m = JSON.parse(
        Deno.readTextFileSync(new URL(`${dir}/${name}`, FIXTURES)),
      ) as MapResponse;
      nm = applyMapResponse(nm, m, 0);
      if (!m.PacketFilters) continue;
      const rules = nm.packetFilter;
      assert.deepEqual(rules, [{
        SrcIPs: ["*"],
        DstPorts: [{ IP: "*", Ports: { First: 0, Last: 65535 } }],
      }]);
      const f = new PacketFilter(rules, { localNets: LOCAL });
      assert.deepEqual(f.problems, []);
      assert.equal(f.check(tcp("100.64.0.2", SELF4, 22)), "accept");
      assert.equal(f.check(tcp("fd7a:115c:a1e0::3", SELF6, 65535)), "accept");
      assert.equal(f.check(udp("100.64.0.2", SELF4, 1, 0)), "accept");
      assert.equal(f.check(icmp("100.64.0.2", SELF4, 8)), "accept");
      assert.equal(f.check(icmp("fd7a:115c:a1e0::2", SELF6, 128)), "accept");
      // Not to us: dropped even under allow-all.
      assert.equal(f.check(tcp("100.64.0.2", "100.64.0.9", 22)), "drop");
      assert.equal(f.lastReason, "not-local");
    }
  }
});

Deno.test("no rules, or an empty list, deny every new inbound flow", () => {
  for (const rules of [null, []]) {
    const f = new PacketFilter(rules, { localNets: LOCAL });
    assert.equal(f.check(tcp("100.64.0.2", SELF4, 22)), "drop");
    assert.equal(f.lastReason, "no-rule");
    assert.equal(f.check(udp("100.64.0.2", SELF4, 5000, 53)), "drop");
    assert.equal(f.check(icmp("100.64.0.2", SELF4, 8)), "drop");
  }
});

Deno.test("port rules: single ports, inclusive ranges, both families", () => {
  const f = new PacketFilter([
    rule(["100.64.0.2", "fd7a:115c:a1e0::2"], [[SELF4, 22, 22], [SELF6, 22, 22]]),
    rule(["100.64.0.0/10"], [["*", 8000, 8010]]),
  ], { localNets: LOCAL });
  assert.equal(f.check(tcp("100.64.0.2", SELF4, 22)), "accept");
  assert.equal(f.check(tcp("fd7a:115c:a1e0::2", SELF6, 22)), "accept");
  assert.equal(f.check(tcp("100.64.0.3", SELF4, 22)), "drop");
  assert.equal(f.check(tcp("fd7a:115c:a1e0::3", SELF6, 22)), "drop");
  assert.equal(f.check(tcp("100.64.0.3", SELF4, 8000)), "accept");
  assert.equal(f.check(tcp("100.64.0.3", SELF4, 8010)), "accept");
  assert.equal(f.check(tcp("100.64.0.3", SELF4, 7999)), "drop");
  assert.equal(f.check(tcp("100.64.0.3", SELF4, 8011)), "drop");
  assert.equal(f.check(udp("100.127.255.255", SELF4, 9, 8005)), "accept");
  assert.equal(f.check(udp("100.128.0.0", SELF4, 9, 8005)), "drop");
  // The v4 CIDR source says nothing about v6.
  assert.equal(f.check(tcp("fd7a:115c:a1e0::3", SELF6, 8000)), "drop");
});

Deno.test("IPProto lists restrict protocols; ICMP needs only addresses, as in tailscaled", () => {
  const f = new PacketFilter([
    rule(["100.64.0.2"], [[SELF4, 53, 53]], [IPPROTO_UDP]),
    rule(["100.64.0.3"], [[SELF4, 0, 65535]], [IPPROTO_SCTP, 47]),
  ], { localNets: LOCAL });
  assert.equal(f.check(udp("100.64.0.2", SELF4, 9, 53)), "accept");
  assert.equal(f.check(tcp("100.64.0.2", SELF4, 53)), "drop");
  // tailscaled's matchIPsOnly: ICMP passes when any rule covers the addresses.
  assert.equal(f.check(icmp("100.64.0.2", SELF4, 8)), "accept");
  assert.equal(f.check(icmp("100.64.0.4", SELF4, 8)), "drop");
  // GRE (47) is port-less: allowed because the rule covers all ports.
  assert.equal(f.checkFlow(ip("100.64.0.3"), ip(SELF4), 47), "accept");
  assert.equal(f.checkFlow(ip("100.64.0.2"), ip(SELF4), 47), "drop");
  assert.equal(f.checkFlow(ip("100.64.0.3"), ip(SELF4), 50), "drop");
  assert.equal(f.checkFlow(ip("100.64.0.3"), ip(SELF4), IPPROTO_SCTP, 7), "accept");
  // Tailscale's TSMP is not handled by warren.
  assert.equal(f.checkFlow(ip("100.64.0.3"), ip(SELF4), 99), "drop");
});

Deno.test("TCP non-SYN segments pass, SYN needs a rule (tailscaled semantics)", () => {
  const f = new PacketFilter([], { localNets: LOCAL });
  for (const flags of [TCP_ACK, TCP_SYN | TCP_ACK, TCP_RST, TCP_FIN | TCP_ACK, 0]) {
    assert.equal(f.check(tcp("100.64.0.2", SELF4, 50000, flags)), "accept", `flags ${flags}`);
    assert.equal(f.lastReason, "tcp-non-syn");
  }
  assert.equal(f.check(tcp("100.64.0.2", SELF4, 22, TCP_SYN | TCP_FIN)), "drop");
});

Deno.test("UDP replies to flows this node opened pass until the flow is evicted", () => {
  const flows = new FlowTable(2);
  const f = new PacketFilter([], { localNets: LOCAL, flows });
  const reply = udp("100.64.0.2", SELF4, 53, 41000);
  assert.equal(f.check(reply), "drop");
  f.noteOutbound(udp(SELF4, "100.64.0.2", 41000, 53));
  assert.equal(f.check(reply), "accept");
  assert.equal(f.lastReason, "reply-flow");
  // Wrong port, wrong peer, wrong protocol: no.
  assert.equal(f.check(udp("100.64.0.2", SELF4, 54, 41000)), "drop");
  assert.equal(f.check(udp("100.64.0.3", SELF4, 53, 41000)), "drop");
  // IPv6 flow.
  f.noteOutbound(udp(SELF6, "fd7a:115c:a1e0::2", 5000, 443));
  assert.equal(f.check(udp("fd7a:115c:a1e0::2", SELF6, 443, 5000)), "accept");
  // The table holds two flows; a third evicts the least recently used one.
  assert.equal(f.check(reply), "accept"); // touch v4: now v6 is oldest
  f.noteOutbound(udp(SELF4, "100.64.0.9", 1, 2));
  assert.equal(f.check(udp("fd7a:115c:a1e0::2", SELF6, 443, 5000)), "drop");
  assert.equal(f.check(reply), "accept");
  // A new filter sharing the table keeps the flows.
  const g = new PacketFilter([], { localNets: LOCAL, flows: f.flows });
  assert.equal(g.check(reply), "accept");
  // Outbound TCP and ICMP record nothing.
  f.noteOutbound(tcp(SELF4, "100.64.0.2", 80));
  assert.equal(flows.size, 2);
});

Deno.test("ICMP echo replies and errors pass without rules; requests do not", () => {
  const f = new PacketFilter([], { localNets: LOCAL });
  assert.equal(f.check(icmp("100.64.0.2", SELF4, 0)), "accept");
  assert.equal(f.check(icmp("100.64.0.2", SELF4, 3, 4)), "accept");
  assert.equal(f.check(icmp("100.64.0.2", SELF4, 11)), "accept");
  assert.equal(f.check(icmp("fd7a:115c:a1e0::2", SELF6, 129)), "accept");
  assert.equal(f.check(icmp("fd7a:115c:a1e0::2", SELF6, 2)), "accept"); // packet too big
  assert.equal(f.lastReason, "icmp-response");
  assert.equal(f.check(icmp("100.64.0.2", SELF4, 8)), "drop");
  assert.equal(f.check(icmp("100.64.0.2", SELF4, 0, 1)), "drop"); // echo reply with a code
  assert.equal(f.check(icmp("fd7a:115c:a1e0::2", SELF6, 128)), "drop");
});

Deno.test("malformed, multicast, link-local and fragments are handled before rules", () => {
  const f = new PacketFilter([rule(["*"], [["*", 0, 65535]])], {
    localNets: [...LOCAL, "169.254.169.254/32", "fe80::/10", "224.0.0.0/4"],
  });
  assert.equal(f.check(new Uint8Array([0x45, 0, 0])), "drop");
  assert.equal(f.lastReason, "malformed");
  assert.equal(f.check(udp("100.64.0.2", "224.0.0.251", 5353, 5353)), "drop");
  assert.equal(f.lastReason, "multicast");
  assert.equal(f.check(udp("fd7a:115c:a1e0::2", "ff02::fb", 5353, 5353)), "drop");
  assert.equal(f.lastReason, "multicast");
  assert.equal(f.check(udp("100.64.0.2", "169.254.1.1", 1, 2)), "drop");
  assert.equal(f.lastReason, "link-local");
  assert.equal(f.check(udp("fd7a:115c:a1e0::2", "fe80::1", 1, 2)), "drop");
  assert.equal(f.check(udp("100.64.0.2", "169.254.169.254", 1, 80)), "accept");

  // A later fragment passes; one that could overwrite the TCP header does not.
  const frag = tcp("100.64.0.2", SELF4, 22);
  frag[7] = 10;
  assert.equal(new PacketFilter([], { localNets: LOCAL }).check(frag), "accept");
  frag[7] = 2;
  assert.equal(new PacketFilter([], { localNets: LOCAL }).check(frag), "drop");
  const s = f.stats();
  assert.equal(s.byReason.multicast, 2);
  assert.equal(s.byReason["link-local"], 2);
  assert.equal(s.byReason.malformed, 1);
  assert.equal(s.accepted, 1);
  assert.equal(s.dropped, 5);
});

Deno.test("cap: sources, CapGrant rules and bad entries grant nothing", () => {
  const rules: FilterRule[] = [
    {
      SrcIPs: ["cap:https://tailscale.com/cap/ssh"],
      DstPorts: [{ IP: "*", Ports: { First: 22, Last: 22 } }],
    },
    { SrcIPs: ["*"], CapGrant: [{ Dsts: [`${SELF4}/32`], CapMap: { "x.example/cap": [] } }] },
    rule(["100.64.0.5/24", "not-an-ip", "100.64.0.7"], [["10.0.0.0/33", 1, 1], [SELF4, 70000, 1], [
      SELF4,
      443,
      443,
    ]]),
  ];
  const c = compileFilterRules(rules);
  assert.equal(c.matches.length, 1);
  assert.deepEqual(c.matches[0].srcCaps, []);
  assert.equal(c.problems.length, 4);
  assert.match(c.problems[0], /rule 2: skipped source "100.64.0.5\/24": .*host bits/);
  const f = new PacketFilter(rules, { localNets: LOCAL });
  assert.equal(f.check(tcp("100.64.0.2", SELF4, 22)), "drop");
  assert.equal(f.check(tcp("100.64.0.7", SELF4, 443)), "accept");
  assert.equal(f.check(tcp("100.64.0.5", SELF4, 443)), "drop");
});

Deno.test("parseIpSetEntry() handles *, IPs, CIDRs and ranges", () => {
  assert.deepEqual(parseIpSetEntry("*").prefixes.map(formatPrefix), ["0.0.0.0/0", "::/0"]);
  assert.deepEqual(parseIpSetEntry("100.64.0.1").prefixes.map(formatPrefix), ["100.64.0.1/32"]);
  assert.deepEqual(parseIpSetEntry("fd7a:115c:a1e0::/48").prefixes.map(formatPrefix), [
    "fd7a:115c:a1e0::/48",
  ]);
  assert.deepEqual(
    parseIpSetEntry("10.0.0.1-10.0.0.6").prefixes.map(formatPrefix),
    ["10.0.0.1/32", "10.0.0.2/31", "10.0.0.4/31", "10.0.0.6/32"],
  );
  assert.deepEqual(parseIpSetEntry("::-::ffff").prefixes.map(formatPrefix), ["::/112"]);
  assert.equal(parseIpSetEntry("cap:foo").cap, "foo");
  assert.throws(() => parseIpSetEntry("10.0.0.1/24"), SyntaxError);
  assert.throws(() => parseIpSetEntry("10.0.0.5-10.0.0.1"), RangeError);
  assert.throws(() => parseIpSetEntry("10.0.0.1-::1"), SyntaxError);
  assert.throws(() => parseIpSetEntry("bogus"), SyntaxError);
});

Deno.test("rangeToPrefixes() covers random ranges exactly", () => {
  let seed = 7;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 200; i++) {
    const a = Math.floor(rnd() * 4096);
    const b = a + Math.floor(rnd() * 600);
    const v4 = (n: number) => Uint8Array.of(10, 0, n >> 8, n & 0xff);
    const ps = rangeToPrefixes(v4(a), v4(b));
    for (let n = Math.max(0, a - 3); n <= b + 3; n++) {
      const inRange = n >= a && n <= b;
      const hits = ps.filter((p) => prefixContains(p, v4(n))).length;
      assert.equal(hits, inRange ? 1 : 0, `range ${a}-${b} at ${n}`);
    }
  }
});

Deno.test("FlowTable keeps exactly the most recent flows under churn", () => {
  const cap = 64;
  const t = new FlowTable(cap);
  const order: number[] = []; // most recent last
  const key = (n: number) =>
    Uint8Array.of(10, n >> 16 & 0xff, n >> 8 & 0xff, n & 0xff, 100, 64, 0, 1);
  let seed = 99;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) % 300;
  for (let i = 0; i < 20000; i++) {
    const n = rnd();
    const b = key(n);
    const at = order.indexOf(n);
    if (i % 3 === 0) {
      assert.equal(t.has(17, b, 0, 4, 4, n, 53), at >= 0, `step ${i} flow ${n}`);
      if (at >= 0) order.push(...order.splice(at, 1));
    } else {
      t.add(17, b, 0, 4, 4, n, 53);
      if (at >= 0) order.splice(at, 1);
      order.push(n);
      if (order.length > cap) order.shift();
    }
    assert.equal(t.size, order.length);
  }
  t.clear();
  assert.equal(t.size, 0);
  assert.throws(() => new FlowTable(0), RangeError);
});

// --- randomized comparison against a brute-force reading of the rules ---

function oracle(
  rules: FilterRule[],
  local: IpPrefix[],
  src: Uint8Array,
  dst: Uint8Array,
  proto: number,
  port: number,
): "accept" | "drop" {
  if (!local.some((p) => prefixContains(p, dst))) return "drop";
  const entries = (s: string) => {
    try {
      return parseIpSetEntry(s).prefixes;
    } catch {
      return [];
    }
  };
  const isIcmp = proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6;
  for (const r of rules) {
    const protos = r.IPProto?.length ? r.IPProto : [6, 17, 1, 58];
    if (!isIcmp && !protos.includes(proto)) continue;
    if (!(r.SrcIPs ?? []).some((s) => entries(s).some((p) => prefixContains(p, src)))) continue;
    for (const d of r.DstPorts ?? []) {
      if (!entries(d.IP).some((p) => prefixContains(p, dst))) continue;
      if (isIcmp) return "accept";
      if (proto === IPPROTO_TCP || proto === IPPROTO_UDP) {
        if (port >= d.Ports.First && port <= d.Ports.Last) return "accept";
      } else if (d.Ports.First === 0 && d.Ports.Last === 65535) return "accept";
    }
  }
  return "drop";
}

Deno.test("PacketFilter agrees with a brute-force oracle on random rules and packets", () => {
  let seed = 2024;
  const rnd = () => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rnd() * xs.length)];
  const v4 = () => Uint8Array.of(100, 64 + Math.floor(rnd() * 2), 0, Math.floor(rnd() * 8));
  const v6 = () => {
    const b = parseIp("fd7a:115c:a1e0::");
    b[14] = Math.floor(rnd() * 2);
    b[15] = Math.floor(rnd() * 8);
    return b;
  };
  const fmt = (b: Uint8Array) => formatPrefix({ ip: b, bits: b.length * 8 }).replace(/\/\d+$/, "");
  const entry = (six: boolean): string => {
    const a = six ? v6() : v4();
    switch (Math.floor(rnd() * 5)) {
      case 0:
        return "*";
      case 1:
        return fmt(a);
      case 2: {
        const bits = six ? 120 + Math.floor(rnd() * 9) : 24 + Math.floor(rnd() * 9);
        return formatPrefix(parsePrefix(`${fmt(a)}/${bits}`));
      }
      case 3: {
        const b = a.slice();
        b[b.length - 1] = Math.min(255, b[b.length - 1] + Math.floor(rnd() * 6));
        return `${fmt(a)}-${fmt(b)}`;
      }
      default:
        return "cap:x";
    }
  };
  const portRange = (): [number, number] => {
    if (rnd() < 0.2) return [0, 65535];
    const a = Math.floor(rnd() * 30);
    return [a, a + Math.floor(rnd() * 10)];
  };
  const localNets = ["100.64.0.0/24", "100.65.0.0/29", "fd7a:115c:a1e0::/120"];
  const local = localNets.map((s) => parsePrefix(s));
  let accepts = 0;
  for (let round = 0; round < 60; round++) {
    const rules: FilterRule[] = [];
    for (let i = Math.floor(rnd() * 4); i > 0; i--) {
      const six = rnd() < 0.5;
      rules.push({
        SrcIPs: Array.from(
          { length: 1 + Math.floor(rnd() * 3) },
          () => entry(rnd() < 0.5 ? six : !six),
        ),
        DstPorts: Array.from({ length: 1 + Math.floor(rnd() * 3) }, () => {
          const [First, Last] = portRange();
          return { IP: entry(rnd() < 0.5 ? six : !six), Ports: { First, Last } };
        }),
        ...(rnd() < 0.5 ? {} : { IPProto: [pick([6, 17, 1, 58, 47]), pick([6, 17, 132])] }),
      });
    }
    const f = new PacketFilter(rules, { localNets });
    for (let k = 0; k < 300; k++) {
      const six = rnd() < 0.5;
      const src = six ? v6() : v4();
      const dst = six ? v6() : v4();
      const proto = pick([IPPROTO_TCP, IPPROTO_UDP, six ? IPPROTO_ICMPV6 : IPPROTO_ICMP, 47]);
      const port = Math.floor(rnd() * 45);
      const want = oracle(rules, local, src, dst, proto, port);
      const got = f.checkFlow(src, dst, proto, port);
      assert.equal(
        got,
        want,
        `${JSON.stringify(rules)} ${fmt(src)} -> ${fmt(dst)} proto ${proto} port ${port}`,
      );
      if (proto === IPPROTO_TCP) {
        assert.equal(f.check(tcp(fmt(src), fmt(dst), port)), want);
      } else if (proto === IPPROTO_UDP) {
        assert.equal(f.check(udp(fmt(src), fmt(dst), 1, port)), want);
      }
      if (want === "accept") accepts++;
    }
  }
  // The generator must exercise both outcomes substantially.
  assert.ok(accepts > 1000 && accepts < 17000, `accepts ${accepts}`);
});
