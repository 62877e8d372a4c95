/**
 * Normalizing a wire `Node` so consumers read one field per fact (protocol
 * doc §4.4, pitfalls 9–10).
 *
 * @module
 */
import { DERP_MAGIC_IP, type Node } from "./tailcfg.ts";

/**
 * The node's home DERP region: `HomeDERP`, else the port of a legacy
 * `DERP: "127.3.3.40:<region>"`, else 0.
 *
 * @example
 * ```ts
 * homeDerpOf({ DERP: "127.3.3.40:999" } as never); // 999
 * ```
 */
export function homeDerpOf(node: Pick<Node, "HomeDERP" | "DERP">): number {
  if (node.HomeDERP !== undefined && node.HomeDERP > 0) return node.HomeDERP;
  const legacy = node.DERP;
  if (typeof legacy === "string" && legacy.startsWith(DERP_MAGIC_IP + ":")) {
    const n = Number(legacy.slice(DERP_MAGIC_IP.length + 1));
    if (Number.isSafeInteger(n) && n > 0) return n;
  }
  return 0;
}

/**
 * Returns a copy of `node` with `HomeDERP` resolved (see {@link homeDerpOf};
 * removed when 0) and a null/absent `AllowedIPs` replaced by `Addresses`
 * (capability version 112).
 */
export function normalizeNode(node: Node): Node {
  const out: Node = { ...node };
  const home = homeDerpOf(node);
  if (home > 0) out.HomeDERP = home;
  else delete out.HomeDERP;
  if (out.AllowedIPs === undefined || out.AllowedIPs === null) {
    out.AllowedIPs = out.Addresses === null || out.Addresses === undefined
      ? []
      : [...out.Addresses];
  }
  return out;
}
