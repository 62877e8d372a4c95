/**
 * The numbers of IPv4/IPv6 packets and their transport headers: IANA
 * protocol numbers, TCP flag bits and header lengths.
 *
 * @module
 */

/** IANA protocol number of ICMP for IPv4. */
export const IPPROTO_ICMP = 1;
/** IANA protocol number of TCP. */
export const IPPROTO_TCP = 6;
/** IANA protocol number of UDP. */
export const IPPROTO_UDP = 17;
/** IANA protocol number of the IPv6 Fragment extension header. */
export const IPPROTO_IPV6_FRAGMENT = 44;
/** IANA protocol number of ICMPv6. */
export const IPPROTO_ICMPV6 = 58;
/** IANA protocol number of SCTP (ports sit where TCP's and UDP's do). */
export const IPPROTO_SCTP = 132;

/** TCP FIN flag (byte 13 of the TCP header). */
export const TCP_FIN = 0x01;
/** TCP SYN flag. */
export const TCP_SYN = 0x02;
/** TCP RST flag. */
export const TCP_RST = 0x04;
/** TCP PSH flag. */
export const TCP_PSH = 0x08;
/** TCP ACK flag. */
export const TCP_ACK = 0x10;

/** IPv4 header length without options. */
export const IPV4_HEADER_LEN = 20;
/** IPv6 fixed header length. */
export const IPV6_HEADER_LEN = 40;
/** UDP header length. */
export const UDP_HEADER_LEN = 8;
/** TCP header length without options. */
export const TCP_HEADER_LEN = 20;
/** ICMP/ICMPv6 header length as read here: type, code, checksum and the 4-byte rest. */
export const ICMP_HEADER_LEN = 8;

/**
 * A later fragment whose offset (in 8-byte blocks) is below this could
 * overwrite the transport header of the first one (RFC 1858): room for the
 * largest IPv4 header plus a basic TCP header.
 */
export const MIN_LATER_FRAGMENT_BLOCKS = (60 + 20) >> 3;
