/**
 * The candidate endpoints of one peer for the path state machine (path.ts):
 * where each was learned (netmap, CallMeMaybe, a ping from it), when it was
 * pinged and answered, and pruning of the ones no source vouches for.
 *
 * @module
 */

import { type AddrPort, addrPort, formatAddrPort } from "./addr.ts";
import type { CandidateInfo } from "./path_types.ts";

/** One candidate endpoint and what is known about it. */
export interface Candidate {
  /** The endpoint (unmapped). */
  addr: AddrPort;
  /** Listed in the netmap's Node.Endpoints. */
  fromNetmap: boolean;
  /** Listed in the peer's last CallMeMaybe. */
  fromCallMeMaybe: boolean;
  /** When a ping from the peer last arrived from it, or null. */
  lastGotPing: number | null;
  /** TxID (as {@linkcode txKey} text) of that ping, to spot a duplicate. */
  lastGotPingTxId: string | null;
  /** When we last pinged it, or null. */
  lastPing: number | null;
  /** Latest measured round trip in ms, or null. */
  latency: number | null;
}

/** Map key of an endpoint; unmaps so both spellings of an IPv4 endpoint are one candidate. */
export function endpointKey(a: AddrPort): string {
  return formatAddrPort(addrPort(a.ip, a.port));
}

/** A peer's candidates by {@linkcode endpointKey}, in the order they were learned. */
export class CandidateTable {
  readonly #byKey = new Map<string, Candidate>();

  /** How many candidates there are. */
  get size(): number {
    return this.#byKey.size;
  }

  /** The candidate with this key, if any. */
  get(key: string): Candidate | undefined {
    return this.#byKey.get(key);
  }

  /** Every candidate. */
  values(): IterableIterator<Candidate> {
    return this.#byKey.values();
  }

  /** The candidate for `addr`, added (vouched for by no source yet) if new. */
  add(addr: AddrPort): Candidate {
    const key = endpointKey(addr);
    let c = this.#byKey.get(key);
    if (c === undefined) {
      c = {
        addr: addrPort(addr.ip, addr.port),
        fromNetmap: false,
        fromCallMeMaybe: false,
        lastGotPing: null,
        lastGotPingTxId: null,
        lastPing: null,
        latency: null,
      };
      this.#byKey.set(key, c);
    }
    return c;
  }

  /** Every candidate as status shows it. */
  info(): CandidateInfo[] {
    return [...this.#byKey.values()].map((c) => ({
      addr: c.addr,
      fromNetmap: c.fromNetmap,
      fromCallMeMaybe: c.fromCallMeMaybe,
      lastGotPing: c.lastGotPing,
      lastPing: c.lastPing,
      latency: c.latency,
    }));
  }

  /**
   * Drops candidates no source vouches for any more: in neither the netmap nor the last
   * CallMeMaybe, and not pinging us within `pingedWithinMs`. Calls `dropped` with each
   * key right after it is dropped.
   */
  prune(now: number, pingedWithinMs: number, dropped: (key: string) => void): void {
    for (const [key, c] of this.#byKey) {
      if (c.fromNetmap || c.fromCallMeMaybe) continue;
      if (c.lastGotPing !== null && now - c.lastGotPing <= pingedWithinMs) continue;
      this.#byKey.delete(key);
      dropped(key);
    }
  }
}
