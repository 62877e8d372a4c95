/**
 * One WireGuard peer: its static key, allowed IPs, endpoint, sessions,
 * pending handshake, staged packets, timers and counters.
 *
 * @module
 */
import { bytesEqual } from "../bytes/equal.ts";
import { CookieGenerator } from "./cookie.ts";
import type { InitiatorState } from "./handshake.ts";
import type { Keypair } from "./keypair.ts";
import { PeerTimers } from "./timers.ts";
import type { Timings } from "./timings.ts";

/** Packets held while no session exists, as wireguard-go's QueueStagedSize. */
export const MAX_STAGED_PACKETS = 128;

/** How to configure a peer. */
export interface PeerConfig {
  /** The peer's static X25519 public key. */
  publicKey: Uint8Array;
  /** Optional 32-byte preshared key mixed into the handshake. */
  presharedKey?: Uint8Array | null;
  /** Persistent keepalive interval in seconds; 0 disables it. */
  persistentKeepalive?: number;
  /** Initial endpoint (opaque address bytes of the bind), if known. */
  endpoint?: Uint8Array | null;
}

/** The state the device keeps for one peer. */
export class Peer {
  /** The peer's static public key. */
  readonly publicKey: Uint8Array;
  /** Preshared key, or null. */
  presharedKey: Uint8Array | null;
  /** Persistent keepalive interval in ms; 0 disables it. */
  persistentKeepaliveMs: number;
  /** Where to send; updated from every authenticated packet (roaming). */
  endpoint: Uint8Array | null;
  /** Session in use. */
  current: Keypair | null = null;
  /** Session kept to decrypt packets still in flight after a rekey. */
  previous: Keypair | null = null;
  /** Responder's new session, used once the initiator's first packet confirms it. */
  next: Keypair | null = null;
  /** Our handshake in flight, if we initiated one. */
  handshake: InitiatorState | null = null;
  /** Monotonic ms of the last initiation we sent. */
  lastHandshakeSent: number = -Infinity;
  /** Newest TAI64N timestamp accepted from this peer (replay protection). */
  lastInitiationTimestamp: Uint8Array | null = null;
  /** Monotonic ms of the last initiation accepted (flood protection). */
  lastInitiationConsumed: number = -Infinity;
  /** Wall-clock ms of the last completed handshake, 0 if none. */
  lastHandshakeWall = 0;
  /** Plaintext packets waiting for a session. */
  staged: Uint8Array[] = [];
  /** Bytes received from the peer (UDP payload, as `wg show`). */
  rxBytes = 0;
  /** Bytes sent to the peer (UDP payload). */
  txBytes = 0;
  /**
   * The part of `rxBytes` and `txBytes` that was keepalives (empty transport messages), so an
   * idle tunnel whose keepalives still flow can be told from one that moves data.
   */
  keepaliveBytes = 0;
  /** Adds mac1/mac2 to our handshake messages; holds the peer's cookie. */
  readonly cookies: CookieGenerator;
  /** The peer's timers. */
  readonly timers: PeerTimers;
  /** Our static-static DH with this peer, computed once. */
  readonly staticShared: Uint8Array;

  /** Use Device.addPeer rather than constructing directly. */
  constructor(
    config: PeerConfig,
    timings: Timings,
    staticShared: Uint8Array,
    random?: () => number,
  ) {
    this.publicKey = config.publicKey.slice();
    this.presharedKey = config.presharedKey ?? null;
    this.persistentKeepaliveMs = (config.persistentKeepalive ?? 0) * 1000;
    this.endpoint = config.endpoint ? config.endpoint.slice() : null;
    this.cookies = new CookieGenerator(this.publicKey);
    this.timers = new PeerTimers(timings, random);
    this.staticShared = staticShared;
  }

  /** The session whose local index is `index`, if it is one of ours. */
  keypairFor(index: number): Keypair | null {
    if (this.current?.localIndex === index) return this.current;
    if (this.next?.localIndex === index) return this.next;
    if (this.previous?.localIndex === index) return this.previous;
    return null;
  }

  /** Holds a copy of a packet until a session exists, dropping the oldest past the limit. */
  stage(packet: Uint8Array): void {
    if (this.staged.length >= MAX_STAGED_PACKETS) this.staged.shift();
    this.staged.push(packet.slice());
  }

  /** Updates the endpoint if an authenticated packet came from elsewhere. */
  roam(source: Uint8Array): void {
    const ep = this.endpoint;
    if (ep !== null && bytesEqual(ep, source)) return;
    this.endpoint = source.slice();
  }
}
