/**
 * Control-client numbers (protocol doc §2–4).
 *
 * @module
 */

/**
 * The capability version warren claims, in the TS2021 initiation, the
 * prologue, `/key?v=`, RegisterRequest.Version and MapRequest.Version.
 *
 * 133 is what tailscaled 1.96 sends (the fixtures' RegisterRequest), above
 * Headscale 0.29.2's minimum of 113. Claiming it commits this client to every
 * semantic change up to it (tailscale tailcfg.go's CapabilityVersion history);
 * netmap/apply_map_response.ts holds the map-side ones. Older ones still relied on:
 *  - 5/18: delta Peers/UserProfiles; nil `Node` means unchanged
 *  - 6/15/17: nil PacketFilter / DNSConfig and empty Domain mean unchanged
 *  - 10/16: PeerSeenChange, Node.Online + OnlineChange
 *  - 33/36: PeersChangedPatch (DERPRegion, Endpoints, Key, DiscoKey, Online, LastSeen, KeyExpiry, Cap)
 *  - 49: EarlyNoise before HTTP/2
 *  - 65: DERPMap.HomeParams and incremental DERPMap updates
 *  - 68: streaming map requests are read-only; Hostinfo/Endpoints go in lite updates
 *  - 81: MapResponse.PacketFilters (named, incremental, "*" clears)
 *  - 111: Node.HomeDERP (legacy "127.3.3.40:N" still read)
 *  - 112: nil AllowedIPs means "same as Addresses"
 *  - 113: Hostinfo.IngressEnabled (no funnel: always omitted = false)
 * 114–133, each handled:
 *  - 114: tailnet.maxKeyDuration cap defined; no client change
 *  - 115: DERPRegion.NoMeasureNoHome: never measured nor picked as home (magicsock/derp_home.ts)
 *  - 116: peer AAAA only with the magicdns-aaaa attr: warren always answers AAAA
 *    (as if set); a peer's IPv6 address is always reachable over warren's tunnel
 *  - 117: MapResponse.DisplayMessages, by ID with "*" clearing (netmap.displayMessages)
 *  - 118: Hostinfo.StateEncrypted: sent, false (the state file is plain JSON)
 *  - 119: Hostinfo.Location.Priority: tailscaled weighs it when suggesting an
 *    exit node or steering traffic; warren uses no exit node, and subnet routes
 *    follow control's primary choice in AllowedIPs
 *  - 120/121: peer-relay disco messages and relay endpoint allocation: unknown
 *    disco types are dropped (disco/codec.ts); warren is no relay and uses none
 *  - 122: Hostinfo.ExitNodeID: omitted, warren uses no exit node
 *  - 123/129: tailscaled deadlock fixes; no protocol change
 *  - 124: cryptokey routing mandatory: WireGuard peers roam to the address of
 *    any authenticated packet (wireguard/device.ts)
 *  - 125: Resolver.UseWithExitNode: only matters with an exit node; ignored
 *  - 126: seamless key renewal by default: a key renewal never drops the
 *    netmap or the tunnel (the session keeps the last netmap while it
 *    re-registers); disable-seamless-key-renewal is ignored
 *  - 127/128: c2n /debug/netmap, /debug/health: debugging only; answered with
 *    tailscaled's 400 "unknown c2n path" (control/c2n.ts)
 *  - 130: MapRequest hardware attestation keys: optional ("can send"); not sent
 *  - 131: default-auto-update attr: warren has no auto-update
 *  - 132: disable-hosts-file-updates attr: warren never writes /etc/hosts
 *  - 133: MagicDNS IPv6 registered with the OS by default unless
 *    force-register-magicdns-ipv4-only: warren registers only 100.100.100.100
 *    in resolv.conf, which is what that attr asks for and what control must
 *    accept from pre-133 clients; fd7a:115c:a1e0::53 still answers
 * Not claimed: 137 (429 on /machine/register) and later, e.g. 144 TSMP
 * disco-key advertisements.
 */
export const CAPABILITY_VERSION = 133;

/** warren's version, sent as `Hostinfo.IPNVersion = "warren-<ver>"`. */
export const WARREN_VERSION = "0.1.0";

/** Upgrade token of `POST /ts2021`. */
export const UPGRADE_PROTOCOL = "tailscale-control-protocol";
/** Header carrying the base64 initiation. */
export const HANDSHAKE_HEADER = "X-Tailscale-Handshake";
/** Load-balancer hint header (value `nodekey:<hex>`). */
export const LB_HEADER = "Ts-Lb";

/** Path of the server key endpoint. */
export const KEY_PATH = "/key";
/** Path of the TS2021 upgrade. */
export const TS2021_PATH = "/ts2021";
/** Path of registration over Noise. */
export const REGISTER_PATH = "/machine/register";
/** Path of map polling over Noise. */
export const MAP_PATH = "/machine/map";

/** Largest `/key` body read. */
export const KEY_RESPONSE_LIMIT = 64 * 1024;
/** Largest HTTP upgrade response head read. */
export const UPGRADE_HEAD_LIMIT = 16 * 1024;
/** Largest register/lite-update response body read. */
export const RESPONSE_BODY_LIMIT = 1 << 20;
/** Largest single map message (compressed or raw) accepted. */
export const MAX_MAP_MESSAGE = 64 << 20;
/**
 * Largest JSON a zstd map message may decompress to: the raw-message limit again, so a
 * small compressed frame cannot make the node allocate gigabytes (a zstd bomb).
 */
export const MAX_MAP_JSON: number = MAX_MAP_MESSAGE;

/** Overall time allowed to dial, upgrade and finish the handshake. */
export const DIAL_TIMEOUT_MS = 10_000;
/** A map stream with no message (keep-alives included) for this long is dead (tailscaled: 120 s). */
export const WATCHDOG_TIMEOUT_MS = 120_000;
/** First reconnect delay. */
export const BACKOFF_MIN_MS = 1_000;
/** Largest reconnect delay. */
export const BACKOFF_MAX_MS = 60_000;

/** The all-zero node key text (RegisterRequest.OldNodeKey when not rotating). */
export const ZERO_NODE_KEY: string = "nodekey:" + "0".repeat(64);
/** Go's zero time in RFC 3339. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";
