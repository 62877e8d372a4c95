import assert from "node:assert/strict";
import { parseForwardSpec } from "../config/userspace.ts";
import { buildUdpPacket, parsePacket } from "../net/packet.ts";
import { formatIp, parseIp } from "../net/ip.ts";
import { UdpTable } from "../netstack/udp_endpoints.ts";
import { startUdpEcho } from "../proxy/_testutil.ts";
import { hostDialer } from "../proxy/host_dialer.ts";
import { UdpForward } from "./forward_udp.ts";

const NODE4 = parseIp("100.64.0.2"), NODE6 = parseIp("fd7a:115c:a1e0::2");
const text = (b: Uint8Array) => new TextDecoder().decode(b);

/** A node's UDP table whose sent packets are parsed and queued for the test to await. */
function node() {
  const sent: ReturnType<typeof parsePacket>[] = [];
  const waiters: (() => void)[] = [];
  const table = new UdpTable((p) => {
    sent.push(parsePacket(p.slice()));
    waiters.shift()?.();
  }, [NODE4, NODE6]);
  const from = (src: string, sport: number, dst: Uint8Array, dport: number, payload: string) =>
    table.deliver(parsePacket(buildUdpPacket({
      src: parseIp(src),
      dst,
      srcPort: sport,
      dstPort: dport,
      payload: new TextEncoder().encode(payload),
    })));
  /** The next packet the node sends; a lost one fails after 5 s (a guard, not a timing). */
  const next = async () => {
    if (sent.length === 0) {
      let guard: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        new Promise<void>((r) => waiters.push(r)),
        new Promise((_, rej) => guard = setTimeout(() => rej(new Error("no answer")), 5000)),
      ]).finally(() => clearTimeout(guard));
    }
    const p = sent.shift()!;
    return {
      src: `${formatIp(p.srcIp())}:${p.srcPort}`,
      dst: `${formatIp(p.dstIp())}:${p.dstPort}`,
      payload: text(p.buf.subarray(p.payloadOff, p.length)),
    };
  };
  return { table, from, next, sent };
}

Deno.test("a UDP forward gives each tailnet source its own host socket and sends the answers back from the address written to", async () => {
  const echo = await startUdpEcho();
  const n = node();
  const fwd = new UdpForward(
    n.table,
    parseForwardSpec(`udp:53=127.0.0.1:${echo.port}`),
    hostDialer(),
    () => {},
  );
  try {
    assert.ok(n.from("100.64.0.1", 4000, NODE4, 53, "a1"));
    assert.deepEqual(await n.next(), {
      src: "100.64.0.2:53",
      dst: "100.64.0.1:4000",
      payload: "echo:a1",
    });
    n.from("fd7a:115c:a1e0::1", 4000, NODE6, 53, "b1");
    assert.deepEqual(await n.next(), {
      src: "fd7a:115c:a1e0::2:53",
      dst: "fd7a:115c:a1e0::1:4000",
      payload: "echo:b1",
    });
    n.from("100.64.0.1", 4000, NODE4, 53, "a2"); // the same flow again
    assert.equal((await n.next()).payload, "echo:a2");
    const st = fwd.status();
    assert.deepEqual([st.kind, st.listen, st.flows, st.opened, st.refused], [
      "udp-forward",
      ":53",
      2,
      2,
      0,
    ]);
    // Another port is not forwarded: the table says so (the IP layer answers port unreachable).
    assert.equal(n.from("100.64.0.1", 4000, NODE4, 54, "x"), false);
  } finally {
    await fwd.close();
    echo.close();
  }
});

Deno.test("a UDP forward refuses new flows past its limit and closes idle ones", async () => {
  const echo = await startUdpEcho();
  const n = node();
  let now = 0;
  const fwd = new UdpForward(
    n.table,
    parseForwardSpec(`udp:53=127.0.0.1:${echo.port}`),
    hostDialer(),
    () => {},
    { maxFlows: 2, idleMs: 1000, now: () => now },
  );
  try {
    for (const port of [1, 2]) {
      n.from("100.64.0.1", port, NODE4, 53, `p${port}`);
      assert.equal((await n.next()).payload, `echo:p${port}`);
    }
    n.from("100.64.0.1", 3, NODE4, 53, "p3");
    // Wait for flow 3's datagram to be looked at: a later datagram of flow 1 answers first.
    n.from("100.64.0.1", 1, NODE4, 53, "again");
    assert.deepEqual(await n.next(), {
      src: "100.64.0.2:53",
      dst: "100.64.0.1:1",
      payload: "echo:again",
    });
    assert.equal(fwd.status().refused, 1, "the third source was refused");
    assert.equal(fwd.flows, 2);
    now = 999;
    fwd.sweep();
    assert.equal(fwd.flows, 2, "not idle yet");
    now = 5000;
    fwd.sweep();
    assert.equal(fwd.flows, 0, "idle flows closed");
    n.from("100.64.0.1", 3, NODE4, 53, "p3");
    assert.equal((await n.next()).payload, "echo:p3", "room again after the sweep");
    assert.equal(fwd.status().opened, 3);
  } finally {
    await fwd.close();
    echo.close();
  }
});

Deno.test("a UDP forward counts a flow whose host socket cannot open, and ignores answers from elsewhere", async () => {
  const n = node();
  const lines: string[] = [];
  const fwd = new UdpForward(n.table, parseForwardSpec("udp:53=127.0.0.1:9"), {
    dialTcp: () => Promise.reject(new Error("no TCP")),
    openUdp: () => Promise.reject(new Error("no sockets left")),
  }, (l) => lines.push(l));
  try {
    n.from("100.64.0.1", 1, NODE4, 53, "x");
    while (fwd.status().failed === 0) await new Promise((r) => setTimeout(r, 1));
    assert.equal(fwd.flows, 0);
    assert.match(lines[0], /forward udp:53=127\.0\.0\.1:9: no host socket: no sockets left/);
  } finally {
    await fwd.close();
  }
  // Answers from another address or port than the target's are dropped.
  const echo = await startUdpEcho();
  const stranger = await startUdpEcho();
  const fwd2 = new UdpForward(
    n.table,
    parseForwardSpec(`udp:53=127.0.0.1:${echo.port}`),
    {
      dialTcp: () => Promise.reject(new Error("no TCP")),
      openUdp: async () => {
        const s = await hostDialer().openUdp();
        return {
          // Every datagram goes to the stranger too; only the target's answer may pass.
          send: async (d, h, p) => {
            await s.send(d, h, stranger.port);
            await s.send(d, h, p);
          },
          receive: () => s.receive(),
          close: () => s.close(),
        };
      },
    },
    () => {},
  );
  try {
    n.from("100.64.0.1", 1, NODE4, 53, "y");
    assert.equal((await n.next()).payload, "echo:y");
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(n.sent.length, 0, "the stranger's answer was dropped");
  } finally {
    await fwd2.close();
    echo.close();
    stranger.close();
  }
});
