/**
 * The cryptokey routing table: IP prefixes to peers, longest-prefix match.
 *
 * @module
 */

import type { IpPrefix } from "../net/ip.ts";
import { PrefixTrie } from "../net/prefix_trie.ts";

/**
 * The cryptokey routing table: which peer owns a destination (outbound) and
 * which peer may send from a source (inbound).
 *
 * A {@link PrefixTrie} from prefix to peer, plus the per-peer view the device
 * needs when a peer is reconfigured, removed or reported. Peers are compared
 * with `===`; a prefix belongs to exactly one peer (inserting it again moves
 * it, as in WireGuard).
 *
 * @example
 * ```ts
 * import { AllowedIps } from "./allowed_ips.ts";
 * import { parseIp, parsePrefix } from "../net/ip.ts";
 * const table = new AllowedIps<string>();
 * table.insert(parsePrefix("10.0.0.0/8"), "gateway");
 * table.insert(parsePrefix("10.1.2.3/32"), "laptop");
 * table.lookupIp(parseIp("10.1.2.3")); // "laptop"
 * table.removeValue("laptop");
 * table.lookupIp(parseIp("10.1.2.3")); // "gateway"
 * ```
 */
export class AllowedIps<P> extends PrefixTrie<P> {
  /** Removes every prefix stored for `peer` (a peer going away). */
  removeValue(peer: P): void {
    this.removeWhere((v) => v === peer);
  }

  /** Every prefix stored for `peer`, IPv4 first, in address order. */
  entriesFor(peer: P): IpPrefix[] {
    return this.prefixesWhere((v) => v === peer);
  }
}
