/**
 * magicsock's per-peer record: the netmap facts, the disco path state
 * machine (when the peer does disco and we have a UDP socket), and the DERP
 * region packets from the peer last arrived through.
 *
 * @module
 */
import type { PeerPath } from "../disco/path.ts";
import type { MagicPeer } from "./magicsock.ts";

/** One peer as magicsock tracks it. */
export interface DiscoPeer {
  /** Netmap facts. */
  peer: MagicPeer;
  /** The node key array handed to the device as this peer's endpoint. */
  nodeKey: Uint8Array;
  /** The peer's disco key when disco runs for it. */
  discoKey: Uint8Array | null;
  /** Direct path discovery, null for DERP-only peers. */
  path: PeerPath | null;
  /** Region a packet from the peer last came through: the reply route if its home is unknown. */
  learnedRegion: number;
  /** Send-call stamp, so noteSend runs once per batch per peer. */
  stamp: number;
  /** Where this send call's batch goes: the direct path's sockaddr (or null), and DERP too. */
  sendUdp: Uint8Array | null;
  /** See {@link DiscoPeer.sendUdp}. */
  sendDerp: boolean;
  /** The send path last told to magicsock's `onSendPath`, null before the first. */
  published: { udp: Uint8Array | null; derp: boolean } | null;
}
