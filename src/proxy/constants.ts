/**
 * The numbers of RFC 1928 (SOCKS5) and RFC 1929 (username/password), and the
 * proxies' default limits.
 *
 * @module
 */

/** VER of every SOCKS5 message (RFC 1928 §3). */
export const SOCKS_VERSION = 5;
/** VER of the username/password sub-negotiation (RFC 1929 §2). */
export const USERPASS_VERSION = 1;

/** METHOD: no authentication required. */
export const METHOD_NO_AUTH = 0x00;
/** METHOD: username/password (RFC 1929). */
export const METHOD_USERPASS = 0x02;
/** METHOD: no acceptable methods; the client must close. */
export const METHOD_NONE_ACCEPTABLE = 0xff;

/** CMD: CONNECT — a TCP stream to DST.ADDR:DST.PORT. */
export const CMD_CONNECT = 0x01;
/** CMD: BIND — an inbound TCP connection (not supported). */
export const CMD_BIND = 0x02;
/** CMD: UDP ASSOCIATE — a UDP relay for the life of the TCP connection (§7). */
export const CMD_UDP_ASSOCIATE = 0x03;

/** ATYP: 4-byte IPv4 address. */
export const ATYP_IPV4 = 0x01;
/** ATYP: a length byte then that many bytes of domain name. */
export const ATYP_DOMAIN = 0x03;
/** ATYP: 16-byte IPv6 address. */
export const ATYP_IPV6 = 0x04;

/** REP: succeeded. */
export const REP_SUCCEEDED = 0x00;
/** REP: general SOCKS server failure. */
export const REP_GENERAL_FAILURE = 0x01;
/** REP: connection not allowed by ruleset. */
export const REP_NOT_ALLOWED = 0x02;
/** REP: network unreachable. */
export const REP_NETWORK_UNREACHABLE = 0x03;
/** REP: host unreachable (also: the name did not resolve). */
export const REP_HOST_UNREACHABLE = 0x04;
/** REP: connection refused. */
export const REP_CONNECTION_REFUSED = 0x05;
/** REP: TTL expired. */
export const REP_TTL_EXPIRED = 0x06;
/** REP: command not supported. */
export const REP_COMMAND_NOT_SUPPORTED = 0x07;
/** REP: address type not supported. */
export const REP_ADDRESS_TYPE_NOT_SUPPORTED = 0x08;

/** RFC 1929 STATUS: success (any other value is a failure). */
export const USERPASS_SUCCESS = 0x00;
/** RFC 1929 STATUS we send on failure. */
export const USERPASS_FAILURE = 0x01;

/** Time a client has to finish the SOCKS5 handshake or send an HTTP request head. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;
/** Time a dial may take before the client hears "timed out". */
export const DEFAULT_DIAL_TIMEOUT_MS = 15_000;
/** Concurrent client connections per server; more are closed on accept. */
export const DEFAULT_MAX_CONNECTIONS = 1024;
/** Largest HTTP request or response head we read. */
export const MAX_HTTP_HEAD_BYTES = 64 * 1024;
/** Datagrams a UDP socket queues before dropping (UDP may drop; memory may not grow). */
export const UDP_QUEUE_LIMIT = 256;
