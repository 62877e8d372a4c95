/**
 * A WireGuard device's drop counters, apart from the device so that status code on a thread
 * without one (a node whose data plane runs in a Worker) can shape them.
 *
 * @module
 */

/** Packets dropped, by reason, for status and tests. */
export interface DropCounters {
  /** Outbound packet with no peer for its destination. */
  noRoute: number;
  /** Malformed inbound datagram or inner packet. */
  malformed: number;
  /** Unknown receiver index or failed authentication. */
  unauthenticated: number;
  /** Counter seen before or outside the window. */
  replay: number;
  /** Inner source address not in the peer's allowed IPs. */
  sourceNotAllowed: number;
  /** Handshake rejected: mac, timestamp, rate or unknown peer. */
  handshake: number;
}

/** Drop counters all at zero. */
export function zeroDrops(): DropCounters {
  return {
    noRoute: 0,
    malformed: 0,
    unauthenticated: 0,
    replay: 0,
    sourceNotAllowed: 0,
    handshake: 0,
  };
}

/** Adds `more`'s counts into `into` (counters of two devices, or of one device's two lives). */
export function addDrops(into: DropCounters, more: Readonly<DropCounters>): DropCounters {
  for (const k of Object.keys(into) as (keyof DropCounters)[]) into[k] += more[k];
  return into;
}
