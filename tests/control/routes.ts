/**
 * Subnet routes and exit routes the way Headscale 0.28 keeps them: a node *announces* what
 * its `Hostinfo.RoutableIPs` lists, an admin *approves* a set (`headscale nodes
 * approve-routes`, which replaces the whole set), and what is both announced and approved is
 * served: exit routes (/0) to every peer, other prefixes only from the node that is *primary*
 * for them. Both go into the node's `AllowedIPs` (sorted as Go's tsaddr.SortPrefixes), the
 * primary ones also into `PrimaryRoutes`. Pure functions over node records.
 *
 * @module
 */
import { formatPrefix, parsePrefix } from "../../src/net/ip.ts";
import { isExitRoute, sortPrefixTexts } from "../../src/net/advertise_routes.ts";
import type { NodeRecord } from "./types.ts";

/** A node's routes as `headscale nodes list-routes -o json` shows them. */
export interface NodeRoutes {
  /** Announced in Hostinfo.RoutableIPs (Headscale's `available_routes`). */
  available_routes: string[];
  /** Approved by an admin (`approved_routes`). */
  approved_routes: string[];
  /** Announced and approved (`subnet_routes`). */
  subnet_routes: string[];
  /** Those this node serves as the primary router. */
  primary_routes: string[];
}

/** What the node announces: its Hostinfo.RoutableIPs, canonical and sorted. */
export function announcedRoutes(node: NodeRecord): string[] {
  const r = node.hostinfo.RoutableIPs;
  return Array.isArray(r) ? sortPrefixTexts(r.map(String)) : [];
}

/** Announced and approved (Headscale's SubnetRoutes, exit routes included). */
export function servedRoutes(node: NodeRecord): string[] {
  const approved = new Set(node.approvedRoutes ?? []);
  return announcedRoutes(node).filter((r) => approved.has(r));
}

/**
 * The non-exit prefixes `node` is primary for: of the online nodes serving a prefix, the one
 * with the lowest ID has it (Headscale also drops an offline router's primaries).
 */
export function primaryRoutesOf(node: NodeRecord, all: Iterable<NodeRecord>): string[] {
  if (node.online !== true) return [];
  const others = [...all].filter((n) => n.id < node.id && n.online === true);
  return servedRoutes(node).filter((r) =>
    !isExitRoute(r) && !others.some((o) => servedRoutes(o).includes(r))
  );
}

/** A node's AllowedIPs: its addresses, its primary routes and its served exit routes, sorted. */
export function allowedIpsOf(node: NodeRecord, primary: readonly string[]): string[] {
  const exit = servedRoutes(node).filter(isExitRoute);
  return sortPrefixTexts([`${node.ipv4}/32`, `${node.ipv6}/128`, ...primary, ...exit]);
}

/** The node's routes for the admin API. */
export function nodeRoutes(node: NodeRecord, all: Iterable<NodeRecord>): NodeRoutes {
  return {
    available_routes: announcedRoutes(node),
    approved_routes: [...(node.approvedRoutes ?? [])],
    subnet_routes: servedRoutes(node),
    primary_routes: primaryRoutesOf(node, all),
  };
}

/**
 * Checks an approve-routes list and returns it sorted without duplicates; a prefix that is not
 * canonical (no length, host bits set) is refused.
 *
 * @throws {RangeError} naming the prefix that is not a canonical CIDR prefix
 */
export function checkApprovedRoutes(list: unknown): string[] {
  if (!Array.isArray(list)) throw new RangeError("approve must be an array of CIDR prefixes");
  const out: string[] = [];
  for (const v of list) {
    const s = String(v);
    let ok = false;
    try {
      ok = s.includes("/") && formatPrefix(parsePrefix(s)) === s;
    } catch {
      ok = false;
    }
    if (!ok) throw new RangeError(`"${s}" is not a canonical CIDR prefix`);
    out.push(s);
  }
  return sortPrefixTexts(out);
}
