import assert from "node:assert/strict";
import { formatIp, parseIp, parsePrefix } from "../net/ip.ts";
import { buildIcmpPacket, parsePacket } from "../net/packet.ts";
import { IpInput } from "../netstack/ip_input.ts";
import { pattern, sha256 } from "../netstack/tcp_conn_testing.ts";
import { TcpStack, type TcpStackOptions } from "../netstack/tcp_stack.ts";
import { systemClock } from "../netstack/types.ts";
import { startUdpEcho } from "../proxy/_testutil.ts";
import { hostDialer } from "../proxy/host_dialer.ts";
import type { ProxyConn, ProxyDialer } from "../proxy/types.ts";
import { netstackPair } from "./_netstack_pair.ts";
import { exchange, REPLY, startService } from "./_relay_test_util.ts";
import { RoutedFlows, type RoutedFlowsOptions } from "./routed_flows.ts";

/** Loopback stands for the router's LAN: B routes it, and its host dials reach the service. */
const LAN = [parsePrefix("127.0.0.0/8"), parsePrefix("::1/128")];

/** A port on 127.0.0.1 nobody listens on (bound, then closed). */
function closedPort(): number {
  const l = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const port = (l.addr as Deno.NetAddr).port;
  l.close();
  return port;
}

/** A dialer whose TCP dials wait until released, to look at the stack meanwhile. */
function heldDialer(): { dialer: ProxyDialer; dials: number; release(): void } {
  const host = hostDialer();
  let open!: () => void;
  const gate = new Promise<void>((r) => open = r);
  const d = {
    dials: 0,
    release: () => open(),
    dialer: {
      dialTcp: async (h: string, p: number, s?: AbortSignal): Promise<ProxyConn> => {
        d.dials++;
        await gate;
        return host.dialTcp(h, p, s);
      },
      openUdp: () => host.openUdp(),
    },
  };
  return d;
}

/** Two stacks back to back, B routing {@link LAN} through RoutedFlows; disposed at scope end. */
function routedPair(
  dialer: ProxyDialer = hostDialer(),
  opts: RoutedFlowsOptions = {},
  tcpB: Partial<TcpStackOptions> = {},
) {
  const pair = netstackPair(undefined, undefined, tcpB);
  pair.ipB.setRoutes(LAN);
  const routed = new RoutedFlows(pair.ipB, pair.B, dialer, () => {}, opts);
  return {
    ...pair,
    routed,
    async [Symbol.asyncDispose]() {
      await routed.close();
      pair.A.close();
      pair.B.close();
    },
  };
}

Deno.test("routed TCP is re-dialled from the host and relayed both ways with half-close; a refused host dial resets the client", async () => {
  const svc = startService();
  await using p = routedPair();
  const { A, routed } = p;
  try {
    const up = pattern(1 << 20, 3);
    const s = await A.dial(parseIp("127.0.0.1"), svc.port);
    // The client sees the routed address itself, as through a kernel router.
    assert.equal(s.remoteAddr.hostname, "127.0.0.1");
    const got = await exchange(s, up);
    assert.equal(new TextDecoder().decode(got.subarray(0, 65)), `${await sha256(up)}\n`);
    assert.equal(await sha256(got.subarray(65)), await sha256(REPLY));
    s.close();
    const err = await A.dial(parseIp("127.0.0.1"), closedPort()).then(() => null, (e) => e);
    assert.ok(err instanceof Error);
    assert.equal(err.cause, "refused", "the refused host dial became a RST");
    assert.deepEqual(
      [routed.status().opened, routed.status().failed],
      [2, 1],
    );
  } finally {
    svc.close();
    await svc.done;
  }
});

Deno.test("a routed SYN is answered only once the host dial succeeded, and counts against the connection limit while it waits", async () => {
  const svc = startService();
  const held = heldDialer();
  await using p = routedPair(held.dialer, {}, { maxConnections: 1 });
  const { A, B, routed } = p;
  try {
    let connected = false;
    const first = A.dial(parseIp("127.0.0.1"), svc.port).then((s) => (connected = true, s));
    while (held.dials === 0) await new Promise((r) => setTimeout(r, 5));
    await new Promise((r) => setTimeout(r, 50)); // SYN retransmissions, if any, arrive meanwhile
    assert.equal(connected, false, "no SYN-ACK before the host dial");
    assert.equal(B.pendingRouted, 1);
    assert.equal(B.connections, 0);
    assert.equal(routed.status().dialling, 1);
    // The limit counts the waiting SYN: a second flow is reset without a host dial.
    const err = await A.dial(parseIp("127.0.0.1"), svc.port).then(() => null, (e) => e);
    assert.equal(err?.cause, "refused");
    assert.equal(B.counters.tableFull, 1);
    assert.equal(held.dials, 1);
    held.release();
    const s = await first;
    assert.equal(B.connections, 1);
    const got = await exchange(s, pattern(1000, 1));
    assert.equal(await sha256(got.subarray(65)), await sha256(REPLY));
    s.close();
  } finally {
    held.release();
    svc.close();
    await svc.done;
  }
});

Deno.test("routed UDP gets a host socket per flow, answers come back from the routed address", async () => {
  const echo = await startUdpEcho();
  await using p = routedPair();
  const { routed } = p;
  const ep = p.ipA.udp.bind({ port: 0 });
  try {
    const to = { ip: parseIp("127.0.0.1"), port: echo.port };
    for (const m of ["one", "two"]) {
      ep.send(new TextEncoder().encode(m), to);
      const d = await ep.receive();
      assert.equal(new TextDecoder().decode(d.payload), `echo:${m}`);
      assert.equal(`${formatIp(d.src.ip)}:${d.src.port}`, `127.0.0.1:${echo.port}`);
    }
    assert.equal(routed.status().udp, 1, "one flow for one source and destination");
    assert.equal(routed.flows, 1);
  } finally {
    ep.close();
    echo.close();
  }
});

Deno.test("an echo request to a routed address is answered only when the host's ping is", async () => {
  const sent: Uint8Array[] = [];
  const ip = new IpInput({ clock: systemClock, out: (p) => sent.push(p), addresses: [] });
  ip.setRoutes([parsePrefix("192.168.9.0/24")]);
  const tcp = new TcpStack({ ip, clock: systemClock });
  const pinged: string[] = [];
  const routed = new RoutedFlows(ip, tcp, hostDialer(), () => {}, {
    ping: (dst) => (pinged.push(dst), Promise.resolve(dst === "192.168.9.1")),
  });
  try {
    const src = parseIp("100.64.0.1");
    for (const dst of ["192.168.9.1", "192.168.9.2"]) {
      ip.input(buildIcmpPacket({ src, dst: parseIp(dst), type: 8, rest: 0x10001 }));
    }
    await new Promise((r) => setTimeout(r, 0));
    assert.deepEqual(pinged, ["192.168.9.1", "192.168.9.2"]);
    assert.equal(sent.length, 1);
    const reply = parsePacket(sent[0]);
    assert.deepEqual([reply.icmpType, formatIp(reply.srcIp())], [0, "192.168.9.1"]);
    assert.equal(routed.status().pings, 1);
  } finally {
    await routed.close();
    tcp.close();
  }
});

Deno.test("routed UDP to the node's own WireGuard socket is dropped, not re-dialled into itself", async () => {
  const echo = await startUdpEcho();
  await using p = routedPair(hostDialer(), {
    isOwnSocket: (ip, port) => ip === "127.0.0.1" && port === echo.port,
  });
  const { routed } = p;
  const ep = p.ipA.udp.bind({ port: 0 });
  try {
    ep.send(new TextEncoder().encode("loop"), { ip: parseIp("127.0.0.1"), port: echo.port });
    for (let i = 0; i < 200 && routed.status().looped === 0; i++) {
      await new Promise((r) => setTimeout(r, 5));
    }
    assert.equal(routed.status().looped, 1);
    assert.deepEqual([routed.status().udp, routed.status().opened], [0, 0], "no host socket");
  } finally {
    ep.close();
    echo.close();
  }
});
