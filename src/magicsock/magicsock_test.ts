import assert from "node:assert/strict";
import { UdpSocket } from "../../ffi/udp.ts";
import { generatePrivateKey, publicKeyFrom } from "../crypto/x25519.ts";
import { Magicsock } from "./magicsock.ts";
import { UdpConn } from "./udp_conn.ts";
import type { DiscoTunables } from "../disco/tunables.ts";

/**
 * One node's socket layer on a loopback UDP socket, with a clock the test moves (or, with
 * `clock` null, the real clock and magicsock's own timers).
 */
function side(clock: { t: number } | null, tunables?: Partial<DiscoTunables>) {
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
