import assert from "node:assert/strict";
import { parsePrefix } from "../net/ip.ts";
import { FakeClock } from "./clock.ts";
import { Device } from "./device.ts";
import {
  KEEPALIVE_SIZE,
  openKeepalive,
  sealKeepalive,
  sendingKeypair,
} from "./keepalive_asleep.ts";
import { wipeSavedSessions } from "./session_state.ts";
import { devicePair, RecordingTun } from "./testing.ts";
import { DEFAULT_TIMINGS } from "./timings.ts";

/** Two devices with a session: `a` sent `b` one data packet, so both have a current session. */
function pair() {
  const p = devicePair();
  p.send();
  p.net.deliver();
  return p;
}

Deno.test("sealKeepalive: a sleeping device's keepalive is one its peer's device takes, and the next device goes on past its counter", () => {
  const { net, a, b, send } = pair();
  const saved = a.dev.saveSessions();
  const kp = sendingKeypair(saved[0], 0, DEFAULT_TIMINGS);
  assert.ok(kp, "a has a current session to send on");
  const counter = kp.sendCounter;
  const msgs = [sealKeepalive(kp), sealKeepalive(kp)];
  assert.equal(kp.sendCounter, counter + 2, "each keepalive took a counter");
  assert.equal(msgs[0].length, KEEPALIVE_SIZE);
  const rx = b.dev.peers()[0].rxBytes;
  b.dev.receivePackets(msgs, msgs.map((m) => m.length), [a.ep, a.ep], 2);
  assert.equal(b.dev.peers()[0].rxBytes, rx + 2 * KEEPALIVE_SIZE, "both authenticated");
  assert.equal(b.dev.drops.unauthenticated + b.dev.drops.replay, 0);

  // The next device of a's, from the sessions the keepalives used: its first packet is new to b.
  const c = new Device({
    privateKey: new Uint8Array(32), // only the restored session is used
    bind: net.bind(a.ep),
    tun: new RecordingTun(),
    clock: new FakeClock(1_000),
  });
  c.addPeer({ publicKey: b.pub, endpoint: b.ep, allowedIps: [parsePrefix("10.0.0.2/32")] });
  c.restoreSessions(saved, 0);
  wipeSavedSessions(saved);
  net.attach(a.ep, c);
  const before = b.tun.packets.length;
  send(c);
  net.deliver();
  assert.equal(b.tun.packets.length, before + 1, "its packet was not taken for a replay");
  assert.equal(b.dev.drops.replay, 0);
});

Deno.test("openKeepalive: a peer's keepalive is taken once, newer than any received; tampered, replayed or to no session it is not", () => {
  const { net, a, b } = pair();
  const saved = b.dev.saveSessions();
  // A keepalive from a: its device's own, off the wire.
  const msg = (() => {
    const s = a.dev.saveSessions();
    const m = sealKeepalive(sendingKeypair(s[0], 0, DEFAULT_TIMINGS)!);
    wipeSavedSessions(s);
    return m;
  })();
  const tampered = msg.slice();
  tampered[20] ^= 1;
  assert.equal(openKeepalive(tampered, saved, 0, DEFAULT_TIMINGS), null, "a wrong tag");
  const other = msg.slice();
  other[4] ^= 0xff;
  assert.equal(openKeepalive(other, saved, 0, DEFAULT_TIMINGS), null, "no such session");
  assert.equal(
    openKeepalive(msg, saved, DEFAULT_TIMINGS.rejectAfterTime, DEFAULT_TIMINGS),
    null,
    "past Reject-After-Time",
  );
  assert.equal(openKeepalive(msg, saved, 0, DEFAULT_TIMINGS), saved[0]);
  assert.equal(openKeepalive(msg, saved, 0, DEFAULT_TIMINGS), null, "the same counter again");
  const data = new Uint8Array(KEEPALIVE_SIZE + 16);
  data.set(msg);
  assert.equal(openKeepalive(data, saved, 0, DEFAULT_TIMINGS), null, "not empty: the device's");
  assert.equal(net.queue.length, 0);
});

Deno.test("sendingKeypair: none past Reject-After-Time or the message limit, or without a current session", () => {
  const { b } = pair();
  const [peer] = b.dev.saveSessions();
  const t = DEFAULT_TIMINGS;
  assert.equal(peer.keypairs[0].isInitiator, false);
  assert.ok(sendingKeypair(peer, t.rejectAfterTime - peer.keypairs[0].ageMs - 1, t));
  assert.equal(sendingKeypair(peer, t.rejectAfterTime, t), null);
  peer.keypairs[0].sendCounter = t.rejectAfterMessages;
  assert.equal(sendingKeypair(peer, 0, t), null);
  assert.equal(sendingKeypair({ ...peer, keypairs: [] }, 0, t), null);
});

Deno.test("sendingKeypair: none for the initiator past Rekey-After-Time, whose device rekeys", () => {
  const { a } = pair();
  const [peer] = a.dev.saveSessions();
  const t = DEFAULT_TIMINGS;
  assert.equal(peer.keypairs[0].isInitiator, true);
  assert.ok(sendingKeypair(peer, t.rekeyAfterTime - peer.keypairs[0].ageMs - 1, t));
  assert.equal(sendingKeypair(peer, t.rekeyAfterTime, t), null);
  peer.keypairs[0].sendCounter = t.rekeyAfterMessages;
  assert.equal(sendingKeypair(peer, 0, t), null);
});
