/**
 * Control-client numbers (protocol doc §2–4).
 *
 * @module
 */

/**
 * The capability version warren claims, in the TS2021 initiation, the
 * prologue, `/key?v=`, RegisterRequest.Version and MapRequest.Version.
 *
 * 113 is the lowest version Headscale 0.28 accepts (Tailscale v1.80) and
 * the highest whose semantics warren honours in full. Claiming it commits
 * this client (netmap/apply_map_response.ts) to, among older behaviour:
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
 *  - 113: Hostinfo.IngressEnabled (warren has no funnel; it is always omitted = false)
 * Not claimed: 115 DERPRegion.NoMeasureNoHome (carried in the types, but netcheck
 * would have to honour it), 117 DisplayMessages, 120+ peer-relay disco, 144 TSMP
 * disco-key advertisements.
 */
export const CAPABILITY_VERSION = 113;

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
