/**
 * Test helpers for the planner and the engine: netmap nodes with predictable keys and
 * addresses, and a key no WireGuard session can use.
 *
 * @module
 */
import type { Node } from "../netmap/tailcfg.ts";

/** Node `n`'s key: the byte n repeated 32 times. */
export const KEY = (n: number): string => "nodekey:" + n.toString(16).padStart(2, "0").repeat(32);

/** A point of order 8 on Curve25519: X25519 with it is all zeros for every private key. */
export const LOW_ORDER = "nodekey:e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800";

/** Node `id` with its own key and 100.64.0.id / fd7a:115c:a1e0::id, plus `extra`. */
export function node(id: number, extra: Partial<Node> = {}): Node {
  return {
    ID: id,
    StableID: `n${id}`,
    Name: `host${id}.tailnet.test.`,
    User: 1,
    Key: KEY(id),
    Addresses: [`100.64.0.${id}/32`, `fd7a:115c:a1e0::${id}/128`],
    ...extra,
  };
}
