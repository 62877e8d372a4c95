import assert from "node:assert/strict";
import { generatePrivateKey, publicKeyFrom } from "../crypto/x25519.ts";
import { parsePrefix } from "../net/ip.ts";
import { FakeClock } from "./clock.ts";
import { Device, type DeviceOptions } from "./device.ts";
import { fakeEndpoint, ipPacket, MemoryNetwork, RecordingTun } from "./testing.ts";

interface Node {
  dev: Device;
  tun: RecordingTun;
  ep: Uint8Array;
  pub: Uint8Array;
  priv: Uint8Array;
}

/** Two devices, A = 10.0.0.1 and B = 10.0.0.2, on one fake network and clock. */
function pair(opts: { psk?: boolean; b?: Partial<DeviceOptions>; keepalive?: number } = {}) {
  const clock = new FakeClock(1_000);
  const net = new MemoryNetwork();
  const psk = opts.psk ? crypto.getRandomValues(new Uint8Array(32)) : null;
  const make = (id: number, extra: Partial<DeviceOptions> = {}): Node => {
    const priv = generatePrivateKey();
    const ep = fakeEndpoint(id);
    const tun = new RecordingTun();
    const dev = new Device({ privateKey: priv, bind: net.bind(ep), tun, clock, ...extra });
    net.attach(ep, dev);
    return { dev, tun, ep, pub: publicKeyFrom(priv), priv };
  };
  const a = make(1);
  const b = make(2, opts.b);
  a.dev.addPeer({
    publicKey: b.pub,
    presharedKey: psk,
    endpoint: b.ep,
    allowedIps: [parsePrefix("10.0.0.2/32"), parsePrefix("fd00::2/128")],
    persistentKeepalive: opts.keepalive,
  });
  b.dev.addPeer({
    publicKey: a.pub,
    presharedKey: psk,
    endpoint: a.ep,
    allowedIps: [parsePrefix("10.0.0.1/32"), parsePrefix("fd00::1/128")],
  });
  return { clock, net, a, b };
}

function send(from: Node, src: string, dst: string, text: string): void {
  const { buf, size } = ipPacket(src, dst, new TextEncoder().encode(text));
  from.dev.sendPackets([buf], [size], 16, 1);
}

function payloads(tun: RecordingTun): string[] {
  return tun.packets.map((p) => new TextDecoder().decode(p.subarray(p[0] >> 4 === 4 ? 20 : 40)));
}

Deno.test("Device delivers a packet after a handshake started by the sender", () => {
  const { net, a, b } = pair();
  send(a, "10.0.0.1", "10.0.0.2", "hello");
  assert.equal(net.queue.length, 1, "one initiation");
  assert.equal(net.queue[0].data[0], 1);
  net.deliver();
  assert.deepEqual(payloads(b.tun), ["hello"]);
  const peerOfB = b.dev.peer(a.pub)!;
  assert.ok(peerOfB.current !== null && peerOfB.next === null, "responder confirmed the session");
  assert.ok(a.dev.peer(b.pub)!.lastHandshakeWall > 0);
});

Deno.test("Device completes handshakes initiated from either side, with a preshared key", () => {
  const { net, a, b } = pair({ psk: true });
  send(b, "10.0.0.2", "10.0.0.1", "from b");
  net.deliver();
  send(a, "10.0.0.99", "10.0.0.2", "spoofed source");
  send(a, "10.0.0.1", "10.0.0.2", "from a");
  net.deliver();
  assert.deepEqual(payloads(a.tun), ["from b"]);
  assert.deepEqual(payloads(b.tun), ["from a"]);
  send(a, "fd00::1", "fd00::2", "v6");
  net.deliver();
  assert.deepEqual(payloads(b.tun), ["from a", "v6"]);
  // 10.0.0.99 is not among A's allowed IPs at B: the source check drops it.
  assert.equal(b.dev.drops.sourceNotAllowed, 1);
});

Deno.test("Device fails the handshake when the preshared keys differ", () => {
  const { net, a, b } = pair({ psk: true });
  b.dev.addPeer({
    publicKey: a.pub,
    presharedKey: new Uint8Array(32).fill(7),
    endpoint: a.ep,
    allowedIps: [parsePrefix("10.0.0.1/32")],
  });
  send(a, "10.0.0.1", "10.0.0.2", "x");
  net.deliver();
  assert.deepEqual(b.tun.packets, []);
  assert.equal(a.dev.drops.handshake, 1);
});

Deno.test("Device drops a replayed transport packet", () => {
  const { net, a, b } = pair();
  send(a, "10.0.0.1", "10.0.0.2", "one");
  net.deliver();
  send(a, "10.0.0.1", "10.0.0.2", "two");
  const captured = net.queue[0];
  net.deliver();
  net.queue.push(captured);
  net.deliver();
  assert.deepEqual(payloads(b.tun), ["one", "two"]);
  assert.equal(b.dev.drops.replay, 1);
});

Deno.test("Device drops tampered and unknown-index transport packets", () => {
  const { net, a, b } = pair();
  send(a, "10.0.0.1", "10.0.0.2", "one");
  net.deliver();
  send(a, "10.0.0.1", "10.0.0.2", "two");
  const d = net.queue.shift()!;
  const tampered = { ...d, data: d.data.slice() };
  tampered.data[20] ^= 1;
  const unknown = { ...d, data: d.data.slice() };
  unknown.data[4] ^= 0xff;
  net.queue.push(tampered, unknown, d);
  net.deliver();
  assert.deepEqual(payloads(b.tun), ["one", "two"]);
  assert.equal(b.dev.drops.unauthenticated, 2);
});

Deno.test("Device rekeys after REKEY_AFTER_TIME and keeps traffic flowing", () => {
  const { clock, net, a, b } = pair();
  send(a, "10.0.0.1", "10.0.0.2", "first");
  net.deliver();
  const before = a.dev.peer(b.pub)!.current!;
  clock.advance(121_000);
  send(a, "10.0.0.1", "10.0.0.2", "old session, triggers rekey");
  assert.equal(net.queue.length, 2, "data plus a new initiation");
  net.deliver();
  send(a, "10.0.0.1", "10.0.0.2", "new session");
  net.deliver();
  const after = a.dev.peer(b.pub)!.current!;
  assert.notEqual(after, before);
  assert.equal(a.dev.peer(b.pub)!.previous, before);
  assert.deepEqual(payloads(b.tun), ["first", "old session, triggers rekey", "new session"]);
});

Deno.test("Device stops using a session after REJECT_AFTER_TIME and wipes keys later", () => {
  const { clock, net, a, b } = pair();
  send(a, "10.0.0.1", "10.0.0.2", "first");
  net.deliver();
  clock.advance(181_000);
  net.queue = [];
  send(a, "10.0.0.1", "10.0.0.2", "after expiry");
  assert.equal(net.queue.length, 1);
  assert.equal(net.queue[0].data[0], 1, "only a new initiation, the packet is staged");
  net.queue = [];
  clock.advance(540_000);
  b.dev.tick();
  assert.equal(b.dev.peer(a.pub)!.current, null, "zeroKeyMaterial fired");
});

Deno.test("Device retransmits an unanswered initiation and gives up after REKEY_ATTEMPT_TIME", () => {
  const { clock, net, a } = pair();
  send(a, "10.0.0.1", "10.0.0.2", "lost");
  let initiations = 0;
  for (let t = 0; t < 120_000; t += 500) {
    initiations += net.queue.filter((d) => d.data[0] === 1).length;
    net.queue = [];
    clock.advance(500);
    a.dev.tick();
  }
  // One initiation plus 18 retries (90 s / 5 s), then silence.
  assert.equal(initiations, 19);
  assert.deepEqual(a.dev.peer(a.dev.peers()[0].publicKey)!.staged, []);
});

Deno.test("Device answers with a cookie under load and accepts the retry carrying mac2", () => {
  const { clock, net, a, b } = pair({ b: { loadMode: "always" } });
  send(a, "10.0.0.1", "10.0.0.2", "behind a cookie");
  net.deliver();
  assert.deepEqual(b.tun.packets, []);
  assert.ok(a.dev.peer(b.pub)!.handshake !== null);
  clock.advance(5_400);
  a.dev.tick();
  net.deliver();
  assert.deepEqual(payloads(b.tun), ["behind a cookie"]);
  assert.equal(b.dev.drops.handshake, 1, "only the first initiation was refused");
});

Deno.test("Device follows a roaming peer to its new endpoint", () => {
  const { net, a, b } = pair();
  send(a, "10.0.0.1", "10.0.0.2", "one");
  net.deliver();
  const moved = fakeEndpoint(9);
  net.attach(moved, a.dev);
  send(a, "10.0.0.1", "10.0.0.2", "from elsewhere");
  for (const d of net.queue) d.from = moved;
  net.deliver();
  assert.deepEqual(b.dev.peer(a.pub)!.endpoint, moved);
  send(b, "10.0.0.2", "10.0.0.1", "reply");
  assert.deepEqual(net.queue[0].to, moved);
});

Deno.test("Device sends a keepalive when it received data and had nothing to send", () => {
  const { clock, net, a, b } = pair();
  send(a, "10.0.0.1", "10.0.0.2", "one");
  net.deliver();
  clock.advance(10_001);
  b.dev.tick();
  assert.equal(net.queue.length, 1);
  assert.equal(net.queue[0].data.length, 32, "an empty transport message");
  const rx = a.dev.peer(b.pub)!.rxBytes;
  net.deliver();
  assert.equal(a.dev.peer(b.pub)!.rxBytes, rx + 32);
  assert.equal(a.tun.packets.length, 0, "keepalives are not written to the TUN");
});

Deno.test("Device sends persistent keepalives at the configured interval", () => {
  const { clock, net, a } = pair({ keepalive: 25 });
  net.deliver();
  net.queue = [];
  let sent = 0;
  for (let t = 0; t < 100_000; t += 1_000) {
    clock.advance(1_000);
    a.dev.tick();
    sent += net.queue.length;
    net.deliver();
  }
  assert.ok(sent >= 4 && sent <= 5, `expected 4 keepalives in 100 s, got ${sent}`);
});

Deno.test("Device rekeys a session that carries only keepalives after REKEY_AFTER_TIME", () => {
  const { clock, net, a, b } = pair({ keepalive: 25 });
  net.deliver();
  const first = a.dev.peer(b.pub)!.current!;
  let initiations = 0;
  for (let t = 0; t < 130_000; t += 1_000) {
    clock.advance(1_000);
    a.dev.tick();
    b.dev.tick();
    initiations += net.queue.filter((d) => d.data[0] === 1).length;
    net.deliver();
  }
  assert.equal(initiations, 1, "one initiation, from the keepalive after 120 s");
  assert.notEqual(a.dev.peer(b.pub)!.current, first);
  assert.equal(a.dev.peer(b.pub)!.previous, first);
});

Deno.test("Device drops packets to destinations no peer owns", () => {
  const { net, a } = pair();
  send(a, "10.0.0.1", "10.9.9.9", "nowhere");
  assert.equal(net.queue.length, 0);
  assert.equal(a.dev.drops.noRoute, 1);
});

Deno.test("Device ignores malformed datagrams and keeps serving", () => {
  const { net, a, b } = pair();
  for (
    const bytes of [[1], [4, 0, 0, 0, 1], [9, 0, 0, 0], [1, 0, 0, 0, ...new Array(144).fill(0)]]
  ) {
    net.queue.push({ from: a.ep, to: b.ep, data: new Uint8Array(bytes) });
  }
  net.deliver();
  send(a, "10.0.0.1", "10.0.0.2", "still fine");
  net.deliver();
  assert.deepEqual(payloads(b.tun), ["still fine"]);
  assert.ok(b.dev.drops.malformed + b.dev.drops.handshake >= 4);
});

/** Runs both devices' timers and the network for `ms`, a second at a time. */
function runFor(ms: number, clock: FakeClock, net: MemoryNetwork, a: Node, b: Node): void {
  for (let t = 0; t < ms; t += 1_000) {
    clock.advance(1_000);
    a.dev.tick();
    b.dev.tick();
    net.deliver();
  }
}

Deno.test("Device is at rest once no handshake or keepalive is owed, sessions or not", () => {
  const { clock, net, a, b } = pair();
  assert.ok(a.dev.atRest() && b.dev.atRest(), "peers configured, nothing exchanged");
  send(a, "10.0.0.1", "10.0.0.2", "hello");
  assert.ok(!a.dev.atRest(), "a handshake is under way, the packet staged");
  net.deliver();
  assert.deepEqual(payloads(b.tun), ["hello"]);
  // The responder owes a keepalive until its own data or the keepalive timeout.
  assert.ok(!b.dev.atRest());
  assert.ok(!a.dev.atRest(), "a waits for an answer to its data (new-handshake timer)");
  runFor(20_000, clock, net, a, b);
  assert.ok(a.dev.atRest() && b.dev.atRest(), "sessions live, nothing owed");
  send(b, "10.0.0.2", "10.0.0.1", "later");
  assert.ok(!b.dev.atRest(), "new data waits for an answer");
  net.deliver();
  assert.deepEqual(payloads(a.tun), ["later"]);
});

/** Replaces `node`'s device by a new one with its key and peer, restored from its sessions. */
function moveDevice(net: MemoryNetwork, node: Node, peer: Node, afterMs: number, clock: FakeClock) {
  const saved = node.dev.saveSessions();
  const allowedIps = node.dev.allowedIpsOf(node.dev.peer(peer.pub)!);
  node.dev.close();
  clock.advance(afterMs);
  const dev = new Device({ privateKey: node.priv, bind: net.bind(node.ep), tun: node.tun, clock });
  dev.addPeer({ publicKey: peer.pub, endpoint: peer.ep, allowedIps });
  dev.restoreSessions(saved, afterMs);
  net.attach(node.ep, dev);
  node.dev = dev;
  return saved;
}

Deno.test("Device sessions move to a new device: no handshake, counters go on, replays refused", () => {
  const { clock, net, a, b } = pair();
  send(a, "10.0.0.1", "10.0.0.2", "one");
  net.deliver();
  send(b, "10.0.0.2", "10.0.0.1", "two");
  const captured = net.queue.map((d) => ({ ...d, data: d.data.slice() }));
  net.deliver();
  runFor(20_000, clock, net, a, b);
  const handshakeAt = a.dev.peer(b.pub)!.lastHandshakeWall;
  const saved = moveDevice(net, a, b, 5_000, clock);
  assert.equal(saved.length, 1);
  assert.equal(saved[0].keypairs.length, 1, "a's one session");
  assert.ok(saved[0].keypairs[0].sendCounter > 0);

  // b's old packet, replayed to the new device, is refused; b's next one is taken.
  for (const d of captured) net.queue.push(d);
  net.deliver();
  assert.deepEqual(payloads(a.tun), ["two"], "the replay was not delivered again");
  assert.equal(a.dev.drops.replay, 1);
  send(b, "10.0.0.2", "10.0.0.1", "three");
  send(a, "10.0.0.1", "10.0.0.2", "four");
  assert.equal(net.queue.length, 2);
  assert.ok(net.queue.every((d) => d.data[0] === 4), "transport at once: no initiation");
  net.deliver();
  assert.deepEqual(payloads(a.tun), ["two", "three"]);
  assert.deepEqual(payloads(b.tun), ["one", "four"], "b's replay window took a's next counter");
  assert.equal(a.dev.peer(b.pub)!.lastHandshakeWall, handshakeAt);
  assert.equal(b.dev.drops.replay, 0);
});

Deno.test("Device restore drops sessions that aged out and keeps the initiation timestamp", () => {
  const { clock, net, a, b } = pair();
  send(b, "10.0.0.2", "10.0.0.1", "hi");
  const initiation = net.queue[0].data.slice();
  net.deliver();
  runFor(20_000, clock, net, a, b);
  const saved = moveDevice(net, a, b, 180_000, clock);
  assert.equal(saved[0].keypairs.length, 1);
  assert.ok(saved[0].lastInitiationTimestamp !== null);
  const peer = a.dev.peer(b.pub)!;
  assert.ok(peer.current === null && peer.previous === null, "past Reject-After-Time: not taken");
  // An old initiation replayed to the new device is refused by its timestamp.
  const before = a.dev.drops.handshake;
  net.queue.push({ from: b.ep, to: a.ep, data: initiation });
  net.deliver(1);
  assert.equal(a.dev.drops.handshake, before + 1);
  assert.equal(net.queue.length, 0, "no response to a replayed initiation");
  // A fresh exchange works as after any expiry.
  send(a, "10.0.0.1", "10.0.0.2", "again");
  net.deliver();
  assert.deepEqual(payloads(b.tun), ["again"]);
  assert.ok(saved[0].keypairs[0].sendKey.some((x) => x !== 0), "the caller owns the saved copy");
});

Deno.test("Device with a persistent keepalive is never at rest", () => {
  const { a } = pair({ keepalive: 25 });
  assert.ok(!a.dev.atRest());
});
