import assert from "node:assert/strict";
import { zeroDrops } from "../wireguard/drops.ts";
import { mergePlaneStatus } from "./ts_plane_status.ts";
import type { TsPlaneStatus } from "./ts_plane_messages.ts";

Deno.test("mergePlaneStatus sums a slept Worker's counters into the next one's", () => {
  const a: TsPlaneStatus = {
    peers: [{ key: "aa", rxBytes: 10, txBytes: 20, lastHandshakeWall: 5 }],
    drops: { ...zeroDrops(), replay: 2 },
    noPath: 1,
    filter: { accepted: 3, dropped: 1, byReason: { "no-rule": 1 } },
  };
  const b: TsPlaneStatus = {
    peers: [
      { key: "aa", rxBytes: 1, txBytes: 2, lastHandshakeWall: 9 },
      { key: "bb", rxBytes: 7, txBytes: 0, lastHandshakeWall: 0 },
    ],
    drops: { ...zeroDrops(), replay: 1, malformed: 4 },
    noPath: 0,
    filter: { accepted: 1, dropped: 2, byReason: { "no-rule": 1, "not-local": 1 } },
  };
  const m = mergePlaneStatus(a, b);
  assert.deepEqual(m.peers, [
    { key: "aa", rxBytes: 11, txBytes: 22, lastHandshakeWall: 9 },
    { key: "bb", rxBytes: 7, txBytes: 0, lastHandshakeWall: 0 },
  ]);
  assert.equal(m.drops.replay, 3);
  assert.equal(m.drops.malformed, 4);
  assert.equal(m.noPath, 1);
  assert.deepEqual(m.filter, {
    accepted: 4,
    dropped: 3,
    byReason: { "no-rule": 2, "not-local": 1 },
  });
  assert.equal(a.peers[0].rxBytes, 10, "inputs untouched");
  assert.deepEqual(mergePlaneStatus(a, { ...b, filter: null }).filter, a.filter);
});
