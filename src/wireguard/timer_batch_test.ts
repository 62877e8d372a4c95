import assert from "node:assert/strict";
import { Peer } from "./peer.ts";
import { TimerBatch } from "./timer_batch.ts";
import { DEFAULT_TIMINGS } from "./timings.ts";
import { mulberry32 } from "../testing/prng.ts";

const KINDS = [
  "retransmitHandshake",
  "sendKeepalive",
  "newHandshake",
  "zeroKeyMaterial",
  "persistentKeepalive",
] as const;

function peer(persistentKeepalive: number): Peer {
  return new Peer(
    { publicKey: new Uint8Array(32).fill(9), persistentKeepalive },
    DEFAULT_TIMINGS,
    new Uint8Array(32),
    () => 0.5,
  );
}

/** A peer's timer state, to compare. */
function state(p: Peer) {
  return { ...p.timers.deadlines, another: p.timers.needAnotherKeepalive };
}

/** What the device did per packet before the batch: each packet's events at once. */
function perPacket(p: Peer, event: "data" | "keepalive", now: number): void {
  const t = p.timers;
  t.anyAuthenticatedPacketReceived();
  t.anyAuthenticatedPacketTraversal(now, p.persistentKeepaliveMs);
  if (event === "data") t.dataReceived(now);
}

Deno.test("a settled batch leaves the timers as running each packet's events did", () => {
  const rand = mulberry32(13);
  for (let round = 0; round < 300; round++) {
    const keepalive = rand() < 0.5 ? 0 : 25;
    const direct = [peer(keepalive), peer(keepalive)];
    const batched = [peer(keepalive), peer(keepalive)];
    const batch = new TimerBatch();
    let now = 1000.25;
    for (let b = 0; b < 6; b++) {
      // Timers as they may stand between batches: some running, some not.
      for (let i = 0; i < 2; i++) {
        for (const k of KINDS) {
          const d = rand() < 0.5 ? Infinity : now + Math.floor(rand() * 10_000);
          direct[i].timers.deadlines[k] = batched[i].timers.deadlines[k] = d;
        }
        direct[i].timers.needAnotherKeepalive = batched[i].timers.needAnotherKeepalive = false;
      }
      const n = Math.floor(rand() * 5);
      for (let j = 0; j < n; j++) {
        const i = rand() < 0.7 ? 0 : 1;
        const event = rand() < 0.7 ? "data" : "keepalive";
        perPacket(direct[i], event, now);
        batch.received(batched[i], event === "data");
      }
      batch.settle(now);
      for (let i = 0; i < 2; i++) {
        assert.deepEqual(
          state(batched[i]),
          state(direct[i]),
          `round ${round} batch ${b} peer ${i}`,
        );
      }
      now += 7.5;
    }
  }
});

Deno.test("a settled batch is empty: settling again changes nothing", () => {
  const p = peer(0);
  const batch = new TimerBatch();
  batch.received(p, true);
  batch.settle(100);
  assert.equal(p.timers.deadlines.sendKeepalive, 100 + DEFAULT_TIMINGS.keepaliveTimeout);
  p.timers.stop("sendKeepalive");
  batch.settle(200);
  assert.equal(p.timers.deadlines.sendKeepalive, Infinity);
});
