import assert from "node:assert/strict";
import { toHex } from "../bytes/hex.ts";
import { KEEPALIVE_SIZE, sealKeepalive } from "../wireguard/keepalive_asleep.ts";
import type { SavedKeypair, SavedPeer } from "../wireguard/session_state.ts";
import { DEFAULT_TIMINGS } from "../wireguard/timings.ts";
import type { WgPeerCarry } from "./plane_messages.ts";
import { SleepKeepalives } from "./sleep_keepalives.ts";
import { type PlaneSessions, sharedNow } from "./ts_plane_messages.ts";

const KEY = new Uint8Array(32).fill(7), OTHER = new Uint8Array(32).fill(8);
const EP = new Uint8Array(28).fill(1), ROAMED = new Uint8Array(28).fill(2);

function keypair(): SavedKeypair {
  return {
    slot: "current",
    sendKey: new Uint8Array(32).fill(3),
    recvKey: new Uint8Array(32).fill(3), // the same both ways: a message to itself opens
    isInitiator: true,
    ageMs: 1_000,
    localIndex: 11,
    remoteIndex: 11,
    sendCounter: 5,
    highestReceived: 4,
  };
}

function setup(keepaliveInMs: number | null = 0) {
  const carry = (publicKey: Uint8Array): WgPeerCarry => ({
    publicKey,
    endpoint: EP.slice(),
    rxBytes: 0,
    txBytes: 0,
    keepaliveInMs,
  });
  const carried = [carry(KEY), carry(OTHER)];
  const peer: SavedPeer = {
    publicKey: KEY,
    keypairs: [keypair()],
    lastInitiationTimestamp: null,
    lastHandshakeWall: 0,
  };
  const sessions: PlaneSessions = { peers: [peer], savedAt: sharedNow(), keysUntil: Infinity };
  // Only KEY has a persistent keepalive.
  const ka = new SleepKeepalives(DEFAULT_TIMINGS, new Map([[toHex(KEY), 25_000]]));
  ka.start(carried);
  const sent: { msg: Uint8Array; ep: Uint8Array }[] = [];
  const send = (msg: Uint8Array, ep: Uint8Array) => sent.push({ msg, ep });
  return { ka, carried, peer, sessions, sent, send };
}

Deno.test("SleepKeepalives: before its codec is loaded a keepalive needs the Worker and a peer's is left to it", () => {
  const ka = new SleepKeepalives(DEFAULT_TIMINGS, new Map());
  const { sessions, carried, send, sent } = setup(0);
  const theirs = sealKeepalive({ ...keypair(), sendCounter: 9 });
  assert.equal(ka.take(theirs, ROAMED, sessions, carried), false, "not loaded: the Worker's");
  assert.equal(sent.length, 0);
  return ka.ready.then(() => {
    assert.equal(ka.take(theirs, ROAMED, sessions, carried), true, "then taken here");
    assert.equal(ka.tick(sessions, send), false, "no interval: nothing to send");
  });
});

Deno.test("SleepKeepalives: a due keepalive goes out on the kept session with its next counter, and the next is an interval later", async () => {
  const { ka, carried, peer, sessions, sent, send } = setup(0);
  await ka.ready;
  assert.ok(ka.due <= performance.now(), "due at once, as the Worker said");
  assert.equal(ka.tick(sessions, send), false);
  assert.equal(sent.length, 1, "one keepalive, for the one peer with an interval");
  assert.equal(sent[0].msg.length, KEEPALIVE_SIZE);
  assert.deepEqual(sent[0].ep, EP);
  assert.equal(new DataView(sent[0].msg.buffer).getUint32(8, true), 5, "counter 5");
  assert.equal(peer.keypairs[0].sendCounter, 6, "the next device goes on from 6");
  assert.equal(carried[0].txBytes, KEEPALIVE_SIZE);
  const next = ka.due - performance.now();
  assert.ok(next > 24_000 && next <= 25_000, `next in ${next} ms`);
  assert.equal(ka.tick(sessions, send), false);
  assert.equal(sent.length, 1, "not again before it is due");
});

Deno.test("SleepKeepalives: with no usable session the Worker is needed; a peer's keepalive is taken, roams and puts ours off", async () => {
  const { ka, carried, peer, sessions, sent, send } = setup(0);
  await ka.ready;
  assert.equal(ka.tick(null, send), true, "no sessions kept");
  assert.equal(sent.length, 0);

  const s2 = setup(60_000);
  assert.ok(s2.ka.due - performance.now() > 59_000, "due when the Worker said");
  const expired = { ...s2.sessions, savedAt: sharedNow() - DEFAULT_TIMINGS.rejectAfterTime };
  const forced = new SleepKeepalives(DEFAULT_TIMINGS, new Map([[toHex(KEY), 25_000]]));
  forced.start(s2.carried.map((c) => ({ ...c, keepaliveInMs: 0 })));
  await forced.ready;
  assert.equal(forced.tick(expired, s2.send), true, "past Reject-After-Time: the Worker rekeys");
  assert.equal(s2.sent.length, 0);

  // The peer's keepalive (sealed with the same key here, as keypair() makes it).
  const theirs = sealKeepalive({ ...keypair(), sendCounter: 9 });
  assert.equal(ka.take(theirs, ROAMED, sessions, carried), true);
  assert.equal(peer.keypairs[0].highestReceived, 9);
  assert.equal(carried[0].rxBytes, KEEPALIVE_SIZE);
  assert.deepEqual(carried[0].endpoint, ROAMED, "the device would follow it");
  assert.ok(ka.due - performance.now() > 24_000, "an authenticated packet puts ours off");
  assert.equal(ka.take(theirs, ROAMED, sessions, carried), false, "a replay is the Worker's");
  assert.equal(ka.take(theirs, ROAMED, null, carried), false);
});
