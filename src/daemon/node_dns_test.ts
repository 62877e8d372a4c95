import assert from "node:assert/strict";
import { NodeDns } from "./node_dns.ts";
import { emptyNetworkMap } from "../netmap/network_map.ts";
import type { DNSConfig, DNSResolver } from "../netmap/tailcfg.ts";
import { buildUdpPacket } from "../net/packet.ts";
import { parseIp } from "../net/ip.ts";
import { buildDnsMessage, emptyMessage, parseDnsMessage } from "../dns/message.ts";
import { node } from "./_plan_test_util.ts";
import { formatIp } from "../net/ip.ts";
import { parsePacket } from "../net/packet.ts";
import { CLASS_IN, TYPE_A } from "../dns/constants.ts";

/** A quad-100 query packet for `name`, as the TUN hands it over. */
function queryPacket(name: string): Uint8Array {
  const m = emptyMessage();
  m.id = 99;
  m.questions.push({ name, type: TYPE_A, class: CLASS_IN });
  return buildUdpPacket({
    src: parseIp("100.64.0.1"),
    dst: parseIp("100.100.100.100"),
    srcPort: 4000,
    dstPort: 53,
    payload: buildDnsMessage(m),
  });
}

/** A forwarder that records which upstreams each query was sent to, and never answers. */
function recordingForwarder() {
  const calls: DNSResolver[][] = [];
  return {
    calls,
    full: false,
    forward: (_q: Uint8Array, up: readonly DNSResolver[]) => {
      calls.push([...up]);
      return Promise.resolve(null);
    },
    close() {},
  };
}

function netmapWith(dns: DNSConfig) {
  const nm = emptyNetworkMap();
  nm.dns = dns;
  return nm;
}

async function withResolvConf(text: string, fn: (path: string) => Promise<void>): Promise<void> {
  const dir = await Deno.makeTempDir({ prefix: "warren-nodedns-" });
  try {
    await Deno.writeTextFile(`${dir}/resolv.conf`, text);
    await fn(`${dir}/resolv.conf`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
}

async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !cond(); i++) await new Promise((r) => setTimeout(r, 1));
}

Deno.test("with --accept-dns and no resolvers from control, other names go to resolv.conf's original servers", async () => {
  await withResolvConf("nameserver 192.0.2.53\nnameserver 2001:db8::53\n", async (path) => {
    const fwd = recordingForwarder();
    const dns = new NodeDns(() => {}, { resolvConf: { path }, forwarder: fwd });
    try {
      dns.setNetmap(netmapWith({ Domains: ["tailnet.test"] }));
      await dns.acceptDns();
      assert.match(await Deno.readTextFile(path), /^nameserver 100\.100\.100\.100$/m);
      dns.answer(queryPacket("example.com."), () => {});
      await until(() => fwd.calls.length === 1);
      assert.deepEqual(fwd.calls[0], [{ Addr: "192.0.2.53" }, { Addr: "2001:db8::53" }]);

      // Resolvers from control win over the host's.
      dns.setNetmap(netmapWith({ Resolvers: [{ Addr: "198.51.100.7" }] }));
      dns.answer(queryPacket("example.com."), () => {});
      await until(() => fwd.calls.length === 2);
      assert.deepEqual(fwd.calls[1], [{ Addr: "198.51.100.7" }]);

      // And the host's come back when control drops them again.
      dns.setNetmap(netmapWith({}));
      dns.answer(queryPacket("example.com."), () => {});
      await until(() => fwd.calls.length === 3);
      assert.deepEqual(fwd.calls[2], [{ Addr: "192.0.2.53" }, { Addr: "2001:db8::53" }]);
    } finally {
      await dns.close();
    }
    assert.equal(await Deno.readTextFile(path), "nameserver 192.0.2.53\nnameserver 2001:db8::53\n");
  });
});

Deno.test("releaseDns (tun set --accept-dns=false) puts resolv.conf back; acceptDns takes it again", async () => {
  const original = "nameserver 192.0.2.53\n";
  await withResolvConf(original, async (path) => {
    const dns = new NodeDns(() => {}, { resolvConf: { path }, forwarder: recordingForwarder() });
    try {
      dns.setNetmap(netmapWith({ Domains: ["tailnet.test"] }));
      await dns.acceptDns();
      await dns.releaseDns();
      assert.equal(await Deno.readTextFile(path), original);
      assert.deepEqual(dns.baseResolvers, []);
      dns.setNetmap(netmapWith({ Domains: ["other.test"] }));
      assert.equal(await Deno.readTextFile(path), original, "released: netmaps leave it alone");
      await dns.acceptDns();
      assert.match(await Deno.readTextFile(path), /^nameserver 100\.100\.100\.100$/m);
      assert.deepEqual(dns.baseResolvers, [{ Addr: "192.0.2.53" }]);
    } finally {
      await dns.close();
    }
    assert.equal(await Deno.readTextFile(path), original);
  });
});

Deno.test("NodeDns drops quad-100 queries while the forwarder is full, and logs that once per interval", () => {
  const fwd = recordingForwarder();
  fwd.full = true;
  const logs: string[] = [];
  const dns = new NodeDns((l) => logs.push(l), { forwarder: fwd });
  let replies = 0;
  for (let i = 0; i < 500; i++) dns.answer(queryPacket("example.com."), () => replies++);
  assert.equal(dns.dropped, 500);
  assert.equal(replies, 0);
  assert.equal(fwd.calls.length, 0);
  assert.equal(logs.filter((l) => l.includes("too many queries in flight")).length, 1);
});

Deno.test("two tailnets in one process: quad-100 queries for the other's names are answered by the other node", async () => {
  const mk = (id: number, domain: string) => {
    const dns = new NodeDns(() => {}, { forwarder: recordingForwarder() });
    const nm = emptyNetworkMap();
    nm.self = node(id, { Name: `self${id}.${domain}.` });
    nm.peers = new Map([[id + 1, node(id + 1, { Name: `peer${id}.${domain}.` })]]);
    nm.dns = { Proxied: true, Domains: [domain] }; // MagicDNS on, as Headscale sends it
    dns.setNetmap(nm);
    return dns;
  };
  const one = mk(1, "one.test"), two = mk(5, "two.test");
  try {
    const ask = (dns: NodeDns, name: string) =>
      new Promise<string>((resolve) =>
        dns.answer(queryPacket(name), (resp) => {
          const p = parsePacket(resp);
          const m = parseDnsMessage(p.payload());
          resolve(
            m.answers.map((a) => typeof a.data === "string" ? a.data : formatIp(a.data)).join(
              ",",
            ) ||
              `rcode ${m.rcode}`,
          );
        })
      );
    // The kernel sends every quad-100 query to network one's TUN.
    assert.equal(await ask(one, "peer1.one.test."), "100.64.0.2");
    assert.equal(await ask(one, "peer5.two.test."), "100.64.0.6", "answered by network two");
    assert.equal(await ask(two, "peer1.one.test."), "100.64.0.2", "and the other way");
    await two.close();
    // A stopped network's names are no longer answered here (they go upstream, which fails).
    assert.equal(await ask(one, "peer5.two.test."), "rcode 2");
  } finally {
    await one.close();
    await two.close();
  }
});
