/**
 * The test control server's own data model: nodes, pre-auth keys, users and
 * the change notices that drive map-stream deltas (after Headscale's
 * `types.Node`, `types.PreAuthKey` and `change.Change`).
 *
 * @module
 */

import type { PeerChange, PingRequest } from "../../src/netmap/tailcfg.ts";
import type { IpAllocatorState } from "./ip_alloc.ts";

/** Log line sink. */
export type Logf = (line: string) => void;

/** A JSON object as it goes on the wire. */
export type Json = Record<string, unknown>;

/** A pre-auth key as configured or created through the admin API. */
export interface PreAuthKey {
  /** Sequential ID. */
  id: number;
  /** The secret text clients present as `Auth.AuthKey`. */
  key: string;
  /** Usable by any number of nodes; otherwise once. */
  reusable: boolean;
  /** Nodes registered with it are deleted after being offline for a while. */
  ephemeral: boolean;
  /** Set once a node registered with a single-use key. */
  used: boolean;
  /** After this the key is refused; undefined = never expires. */
  expiresAt?: Date;
}

/** Options for a pre-auth key. */
export interface PreAuthKeySpec {
  /** Secret text; generated as `tskey-auth-<hex>` when absent. */
  key?: string;
  /** Usable any number of times (default true). */
  reusable?: boolean;
  /** Ephemeral nodes (default false). */
  ephemeral?: boolean;
  /** Expiry time. */
  expiresAt?: Date;
}

/** The tailnet's only user (Headscale's user-owned nodes, one user). */
export interface User {
  /** User ID (1). */
  id: number;
  /** Login name and display name. */
  name: string;
  /** Creation time. */
  created: Date;
}

/** A registered node. Keys are kept in canonical text form (`nodekey:`, `mkey:`, `discokey:`). */
export interface NodeRecord {
  /** Node ID, from 1. */
  id: number;
  /** Noise machine key that registered it. */
  machineKey: string;
  /** Current WireGuard key. */
  nodeKey: string;
  /** Disco key, "" while unknown (or zero). */
  discoKey: string;
  /** Hostname the node reported. */
  hostname: string;
  /** Unique DNS label. */
  givenName: string;
  /** Tailnet IPv4. */
  ipv4: string;
  /** Tailnet IPv6. */
  ipv6: string;
  /** The last full Hostinfo (NetInfo kept when a later one has none). */
  hostinfo: Json;
  /** UDP endpoints (`ip:port`). */
  endpoints: string[];
  /** Registration time. */
  created: Date;
  /** Key expiry; undefined = never. A past value means logged out / expired. */
  expiry?: Date;
  /** Deleted after {@link TailnetOptions.ephemeralInactivityMs} offline. */
  ephemeral: boolean;
  /** Open map streams. */
  sessions: number;
  /** undefined until the node first streams, then true/false. */
  online?: boolean;
  /** When it went offline. */
  lastSeen?: Date;
  /** Routes an admin approved (Headscale's approved_routes); absent = none. */
  approvedRoutes?: string[];
}

/**
 * What changed, for every map stream to turn into a delta (Headscale's `change.Change`).
 * A stream of the {@link originNode} gets a self update (`Node` only) instead.
 */
export interface Change {
  /** One-word reason, for the event log. */
  reason: string;
  /** The node the change is about; its own streams get a self update. */
  originNode?: number;
  /** Nodes to send whole in `PeersChanged`. */
  peersChanged?: number[];
  /** Nodes to list in `PeersRemoved`. */
  peersRemoved?: number[];
  /** Patches for `PeersChangedPatch`. */
  patches?: PeerChange[];
  /** Policy changed: send `PacketFilters` and every current peer in `PeersChanged`. */
  policy?: boolean;
  /** Send `DNSConfig`. */
  dns?: boolean;
  /** Send `DERPMap`. */
  derpMap?: boolean;
  /** Online transitions to send as `OnlineChange` instead of patches. */
  onlineChange?: Record<string, boolean>;
  /** A PingRequest for one node's streams only (Headscale's `change.PingNode`). */
  ping?: { node: number; request: PingRequest };
}

/** A node as a state file keeps it: everything but its live stream count. */
export type StoredNode = Omit<NodeRecord, "sessions">;

/** The durable part of a tailnet, what a restarted server needs to carry on. */
export interface TailnetSnapshot {
  /** The user (its creation time shows in register responses). */
  user: User;
  /** Every node, by ascending ID. */
  nodes: StoredNode[];
  /** Every pre-auth key, with its used flag. */
  preAuthKeys: PreAuthKey[];
  /** ID of the next node. */
  nextNodeId: number;
  /** ID of the next pre-auth key. */
  nextKeyId: number;
  /** Addresses the allocator holds (see {@link IpAllocatorState}). */
  addresses: IpAllocatorState;
}
