/**
 * The pings the path state machine (path.ts) sent to one peer and still
 * awaits a pong for, by TxID: matching pongs, timing them out, and when the
 * next one is due.
 *
 * @module
 */

import type { AddrPort } from "./addr.ts";
import type { PingPurpose } from "./path_types.ts";

/** A ping sent and not yet answered or timed out. */
export interface SentPing {
  /** Its 12-byte TxID. */
  txId: Uint8Array;
  /** The endpoint pinged. */
  to: AddrPort;
  /** That endpoint's candidate key. */
  toKey: string;
  /** When it was sent (ms). */
  at: number;
  /** Why it was sent. */
  purpose: PingPurpose;
  /** Already counted as a missed heartbeat. */
  missCounted: boolean;
}

/** Map key of a TxID: its bytes as a string. */
export function txKey(txId: Uint8Array): string {
  let s = "";
  for (const b of txId) s += String.fromCharCode(b);
  return s;
}

/** Outstanding pings by {@linkcode txKey}. */
export class SentPings {
  readonly #byTx = new Map<string, SentPing>();

  /** The outstanding ping with this TxID key, if any. */
  get(tx: string): SentPing | undefined {
    return this.#byTx.get(tx);
  }

  /** Records a ping just sent, under its TxID key. */
  add(tx: string, ping: SentPing): void {
    this.#byTx.set(tx, ping);
  }

  /** Forgets one ping (answered, or never sent). */
  delete(tx: string): void {
    this.#byTx.delete(tx);
  }

  /** Forgets every ping. */
  clear(): void {
    this.#byTx.clear();
  }

  /** Drops every ping sent `timeoutMs` or more ago, calling `expired` on each first. */
  expire(now: number, timeoutMs: number, expired: (ping: SentPing) => void): void {
    for (const [tx, sp] of this.#byTx) {
      if (now - sp.at < timeoutMs) continue;
      expired(sp);
      this.#byTx.delete(tx);
    }
  }

  /** Whether a discovery ping (not a heartbeat) is outstanding. */
  hasDiscovery(): boolean {
    for (const sp of this.#byTx.values()) if (sp.purpose === "discovery") return true;
    return false;
  }

  /** When the oldest ping times out after `timeoutMs`; Infinity if none is outstanding. */
  nextTimeout(timeoutMs: number): number {
    let at = Infinity;
    for (const sp of this.#byTx.values()) at = Math.min(at, sp.at + timeoutMs);
    return at;
  }
}
