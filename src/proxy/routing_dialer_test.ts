import assert from "node:assert/strict";
import { parseIp } from "../net/ip.ts";
import { isTailnetAddress, routingDialer } from "./routing_dialer.ts";
import type { ProxyDatagram, ProxyDatagramSocket, ProxyDialer } from "./types.ts";
import { recordingDialer } from "./_testutil.ts";

const magicDns = (name: string) =>
  ({
    "peer": "100.101.102.103",
    "peer.tail1234.ts.net": "100.101.102.103",
    "six": "fd7a:115c:a1e0::9",
  })[
    name.replace(/\.$/, "")
  ] ?? null;

Deno.test("isTailnetAddress() covers 100.64.0.0/10 and fd7a:115c:a1e0::/48 only", () => {
  for (
    const s of ["100.64.0.0", "100.127.255.255", "fd7a:115c:a1e0::1", "fd7a:115c:a1e0:ffff::1"]
  ) {
    assert.ok(isTailnetAddress(parseIp(s)), s);
  }
  for (const s of ["100.63.255.255", "100.128.0.0", "10.0.0.1", "fd7a:115c:a1e1::1", "::1"]) {
    assert.ok(!isTailnetAddress(parseIp(s)), s);
  }
});

Deno.test("routingDialer() sends tailnet IPs and MagicDNS names to the tailnet, the rest to the host", async () => {
  const log: string[] = [];
  const dialer = routingDialer({
    tailnet: recordingDialer("tailnet", log),
    host: recordingDialer("host", log),
    resolve: magicDns,
  });
  const tries: [string, number][] = [
    ["100.100.1.2", 80],
    ["peer", 8000],
    ["peer.tail1234.ts.net.", 22],
    ["six", 443],
    ["fd7a:115c:a1e0::1", 53],
    ["example.com", 80],
    ["192.0.2.1", 443],
    ["localhost", 8080],
    ["2001:db8::1", 80],
  ];
  for (const [h, p] of tries) await assert.rejects(dialer.dialTcp(h, p), /fake does not dial/);
  assert.deepEqual(log, [
    "tailnet tcp 100.100.1.2:80",
    "tailnet tcp 100.101.102.103:8000",
    "tailnet tcp 100.101.102.103:22",
    "tailnet tcp fd7a:115c:a1e0::9:443",
    "tailnet tcp fd7a:115c:a1e0::1:53",
    "host tcp example.com:80",
    "host tcp 192.0.2.1:443",
    "host tcp localhost:8080",
    "host tcp 2001:db8::1:80",
  ]);
});

Deno.test("routingDialer() honours isTailnetIp (subnet routes) and async resolvers", async () => {
  const log: string[] = [];
  const dialer = routingDialer({
    tailnet: recordingDialer("tailnet", log),
    host: recordingDialer("host", log),
    resolve: (n) => Promise.resolve(n === "nas" ? "10.1.0.5" : n === "web" ? "192.0.2.7" : null),
    isTailnetIp: (ip) => isTailnetAddress(ip) || (ip.length === 4 && ip[0] === 10 && ip[1] === 1),
  });
  assert.deepEqual(await dialer.route("nas"), { via: "tailnet", host: "10.1.0.5" });
  // MagicDNS may answer with an outside address: that one is dialled from the host.
  assert.deepEqual(await dialer.route("web"), { via: "host", host: "192.0.2.7" });
  assert.deepEqual(await dialer.route("10.1.2.3"), { via: "tailnet", host: "10.1.2.3" });
  assert.deepEqual(await dialer.route("10.2.0.1"), { via: "host", host: "10.2.0.1" });
  await assert.rejects(dialer.dialTcp("nas", 445));
  assert.deepEqual(log, ["tailnet tcp 10.1.0.5:445"]);
});

Deno.test("routingDialer() without resolve sends every name to the host", async () => {
  const dialer = routingDialer({
    tailnet: recordingDialer("tailnet", []),
    host: recordingDialer("host", []),
  });
  assert.deepEqual(await dialer.route("peer"), { via: "host", host: "peer" });
});

/** A UDP fake that echoes each datagram back from the address it was sent to. */
function echoUdpDialer(name: string, log: string[]): ProxyDialer {
  return {
    dialTcp: () => Promise.reject(new Error("no tcp")),
    openUdp(): Promise<ProxyDatagramSocket> {
      log.push(`${name} open`);
      const queue: ProxyDatagram[] = [];
      let waiter: ((d: ProxyDatagram | null) => void) | null = null;
      return Promise.resolve({
        send(data, hostname, port) {
          log.push(`${name} send ${hostname}:${port}`);
          const d = { data, hostname, port };
          if (waiter) {
            waiter(d);
            waiter = null;
          } else queue.push(d);
          return Promise.resolve();
        },
        receive: () =>
          queue.length ? Promise.resolve(queue.shift()!) : new Promise((r) => waiter = r),
        close() {
          log.push(`${name} close`);
          waiter?.(null);
        },
      });
    },
  };
}

Deno.test("routingDialer().openUdp() routes each datagram and merges replies from both sides", async () => {
  const log: string[] = [];
  const dialer = routingDialer({
    tailnet: echoUdpDialer("tailnet", log),
    host: echoUdpDialer("host", log),
    resolve: magicDns,
  });
  const sock = await dialer.openUdp();
  assert.deepEqual(log, [], "sides open on first use");
  await sock.send(new Uint8Array([1]), "peer", 53);
  assert.deepEqual(await sock.receive(), {
    data: new Uint8Array([1]),
    hostname: "100.101.102.103",
    port: 53,
  });
  await sock.send(new Uint8Array([2]), "198.51.100.1", 53);
  assert.equal((await sock.receive())?.hostname, "198.51.100.1");
  await sock.send(new Uint8Array([3]), "100.64.0.1", 53);
  assert.equal((await sock.receive())?.hostname, "100.64.0.1");
  sock.close();
  assert.equal(await sock.receive(), null);
  await new Promise((r) => setTimeout(r, 0));
  assert.deepEqual(log, [
    "tailnet open",
    "tailnet send 100.101.102.103:53",
    "host open",
    "host send 198.51.100.1:53",
    "tailnet send 100.64.0.1:53",
    "tailnet close",
    "host close",
  ]);
});

Deno.test("routingDialer() with an exit node in use sends everything through the tailnet, names resolved by the host", async () => {
  const log: string[] = [];
  let exit = true;
  const dialer = routingDialer({
    tailnet: recordingDialer("tailnet", log),
    host: recordingDialer("host", log),
    resolve: magicDns,
    exitNode: () => exit,
    resolveHost: (name) => Promise.resolve(name === "example.com" ? "192.0.2.80" : null),
  });
  for (const [h, p] of [["192.0.2.1", 443], ["example.com", 80], ["peer", 22]] as const) {
    await assert.rejects(dialer.dialTcp(h, p), /fake does not dial/);
  }
  await assert.rejects(dialer.dialTcp("nosuch.invalid", 80), /Cannot resolve nosuch\.invalid/);
  exit = false; // `tun set --exit-node=`: back to the host
  await assert.rejects(dialer.dialTcp("example.com", 80), /fake does not dial/);
  assert.deepEqual(log, [
    "tailnet tcp 192.0.2.1:443",
    "tailnet tcp 192.0.2.80:80",
    "tailnet tcp 100.101.102.103:22",
    "host tcp example.com:80",
  ]);
});
