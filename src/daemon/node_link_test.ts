import assert from "node:assert/strict";
import { buildIcmpPacket, buildTcpPacket, TCP_ACK, TCP_RST, TCP_SYN } from "../net/packet.ts";
import { parseIp, parsePrefix } from "../net/ip.ts";
import { openNetstackLink } from "./netstack_link.ts";
import { USERSPACE_NETWORKING } from "./node_link.ts";
import type { NetstackServicesStatus } from "./status.ts";
import { run } from "../testbed/netns.ts";
import { WITHOUT_NET_ADMIN } from "../testbed/privileges.ts";
import { skipRest } from "../testing/skip.ts";

const OFF = 16;
const me4 = parseIp("100.64.0.2"), me6 = parseIp("fd7a:115c:a1e0::2");
const peer4 = parseIp("100.64.0.1");

/** Writes `pkt` into the link's device as the data plane would, and reads back what comes out. */
function roundTrip(dev: ReturnType<typeof openNetstackLink>["device"], pkt: Uint8Array) {
  const bufs = [new Uint8Array(2048), new Uint8Array(2048)], sizes = [0, 0];
  bufs[0].set(pkt, OFF);
  dev.writeBatch(bufs, [pkt.length], OFF, 1);
  const n = dev.readBatch(bufs, sizes, OFF);
  return bufs.slice(0, n).map((b, i) => b.slice(OFF, OFF + sizes[i]));
}

Deno.test("openNetstackLink: the engine's addresses become the stack's; routes are a no-op", () => {
  const link = openNetstackLink(1280, () => {});
  try {
    assert.equal(link.mode, USERSPACE_NETWORKING);
    assert.equal(link.name, USERSPACE_NETWORKING);
    assert.equal(link.ifindex, 0);
    const ip = link.netstack!.ip;
    assert.equal(ip.isOurs(me4), false);
    link.addAddress(parsePrefix("100.64.0.2/32"));
    link.addAddress(parsePrefix("fd7a:115c:a1e0::2/128"));
    assert.equal(ip.isOurs(me4), true);
    assert.equal(ip.isOurs(me6), true);
    link.routes.add(parsePrefix("100.64.0.1/32"), link.name);
    assert.deepEqual(link.installedRoutes(), []);
    // An echo request to our address is answered through the device.
    const echo = buildIcmpPacket({ src: peer4, dst: me4, type: 8, rest: 1 });
    const [reply] = roundTrip(link.device, echo);
    assert.equal(reply[20], 0);
    link.removeAddress(parsePrefix("100.64.0.2/32"));
    assert.equal(ip.isOurs(me4), false);
    assert.equal(roundTrip(link.device, echo).length, 0, "no longer ours: dropped");
    assert.equal(link.counters()!.ip.notOurs, 1);
  } finally {
    link.close();
  }
});

Deno.test("openNetstackLink: a TCP handler set on the stack gets segments and answers through the device", () => {
  const link = openNetstackLink(1280, () => {});
  try {
    link.addAddress(parsePrefix("100.64.0.2/32"));
    const { ip } = link.netstack!;
    const seen: number[] = [];
    // What TCP will do: take segments from IpInput, emit its own with ip.send (fragmented to
    // the MTU if need be, queued in the device, the data plane woken).
    ip.setTcpHandler((p) => {
      seen.push(p.dstPort);
      ip.send(buildTcpPacket({
        src: p.dstIp(),
        dst: p.srcIp(),
        srcPort: p.dstPort,
        dstPort: p.srcPort,
        flags: TCP_RST | TCP_ACK,
        ack: 1,
      }));
    });
    const syn = buildTcpPacket({
      src: peer4,
      dst: me4,
      srcPort: 40000,
      dstPort: 80,
      flags: TCP_SYN,
    });
    const out = roundTrip(link.device, syn);
    assert.deepEqual(seen, [80]);
    assert.equal(out.length, 1);
    assert.equal(out[0][33], TCP_RST | TCP_ACK, "the handler's segment came out");
    assert.deepEqual(out[0].subarray(16, 20), peer4);
  } finally {
    link.close();
  }
});

Deno.test("openNetstackLink: a handler's throw is logged once and counted, and the batch goes on", () => {
  const lines: string[] = [];
  const link = openNetstackLink(1280, (l) => lines.push(l));
  try {
    link.addAddress(parsePrefix("100.64.0.2/32"));
    link.netstack!.ip.setTcpHandler(() => {
      throw new Error("tcp bug");
    });
    const syn = buildTcpPacket({ src: peer4, dst: me4, srcPort: 1, dstPort: 2, flags: TCP_SYN });
    const echo = buildIcmpPacket({ src: peer4, dst: me4, type: 8 });
    const bufs = [syn, syn, echo].map((p) => {
      const b = new Uint8Array(2048);
      b.set(p, OFF);
      return b;
    });
    link.device.writeBatch(bufs, [syn.length, syn.length, echo.length], OFF, 3);
    assert.equal(link.counters()!.device.inputErrors, 2);
    assert.equal(lines.length, 1);
    assert.match(lines[0], /netstack: input failed: .*tcp bug/);
    assert.equal(link.device.readBatch(bufs, [0, 0, 0], OFF), 1, "the echo was still answered");
  } finally {
    link.close();
  }
});

Deno.test("openTunLink without CAP_NET_ADMIN points at userspace-networking", async (t) => {
  if (Deno.uid() !== 0) return skipRest(t, "dropping CAP_NET_ADMIN needs root");
  if ((await run(["sh", "-c", "command -v setpriv"], { check: false })).code !== 0) {
    return skipRest(t, "setpriv (util-linux) is not installed");
  }
  const mod = new URL("./node_link.ts", import.meta.url).href;
  const code = `import { openTunLink } from ${JSON.stringify(mod)};
    try { openTunLink("wul%d", 1280, []).close(); console.log("opened"); }
    catch (e) { console.log(e.message); }`;
  const r = await run([...WITHOUT_NET_ADMIN, Deno.execPath(), "eval", code]);
  assert.match(r.stdout, /Cannot create TUN interface "wul%d": .*EPERM/);
  assert.match(r.stdout, /or use --tun userspace-networking, which needs no TUN and no privilege/);
});

Deno.test("openNetstackLink: the status of what runs on the stack joins its counters, until unhooked", () => {
  const link = openNetstackLink(1280, () => {});
  try {
    assert.equal(link.counters()?.listeners, undefined, "nothing runs yet");
    const services: NetstackServicesStatus = {
      tcp: {
        connections: 1,
        maxConnections: 16,
        bufferBytes: 1024,
        memoryBytes: 2048,
        memoryLimit: 1 << 20,
        refused: 2,
        resets: 0,
        malformed: 0,
      },
      listeners: [{ kind: "tcp-forward", listen: ":80", target: "127.0.0.1:8080", flows: 1 }],
      flows: { proxy: 0, forward: 1 },
    };
    link.netstack!.servicesStatus = () => services;
    const c = link.counters()!;
    assert.deepEqual([c.tcp, c.listeners, c.flows], [
      services.tcp,
      services.listeners,
      services.flows,
    ]);
    assert.equal(typeof c.ip.received, "number");
    link.netstack!.servicesStatus = null;
    assert.equal(link.counters()?.tcp, undefined);
  } finally {
    link.close();
  }
});
