import assert from "node:assert/strict";
import type { SavedPeer } from "../wireguard/session_state.ts";
import { KeptSessions } from "./kept_sessions.ts";

function peer(fill: number): SavedPeer {
  return {
    publicKey: new Uint8Array(32).fill(fill),
    keypairs: [{
      slot: "current",
      sendKey: new Uint8Array(32).fill(fill),
      recvKey: new Uint8Array(32).fill(fill + 1),
      isInitiator: true,
      ageMs: 0,
      localIndex: 1,
      remoteIndex: 2,
      sendCounter: 3,
      highestReceived: 4,
    }],
    lastInitiationTimestamp: new Uint8Array(12).fill(9),
    lastHandshakeWall: 1234,
  };
}

Deno.test("KeptSessions wipes keys when dropped, replaced, or past their last use", () => {
  const kept = new KeptSessions();
  assert.equal(kept.asleepLine(), "data plane asleep: no traffic (0 sessions kept)");
  const a = peer(1);
  kept.keep({ peers: [a], savedAt: 0, keysUntil: 100 });
  assert.equal(kept.asleepLine(), "data plane asleep: no traffic (1 session kept)");
  kept.expireIfStale(99);
  assert.equal(kept.current?.peers[0].keypairs.length, 1, "still usable");
  kept.expireIfStale(100);
  assert.deepEqual(a.keypairs[0].sendKey, new Uint8Array(32), "wiped once stale");
  assert.deepEqual(kept.current?.peers[0].keypairs, []);
  assert.deepEqual(kept.current?.peers[0].lastInitiationTimestamp, new Uint8Array(12).fill(9));
  assert.equal(kept.current?.peers[0].lastHandshakeWall, 1234, "handshake memory kept");

  const b = peer(5), c = peer(7);
  kept.keep({ peers: [b], savedAt: 0, keysUntil: 1e15 });
  kept.keep({ peers: [c], savedAt: 0, keysUntil: 1e15 });
  assert.deepEqual(b.keypairs[0].recvKey, new Uint8Array(32), "replaced: wiped");
  kept.drop();
  assert.deepEqual(c.keypairs[0].sendKey, new Uint8Array(32), "dropped: wiped");
  assert.equal(kept.current, null);
});
