/**
 * "The network changed, look again": link and address changes on the host, other than on the
 * node's own TUN, debounced into one call — so a node re-runs endpoint discovery (STUN, local
 * addresses, a lite update to control) within a second of a new address or a link going down,
 * rather than at its next periodic round, as tailscaled's netmon does.
 *
 * @module
 */

import { LinkMonitor } from "../../ffi/netlink_monitor.ts";
import type { LinkChange } from "../../ffi/netlink_codec.ts";
import { localEndpoints } from "../magicsock/endpoints.ts";

/** Options for {@link watchNetwork}. */
export interface NetworkWatchOptions {
  /** Interface index whose own changes are ignored (the node's TUN); 0 for none. */
  ignoreIfindex: number;
  /** Called once per burst of changes. */
  onChange: () => void;
  /** Log lines (monitor failures). */
  log: (line: string) => void;
  /** Quiet time before onChange (default 500 ms): a new address comes with several messages. */
  debounceMs?: number;
  /**
   * The host's usable addresses as one comparable string (default: {@link localEndpoints}'s);
   * address messages that leave it unchanged — lifetime refreshes from router advertisements
   * or DHCP renewals — are not changes.
   */
  addresses?: () => string;
}

/** A running watch. */
export interface NetworkWatch {
  /** Stops watching. */
  close(): Promise<void>;
}

function defaultAddresses(): string {
  return localEndpoints(0).map((e) => e.addr).sort().join(" ");
}

/** Whether a batch of changes concerns anything but the ignored interface. */
export function mattersFor(changes: LinkChange[], ignoreIfindex: number): boolean {
  return changes.some((c) => c.ifindex === 0 || c.ifindex !== ignoreIfindex);
}

/**
 * Starts watching; null (after logging why) when the host does not allow it, in which case
 * the caller's periodic checks are all there is.
 */
export function watchNetwork(opts: NetworkWatchOptions): NetworkWatch | null {
  const debounceMs = opts.debounceMs ?? 500;
  const addresses = opts.addresses ?? defaultAddresses;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let last = addresses();
  let linkChanged = false;
  const settle = () => {
    const now = addresses();
    if (now === last && !linkChanged) return;
    last = now;
    linkChanged = false;
    opts.onChange();
  };
  let mon: LinkMonitor;
  try {
    mon = LinkMonitor.open(
      (changes) => {
        if (!mattersFor(changes, opts.ignoreIfindex)) return;
        // A link going down or up matters even when its addresses stay.
        if (changes.some((c) => c.kind === "link" && c.ifindex !== opts.ignoreIfindex)) {
          linkChanged = true;
        }
        clearTimeout(timer);
        timer = setTimeout(settle, debounceMs);
      },
      (e) => opts.log(`network monitor stopped: ${e.message}`),
    );
  } catch (e) {
    opts.log(`network monitor unavailable: ${(e as Error).message}`);
    return null;
  }
  return {
    async close() {
      clearTimeout(timer);
      await mon.close();
    },
  };
}
