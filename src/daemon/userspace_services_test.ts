import assert from "node:assert/strict";
import { netstackServiceLines } from "../cli/status_netstack.ts";
import { parseForwardSpec } from "../config/userspace.ts";
import { parseIp } from "../net/ip.ts";
import { NetstackDevice } from "../netstack/device.ts";
import { IpInput } from "../netstack/ip_input.ts";
import { TcpStack } from "../netstack/tcp_stack.ts";
import type { TcpStream } from "../netstack/tcp_stream.ts";
import { systemClock } from "../netstack/types.ts";
import type { Netstack } from "./node_link.ts";
import { startUserspaceServices } from "./userspace_services.ts";

/**
 * A node's netstack (IP layer behind a NetstackDevice, as in userspace mode)
 * and a peer's stack, the device's ring pumped to the peer a macrotask after
 * it signals, as the data plane would.
 */
function nodeAndPeer() {
  let peer: IpInput | null = null;
  let pumping = false;
  const pump = () => {
    pumping = false;
    const bufs = Array.from({ length: 64 }, () => new Uint8Array(1500));
    const sizes: number[] = [];
    for (let n = device.readBatch(bufs, sizes, 0); n > 0; n = device.readBatch(bufs, sizes, 0)) {
      for (let i = 0; i < n; i++) peer?.input(bufs[i].slice(0, sizes[i]));
    }
  };
  const device = new NetstackDevice({
    mtu: 1280,
    waker: {
      fd: -1,
      signal: () => {
        if (!pumping) setTimeout(pump, 0);
        pumping = true;
      },
      clear() {},
      close() {},
    },
  });
  const ip = new IpInput({
    clock: systemClock,
    out: device.send,
    addresses: [parseIp("100.64.0.2")],
    mtu: 1280,
  });
  device.setInput((p) => ip.input(p));
  peer = new IpInput({
    clock: systemClock,
    out: (p) => {
      const c = p.slice();
      setTimeout(() => device.writeBatch([c], [c.length], 0, 1), 0);
    },
    addresses: [parseIp("100.64.0.1")],
  });
  const netstack: Netstack = { ip, device, servicesStatus: null };
  return { netstack, peerTcp: new TcpStack({ ip: peer, clock: systemClock }), device };
}

Deno.test("a flood past --netstack-max-connections is reset, counted, and shown in status with the listeners", async () => {
  const held: Deno.Conn[] = [];
  const ln = Deno.listen({ hostname: "127.0.0.1", port: 0 });
  const accepting = (async () => {
    for await (const c of ln) held.push(c);
  })();
  const { netstack, peerTcp, device } = nodeAndPeer();
  const svc = startUserspaceServices(
    { netstack, resolveTailnet: () => null },
    {
      proxies: { "socks5-server": "127.0.0.1:0" },
      forwards: [
        parseForwardSpec(`tcp:80=127.0.0.1:${(ln.addr as Deno.NetAddr).port}`),
        parseForwardSpec("udp:53=127.0.0.1:9"),
      ],
      limits: { maxConnections: 16, tcpBufferBytes: 64 * 1024 },
    },
    () => {},
  );
  const streams: TcpStream[] = [];
  try {
    let resets = 0, ended = 0;
    await Promise.all(Array.from({ length: 24 }, async () => {
      const s = await peerTcp.dial(parseIp("100.64.0.2"), 80);
      streams.push(s);
      // An accepted one stays open (its relay holds it); one past the table is reset.
      void s.readable.getReader().read().then(() => ended++, () => resets++);
    }));
    for (let i = 0; i < 1000 && resets < 8; i++) await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual({ resets, ended }, { resets: 8, ended: 0 });
    const st = netstack.servicesStatus!();
    assert.equal(st.tcp.maxConnections, 16);
    assert.equal(st.tcp.bufferBytes, 65536);
    assert.equal(st.tcp.connections, 16);
    assert.equal(st.tcp.refused, 8);
    assert.deepEqual(st.listeners.map((l) => [l.kind, l.listen, l.target, l.flows]), [
      ["socks5", `127.0.0.1:${svc.proxies!.socks5!.port}`, undefined, 0],
      ["tcp-forward", ":80", `127.0.0.1:${(ln.addr as Deno.NetAddr).port}`, 16],
      ["udp-forward", ":53", "127.0.0.1:9", 0],
    ]);
    assert.deepEqual(st.flows, { proxy: 0, forward: 16, routed: 0 });
    // The node's status carries it (node_link merges it), and tun status prints it.
    const text = netstackServiceLines({
      ip: { ...netstack.ip.counters },
      device: device.counters,
      ...st,
    });
    assert.match(text[0], /^ {2}netstack tcp: 16 of 16 connections, 64\.00 KiB buffers, 8 refused/);
    assert.match(
      text[2],
      /^ {2}listener: tcp-forward :80 -> 127\.0\.0\.1:\d+ \(16 open, 16 opened, 0 failed\)$/,
    );
    assert.equal(text[4], "  flows: 0 proxy, 16 forward, 0 routed");
  } finally {
    await svc.close();
    assert.equal(netstack.servicesStatus, null, "the status hook is gone after close");
    for (const s of streams) s.close();
    peerTcp.close();
    ln.close();
    await accepting;
    for (const c of held) c.close();
    device.close();
  }
});
