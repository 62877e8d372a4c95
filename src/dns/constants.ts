/**
 * DNS numbers (RFC 1035, RFC 3596, RFC 6891) and MagicDNS facts shared by
 * the codec, the MagicDNS table and the quad-100 responder.
 *
 * @module
 */

/** Record type A: an IPv4 address (RFC 1035). */
export const TYPE_A = 1;
/** Record type NS: an authoritative name server. */
export const TYPE_NS = 2;
/** Record type CNAME: the canonical name of an alias. */
export const TYPE_CNAME = 5;
/** Record type SOA: start of a zone of authority. */
export const TYPE_SOA = 6;
/** Record type PTR: a domain name pointer (reverse lookups). */
export const TYPE_PTR = 12;
/** Record type HINFO: host information. */
export const TYPE_HINFO = 13;
/** Record type MX: mail exchange. */
export const TYPE_MX = 15;
/** Record type TXT: text strings. */
export const TYPE_TXT = 16;
/** Record type AAAA: an IPv6 address (RFC 3596). */
export const TYPE_AAAA = 28;
/** Record type SRV: service location (RFC 2782). */
export const TYPE_SRV = 33;
/** Record type DNAME: delegation of a subtree (RFC 6672). */
export const TYPE_DNAME = 39;
/** Pseudo-record type OPT: EDNS0 (RFC 6891). */
export const TYPE_OPT = 41;
/** Query type AXFR: zone transfer. */
export const TYPE_AXFR = 252;
/** Query type ANY ("*"). */
export const TYPE_ANY = 255;

/** Class IN, the Internet. */
export const CLASS_IN = 1;

/** Response code: no error. */
export const RCODE_NOERROR = 0;
/** Response code: the server could not interpret the query. */
export const RCODE_FORMERR = 1;
/** Response code: the server failed to process the query (e.g. no upstream). */
export const RCODE_SERVFAIL = 2;
/** Response code: the name does not exist (NXDOMAIN). */
export const RCODE_NXDOMAIN = 3;
/** Response code: the kind of query is not implemented. */
export const RCODE_NOTIMP = 4;
/** Response code: the server refuses to answer. */
export const RCODE_REFUSED = 5;

/** Opcode of a standard query. */
export const OPCODE_QUERY = 0;

/** Size of the fixed DNS header. */
export const HEADER_LEN = 12;
/** Largest UDP response without EDNS0 (RFC 1035 §4.2.1). */
export const MAX_UDP_PLAIN = 512;
/** Largest response quad-100 sends over UDP, whatever EDNS0 offers (tailscaled's maxResponseBytes). */
export const MAX_UDP_RESPONSE = 4095;
/** Longest name in wire form (RFC 1035 §2.3.4). */
export const MAX_NAME_WIRE_LEN = 255;
/** Longest label (RFC 1035 §2.3.4). */
export const MAX_LABEL_LEN = 63;

/** TTL of MagicDNS answers in seconds (tailscaled's defaultTTL: short, so renames show quickly). */
export const MAGICDNS_TTL = 5;
/** TTL of the SOA in negative answers (RFC 2308; tailscaled's negativeTTL). */
export const NEGATIVE_TTL = 10;

/** The MagicDNS resolver's IPv4 address ("quad-100"). */
export const QUAD100_V4 = "100.100.100.100";
/** The MagicDNS resolver's IPv6 address. */
export const QUAD100_V6 = "fd7a:115c:a1e0::53";
/** DNS port. */
export const DNS_PORT = 53;
/** Name answered for a reverse lookup of quad-100 (and resolved back to it), as tailscaled does. */
export const QUAD100_NAME = "magicdns.localhost-tailscale-daemon.";

/** Reverse zone of the Tailscale IPv6 range fd7a:115c:a1e0::/48. */
export const REVERSE_ZONE_V6 = "0.e.1.a.c.5.1.1.a.7.d.f.ip6.arpa.";
/** Reverse zones of the CGNAT range 100.64.0.0/10: 64.100.in-addr.arpa. … 127.100.in-addr.arpa. */
export const REVERSE_ZONES_V4: readonly string[] = Array.from(
  { length: 64 },
  (_, i) => `${64 + i}.100.in-addr.arpa.`,
);
