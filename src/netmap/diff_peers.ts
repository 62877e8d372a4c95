/**
 * Comparing two netmaps' peers by node key, so the daemon can add, remove
 * and update WireGuard peers without tearing down the ones that stay.
 *
 * @module
 */
import type { Node } from "./tailcfg.ts";
import type { NetworkMap } from "./network_map.ts";

/** What changed between two peer sets, keyed by node key (`nodekey:…`). */
export interface PeerDiff {
  /** Peers whose key is new. */
  added: Node[];
  /** Peers whose key is gone. */
  removed: Node[];
  /** Peers present in both whose node object differs; `fields` names what differs. */
  changed: { before: Node; after: Node; fields: string[] }[];
  /** Count of peers present in both and identical. */
  unchanged: number;
}

/**
 * Diffs peers by node key. A peer that rotated its key counts as removed
 * (old key) plus added (new key): WireGuard sees a different peer.
 *
 * @example
 * ```ts ignore
 * const d = diffPeers(oldNm, newNm);
 * for (const p of d.removed) wg.removePeer(p.Key);
 * ```
 */
export function diffPeers(
  oldMap: NetworkMap | Iterable<Node> | null,
  newMap: NetworkMap | Iterable<Node> | null,
): PeerDiff {
  const before = byKey(oldMap);
  const after = byKey(newMap);
  const diff: PeerDiff = { added: [], removed: [], changed: [], unchanged: 0 };
  for (const [key, n] of after) {
    const o = before.get(key);
    if (o === undefined) {
      diff.added.push(n);
      continue;
    }
    const fields = changedFields(o, n);
    if (fields.length === 0) diff.unchanged++;
    else diff.changed.push({ before: o, after: n, fields });
  }
  for (const [key, o] of before) if (!after.has(key)) diff.removed.push(o);
  const byId = (a: Node, b: Node) => a.ID - b.ID;
  diff.added.sort(byId);
  diff.removed.sort(byId);
  diff.changed.sort((a, b) => byId(a.after, b.after));
  return diff;
}

function byKey(src: NetworkMap | Iterable<Node> | null): Map<string, Node> {
  const out = new Map<string, Node>();
  if (src === null) return out;
  const nodes = "peers" in src ? (src as NetworkMap).peers.values() : src as Iterable<Node>;
  for (const n of nodes) out.set(n.Key, n);
  return out;
}

function changedFields(a: Node, b: Node): string[] {
  if (a === b) return [];
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  const out: string[] = [];
  for (const k of keys) {
    const x = (a as unknown as Record<string, unknown>)[k];
    const y = (b as unknown as Record<string, unknown>)[k];
    if (x !== y && JSON.stringify(x) !== JSON.stringify(y)) out.push(k);
  }
  return out.sort();
}
