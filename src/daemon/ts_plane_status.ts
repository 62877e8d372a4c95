/**
 * A tailnet data plane's counters summed over the Workers it has had: each Worker that fell
 * asleep left its last status, and the node reports everything since up.
 *
 * @module
 */
import type { FilterStats } from "../filter/filter.ts";
import { addDrops } from "../wireguard/drops.ts";
import type { TsPlaneStatus } from "./ts_plane_messages.ts";

/** `a` and `b` added: per peer the byte counters summed and the later handshake kept. */
export function mergePlaneStatus(a: TsPlaneStatus, b: TsPlaneStatus): TsPlaneStatus {
  const peers = new Map(a.peers.map((p) => [p.key, { ...p }]));
  for (const p of b.peers) {
    const q = peers.get(p.key);
    if (!q) peers.set(p.key, { ...p });
    else {
      q.rxBytes += p.rxBytes;
      q.txBytes += p.txBytes;
      q.lastHandshakeWall = Math.max(q.lastHandshakeWall, p.lastHandshakeWall);
    }
  }
  return {
    peers: [...peers.values()],
    drops: addDrops({ ...a.drops }, b.drops),
    noPath: a.noPath + b.noPath,
    filter: mergeFilter(a.filter, b.filter),
  };
}

function mergeFilter(a: FilterStats | null, b: FilterStats | null): FilterStats | null {
  if (a === null || b === null) return a ?? b;
  const byReason = { ...a.byReason };
  for (const [k, n] of Object.entries(b.byReason) as [keyof FilterStats["byReason"], number][]) {
    byReason[k] = (byReason[k] ?? 0) + n;
  }
  return { accepted: a.accepted + b.accepted, dropped: a.dropped + b.dropped, byReason };
}
