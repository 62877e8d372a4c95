/**
 * The status a node reports over the LocalAPI: plain JSON, the same data
 * `warren tun status --json` prints.
 *
 * @module
 */

/** One peer as `wg show` would describe it. */
export interface PeerStatus {
  /** Base64 public key. */
  publicKey: string;
  /** "ip:port", or null if unknown. */
  endpoint: string | null;
  /** Prefixes routed to the peer. */
  allowedIps: string[];
  /** Unix seconds of the latest handshake, 0 if none. */
  latestHandshake: number;
  /** Bytes received from the peer. */
  rxBytes: number;
  /** Bytes sent to the peer. */
  txBytes: number;
  /** Persistent keepalive in seconds, 0 if off. */
  persistentKeepalive: number;
  /** Whether a preshared key is set (never the key itself). */
  presharedKey: boolean;
}

/** A node's whole status. */
export interface NodeStatus {
  /** Backend state, as tailscaled names it. */
  state: "Starting" | "Running" | "Stopped";
  /** TUN interface name. */
  interface: string;
  /** Base64 public key of the node. */
  publicKey: string;
  /** UDP port WireGuard listens on. */
  listenPort: number;
  /** Interface addresses with prefix length. */
  addresses: string[];
  /** Interface MTU. */
  mtu: number;
  /** Routes warren installed. */
  routes: string[];
  /** Peers. */
  peers: PeerStatus[];
  /** Dropped packets by reason. */
  drops: Record<string, number>;
  /** Process id of the node. */
  pid: number;
}
