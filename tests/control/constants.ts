/**
 * Numbers and strings of the server side of Tailscale's control protocol, as
 * Headscale 0.28 uses them (protocol doc §2–4, Headscale `hscontrol/`).
 *
 * @module
 */

/**
 * Lowest client capability version served: Headscale 0.29.2's
 * MinSupportedCapabilityVersion (Tailscale v1.80; 0.28.0 still took 106).
 * As in Headscale, nothing else depends on the client's version: 113 and up,
 * tailscaled 1.96's 133 and warren's included, are served alike.
 */
export const MIN_CAPABILITY_VERSION = 113;

/** `/key?v=` below this gets an empty 200 body (Headscale's NoiseCapabilityVersion). */
export const NOISE_CAPABILITY_VERSION = 39;

/** `Upgrade:` value of the `/ts2021` request and the 101 reply. */
export const UPGRADE_PROTOCOL = "tailscale-control-protocol";

/** Header carrying the base64 Noise initiation in the upgrade request. */
export const HANDSHAKE_HEADER = "x-tailscale-handshake";

/** First 5 bytes of the early payload: `ff ff ff 'T' 'S'`, never an HTTP/2 frame header. */
export const EARLY_PAYLOAD_MAGIC = new Uint8Array([0xff, 0xff, 0xff, 0x54, 0x53]);

/** Request bodies larger than this are refused (Headscale's noiseBodyLimit, 1 MiB). */
export const NOISE_BODY_LIMIT = 1 << 20;

/** Keep-alive period of a map stream (Headscale: 50 s plus 0–9 s of jitter). */
export const KEEPALIVE_MS = 50_000;

/** Upper bound of the random jitter added to {@link KEEPALIVE_MS}. */
export const KEEPALIVE_JITTER_MS = 9_000;

/** How long a node with no stream stays online before peers see it offline (Headscale: 10 s). */
export const OFFLINE_GRACE_MS = 10_000;

/** Ephemeral nodes are deleted after this long offline (Headscale's default: 30 min). */
export const EPHEMERAL_INACTIVITY_MS = 30 * 60_000;

/** Tailscale's IPv4 range (CGNAT 100.64.0.0/10). */
export const IPV4_PREFIX = "100.64.0.0/10";

/** Tailscale's IPv6 ULA range. */
export const IPV6_PREFIX = "fd7a:115c:a1e0::/48";

/** MagicDNS resolver address, never handed to a node. */
export const QUAD_100 = "100.100.100.100";

/** Legacy `Node.DERP` pseudo address: `127.3.3.40:<region>`. */
export const DERP_MAGIC_IP = "127.3.3.40";

/** Base domain of MagicDNS names when none is configured. */
export const DEFAULT_BASE_DOMAIN = "tailnet.test";

/** DERP region of the test map when none is configured (900–999 are for self-hosting). */
export const DEFAULT_REGION_ID = 900;

/** Region code of the default test region. */
export const DEFAULT_REGION_CODE = "test";

/** Node capabilities Headscale 0.28 grants every node (as in the fixtures). */
export const DEFAULT_CAP_MAP: Readonly<Record<string, unknown[]>> = {
  "https://tailscale.com/cap/file-sharing": [],
  "https://tailscale.com/cap/is-admin": [],
  "https://tailscale.com/cap/ssh": [],
};

/** Go's zero `time.Time` in JSON. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";

/** The all-zero machine key, Headscale's `legacyPublicKey`. */
export const ZERO_MACHINE_KEY = "mkey:" + "0".repeat(64);
