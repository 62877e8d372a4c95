import assert from "node:assert/strict";
import { UdpSocket } from "../../ffi/udp.ts";
import { generatePrivateKey, publicKeyFrom } from "../crypto/x25519.ts";
import { Magicsock, type MagicsockOptions } from "./magicsock.ts";
import { endpointToString } from "../../ffi/udp.ts";
import { UdpConn } from "./udp_conn.ts";
import type { DiscoTunables } from "../disco/tunables.ts";

/**
 * One node's socket layer on a loopback UDP socket, with a clock the test moves (or, with
 * `clock` null, the real clock and magicsock's own timers).
 */
function side(
  clock: { t: number } | null,
  tunables?: Partial<DiscoTunables>,
  extra: Partial<MagicsockOptions> = {},
) {
  const node = generatePrivateKey(), disco = generatePrivateKey();
  const udp = new UdpConn(UdpSocket.bind(0), {
    stun: () => {},
    disco: (p, from) => magic.receiveUdpDisco(p, from),
  }, 1280);
  const magic: Magicsock = new Magicsock({
    privateKey: node,
    plainHttp: true,
    log: () => {},
    udp,
    discoPrivate: disco,
    ...(clock ? { now: () => clock.t, timers: false } : {}),
    tunables,
    ...extra,
  });
  const receiver = { receive: () => {} };
  magic.attach(receiver as never);
  udp.attach(receiver as never);
  return { magic, udp, nodeKey: publicKeyFrom(node), discoKey: publicKeyFrom(disco) };
}

type Side = ReturnType<typeof side>;

/** Makes each side the other's peer, at its loopback socket, DERP region 1. */
function introduce(a: Side, b: Side): void {
  for (const [self, other] of [[a, b], [b, a]]) {
    self.magic.setPeers([{
      nodeKey: other.nodeKey,
      homeDerp: 1,
      discoKey: other.discoKey,
      endpoints: [`127.0.0.1:${other.udp.port}`],
    }]);
  }
}

Deno.test("Magicsock.resetPaths() puts a direct peer back to probing, and it goes direct again", async () => {
  const clock = { t: 1_000 };
  const a = side(clock), b = side(clock);
  try {
    introduce(a, b);
    const settle = async (want: string) => {
      for (let i = 0; i < 200 && a.magic.pathOf(b.nodeKey).state !== want; i++) {
        clock.t += 50;
        a.magic.tick();
        b.magic.tick();
        await new Promise((r) => setTimeout(r, 2));
        a.udp.drain();
        b.udp.drain();
      }
      return a.magic.pathOf(b.nodeKey);
    };
    // Sending marks the session active, which is when disco probes.
    a.magic.send([new Uint8Array(32)], [32], [b.nodeKey], 1, 0);
    assert.equal((await settle("direct")).kind, "direct");
    a.magic.resetPaths();
    const after = a.magic.pathOf(b.nodeKey);
    assert.notEqual(after.state, "direct", "the verified path is forgotten at once");
    assert.equal(after.kind, "derp");
    a.magic.send([new Uint8Array(32)], [32], [b.nodeKey], 1, 0);
    const again = await settle("direct");
    assert.equal(again.path, `127.0.0.1:${b.udp.port}`);
  } finally {
    await a.magic.close();
    await b.magic.close();
    a.udp.close();
    b.udp.close();
  }
});

Deno.test("Magicsock runs its own disco timers: heartbeats go unanswered, the path degrades, then falls back to DERP, with no tick()", async () => {
  const tunables = { heartbeatInterval: 100, probeTimeout: 150, degradedTimeout: 600 };
  const a = side(null, tunables), b = side(null, tunables);
  try {
    introduce(a, b);
    const until = async (want: string, answer: boolean) => {
      for (let i = 0; i < 500 && a.magic.pathOf(b.nodeKey).state !== want; i++) {
        await new Promise((r) => setTimeout(r, 5));
        a.udp.drain();
        if (answer) b.udp.drain();
      }
      return a.magic.pathOf(b.nodeKey).state;
    };
    a.magic.send([new Uint8Array(32)], [32], [b.nodeKey], 1, 0);
    assert.equal(await until("direct", true), "direct");
    // b stops answering: only a's own timers can send the heartbeats and count them missed.
    assert.equal(await until("degraded", false), "degraded");
    assert.equal(await until("relay-only", false), "relay-only");
    assert.equal(a.magic.pathOf(b.nodeKey).kind, "derp");
  } finally {
    await a.magic.close();
    await b.magic.close();
    a.udp.close();
    b.udp.close();
  }
});

Deno.test("Magicsock.onSendPath tells a plane elsewhere each change: DERP, then the verified address alone, then DERP too when the trust runs out with no traffic", async () => {
  const tunables = { heartbeatInterval: 10_000, trustUDPAddrDuration: 300 };
  const told: string[] = [];
  const onSendPath = (_k: Uint8Array, udp: Uint8Array | null, derp: boolean) =>
    told.push(`${udp ? endpointToString(udp) : "-"}${derp ? " +derp" : ""}`);
  const a = side(null, tunables, { onSendPath }), b = side(null, tunables);
  try {
    introduce(a, b);
    assert.deepEqual(told, ["- +derp"], "a new peer starts on DERP");
    // The plane reports traffic instead of sending through magicsock; DERP takes its share.
    a.magic.noteSend(b.nodeKey);
    for (let i = 0; i < 200 && told.length < 2; i++) {
      await new Promise((r) => setTimeout(r, 5));
      a.udp.drain();
      b.udp.drain();
    }
    const direct = `127.0.0.1:${b.udp.port}`;
    assert.deepEqual(told, ["- +derp", direct], "a pong makes the address trusted: UDP alone");
    // Nothing renews the trust (no heartbeat for 10 s): magicsock's own timer says DERP too.
    for (let i = 0; i < 200 && told.length < 3; i++) await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(told, ["- +derp", direct, `${direct} +derp`]);
    const dropped = a.magic.dropped;
    a.magic.sendDerp(new Uint8Array(32), new Uint8Array(40));
    assert.equal(
      a.magic.dropped,
      dropped + 1,
      "a packet for a peer magicsock does not know is counted",
    );
  } finally {
    await a.magic.close();
    await b.magic.close();
    a.udp.close();
    b.udp.close();
  }
});
