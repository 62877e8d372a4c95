/**
 * What the per-peer path state machine (path.ts) reports and takes: its
 * states, the actions it asks the driver to perform, where a WireGuard
 * packet goes, and the candidate endpoints as status shows them.
 *
 * @module
 */

import type { AddrPort } from "./addr.ts";

/** Where the peer's traffic stands; see the module doc for the transitions. */
export type PathState = "unknown" | "probing" | "direct" | "degraded" | "relay-only";

/** Why a ping was sent: to find a path, or to keep the best one verified. */
export type PingPurpose = "discovery" | "heartbeat";

/** The path a disco message arrived on or must leave by. */
export type DiscoVia =
  | { readonly kind: "udp"; readonly addr: AddrPort }
  | { readonly kind: "derp"; readonly region: number };

/** Something the driver must do. */
export type DiscoAction =
  /** Seal a Ping{txId, our node key} to the peer's disco key and send it over UDP to `to`. */
  | {
    readonly kind: "ping";
    readonly to: AddrPort;
    readonly txId: Uint8Array;
    readonly purpose: PingPurpose;
  }
  /** Send a CallMeMaybe listing our current endpoints to the peer over DERP. */
  | { readonly kind: "call-me-maybe" }
  /** Seal a Pong{txId, src} and send it back the way the ping came (`via`). */
  | {
    readonly kind: "pong";
    readonly via: DiscoVia;
    readonly txId: Uint8Array;
    readonly src: AddrPort;
  }
  /** The state or the best direct path changed (log it; status shows it). */
  | {
    readonly kind: "path";
    readonly state: PathState;
    readonly best: AddrPort | null;
    readonly latency: number | null;
    readonly previousState: PathState;
    readonly previousBest: AddrPort | null;
  };

/** Where a WireGuard packet to this peer goes now; at least one of the two is set. */
export interface SendPath {
  /** The direct UDP endpoint to send to, or null. */
  readonly udp: AddrPort | null;
  /** Whether to (also) send over the peer's DERP region. */
  readonly derp: boolean;
}

/** A candidate endpoint as status shows it. */
export interface CandidateInfo {
  /** The endpoint. */
  readonly addr: AddrPort;
  /** Listed in the netmap's Node.Endpoints. */
  readonly fromNetmap: boolean;
  /** Listed in the peer's last CallMeMaybe. */
  readonly fromCallMeMaybe: boolean;
  /** When a ping from the peer last arrived from it, or null. */
  readonly lastGotPing: number | null;
  /** When we last pinged it, or null. */
  readonly lastPing: number | null;
  /** Latest measured round trip in ms, or null. */
  readonly latency: number | null;
}
