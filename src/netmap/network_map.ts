/**
 * The typed in-memory network map: what the daemon configures WireGuard,
 * routes, MagicDNS, the packet filter and DERP from. Built and updated only
 * by {@link applyMapResponse}; treat it as immutable.
 *
 * @module
 */
import type {
  DERPMap,
  DisplayMessage,
  DNSConfig,
  FilterRule,
  Node,
  NodeID,
  UserID,
  UserProfile,
} from "./tailcfg.ts";

/** A netmap at one point in the map stream. */
export interface NetworkMap {
  /** This node (null until the first full message). */
  self: Node | null;
  /** Peers by node ID, normalized: HomeDERP filled from legacy DERP, AllowedIPs from Addresses. */
  peers: ReadonlyMap<NodeID, Node>;
  /** DERP map with nil regions dropped (null until control sends one). */
  derpMap: DERPMap | null;
  /** DNS configuration (null until control sends one). */
  dns: DNSConfig | null;
  /** Tailnet domain ("" until sent). */
  domain: string;
  /** Named packet filters as control last set them. */
  packetFilters: ReadonlyMap<string, FilterRule[]>;
  /**
   * Effective inbound filter: the named sets concatenated in name order.
   * null means control never sent one (deny inbound); [] means deny all.
   */
  packetFilter: FilterRule[] | null;
  /** User profiles by user ID. */
  userProfiles: ReadonlyMap<UserID, UserProfile>;
  /** Whether services may be collected. */
  collectServices: boolean;
  /** Control's health messages. */
  health: string[];
  /** Control's structured health messages by ID (capver 117). */
  displayMessages: ReadonlyMap<string, DisplayMessage>;
  /** Tailscale SSH policy, opaque. */
  sshPolicy: unknown;
  /** Last ControlTime seen. */
  controlTime: string | null;
  /** Time (ms since epoch) this netmap was produced. */
  updatedAt: number;
}

/** An empty netmap (before any message). */
export function emptyNetworkMap(now = 0): NetworkMap {
  return {
    self: null,
    peers: new Map(),
    derpMap: null,
    dns: null,
    domain: "",
    packetFilters: new Map(),
    packetFilter: null,
    userProfiles: new Map(),
    collectServices: false,
    health: [],
    displayMessages: new Map(),
    sshPolicy: null,
    controlTime: null,
    updatedAt: now,
  };
}

/** Peers sorted by node ID (convenience for status output and tests). */
export function sortedPeers(nm: NetworkMap): Node[] {
  return [...nm.peers.values()].sort((a, b) => a.ID - b.ID);
}
