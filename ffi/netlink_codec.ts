/**
 * rtnetlink byte layouts (linux/netlink.h, rtnetlink.h, fib_rules.h): `nlmsghdr`, `rtmsg`,
 * `fib_rule_hdr` and their 4-byte-aligned attributes, as pure functions over `Uint8Array`.
 * Requests are exactly what iproute2 6.x sends for the same `ip route … table N` and `ip rule`
 * commands; {@link ./netlink.ts} does the I/O.
 *
 * @module
 */

import { AF_INET, AF_INET6, checkPrefix, type IpPrefix, maskPrefix } from "./libc.ts";

// linux/netlink.h
/** The rtnetlink protocol of an AF_NETLINK socket. */
export const NETLINK_ROUTE = 0;
/** sizeof(struct nlmsghdr): u32 len, u16 type, u16 flags, u32 seq, u32 port id. */
export const NLMSG_HDRLEN = 16;
/** Message type: an acknowledgement or error; body is `struct nlmsgerr` (i32 error, request header). */
export const NLMSG_ERROR = 2;
/** Message type: the end of a multi-part (dump) answer; body is an i32 error. */
export const NLMSG_DONE = 3;
/** Header flag: a request. */
export const NLM_F_REQUEST = 0x1;
/** Header flag: one part of a multi-part answer. */
export const NLM_F_MULTI = 0x2;
/** Header flag: ask for an acknowledgement (an NLMSG_ERROR with error 0 on success). */
export const NLM_F_ACK = 0x4;
/** Header flag: also send the resulting notification back to the requester. */
export const NLM_F_ECHO = 0x8;
/** Header flag for GET requests: every object (NLM_F_ROOT | NLM_F_MATCH). */
export const NLM_F_DUMP = 0x300;
/** Header flag for NEW requests: fail with EEXIST if the object exists. */
export const NLM_F_EXCL = 0x200;
/** Header flag for NEW requests: create the object. */
export const NLM_F_CREATE = 0x400;

// linux/rtnetlink.h
/** Message type: add a route; body is `struct rtmsg` and RTA_* attributes. */
export const RTM_NEWROUTE = 24;
/** Message type: delete a route. */
export const RTM_DELROUTE = 25;
/** Message type: get (dump) routes. */
export const RTM_GETROUTE = 26;
/** Message type: add a rule; body is `struct fib_rule_hdr` and FRA_* attributes. */
export const RTM_NEWRULE = 32;
/** Message type: delete a rule. */
export const RTM_DELRULE = 33;
/** sizeof(struct rtmsg): family, dst_len, src_len, tos, table, protocol, scope, type (u8), u32 flags. */
export const RTMSG_SIZE = 12;
/** sizeof(struct fib_rule_hdr): family, dst_len, src_len, tos, table, res1, res2, action (u8), u32 flags. */
export const FIB_RULE_HDR_SIZE = 12;
/** sizeof(struct rtattr): u16 len (header included, padding excluded), u16 type. */
export const RTA_HDRLEN = 4;
/** Route attribute: destination address (4 or 16 bytes). */
export const RTA_DST = 1;
/** Route attribute: output interface index (u32). */
export const RTA_OIF = 4;
/** Route attribute: metric (u32). */
export const RTA_PRIORITY = 6;
/** Route attribute: table id (u32), for ids that do not fit rtm_table's byte. */
export const RTA_TABLE = 15;
/** Table id of "main", where routes go by default. */
export const RT_TABLE_MAIN = 254;
/** Table id 0: no table named (the kernel takes RTA_TABLE, or main). */
export const RT_TABLE_UNSPEC = 0;
/** Route type: a gateway or direct route. */
export const RTN_UNICAST = 1;
/** Route protocol: installed by an administrator (iproute2's default). */
export const RTPROT_BOOT = 3;
/** Route scope: everywhere (IPv6 routes, routes through a gateway). */
export const RT_SCOPE_UNIVERSE = 0;
/** Route scope: on the link (an IPv4 route through a device without a gateway). */
export const RT_SCOPE_LINK = 253;
/** Route scope on delete: match a route of any scope. */
export const RT_SCOPE_NOWHERE = 255;

// linux/fib_rules.h
/** Rule attribute: priority (u32); lower is consulted first. */
export const FRA_PRIORITY = 6;
/** Rule attribute: firewall mark to match (u32). */
export const FRA_FWMARK = 10;
/** Rule attribute: ignore a lookup result whose prefix is this long or shorter (u32). */
export const FRA_SUPPRESS_PREFIXLEN = 14;
/** Rule attribute: table id (u32). */
export const FRA_TABLE = 15;
/** Rule attribute: the mask applied to the packet's mark before comparing it (u32). */
export const FRA_FWMASK = 16;
/** Rule action: look the packet up in the rule's table. */
export const FR_ACT_TO_TBL = 1;
/** Rule action: fail the lookup with "network unreachable" (`ip rule add … type unreachable`). */
export const FR_ACT_UNREACHABLE = 7;
/** Route type: stop the lookup in this table and go on with the next rule (`ip route add throw`). */
export const RTN_THROW = 9;
/** Rule flag: the selector is negated (`ip rule add not …`). */
export const FIB_RULE_INVERT = 0x2;

/** Largest routing table id (ids are u32; 0 means "unspecified"). */
const MAX_TABLE = 0xffffffff;
/** A device route in a routing table, as `ip route add PREFIX dev IFNAME table N` makes. */
export interface TableRoute {
  /** Destination prefix (host bits are ignored). */
  prefix: IpPrefix;
  /** Interface the route goes through. */
  ifname: string;
  /** Table id, 1-4294967295 (254 is main). */
  table: number;
  /**
   * `"throw"`: a throw route (`ip route add throw PREFIX table N`), which sends the lookup on
   * to the next rule; it has no interface (`ifname` is ignored).
   */
  kind?: "throw";
}

/**
 * A policy-routing rule that looks packets up in a table, as `ip rule add` makes:
 * `{ family: 4, invert: true, fwmark: 51820, table: 51820 }` is `ip -4 rule add not fwmark
 * 51820 table 51820`, and `{ family: 4, table: 254, suppressPrefixLength: 0 }` is
 * `ip -4 rule add table main suppress_prefixlength 0`.
 */
export interface Rule {
  /** Address family the rule applies to. */
  family: 4 | 6;
  /** Table to look packets up in. */
  table: number;
  /** Match packets carrying this firewall mark (all 32 bits, or those of `fwmask`). */
  fwmark?: number;
  /** Compare only these bits of the mark (`fwmark 0x80000/0xff0000`). */
  fwmask?: number;
  /** Fail the lookup as unreachable instead of looking in `table` (which is then ignored). */
  unreachable?: boolean;
  /** Negate the selector ("not fwmark …"). */
  invert?: boolean;
  /** Ignore routes with a prefix this long or shorter from the lookup (0: the default route). */
  suppressPrefixLength?: number;
  /** Priority; when absent on add, the kernel picks one just above the first non-zero rule's. */
  priority?: number;
}

/** One netlink message split into its header fields and body. */
export interface NetlinkMessage {
  /** nlmsg_type. */
  type: number;
  /** nlmsg_flags. */
  flags: number;
  /** nlmsg_seq: the request's sequence number, echoed by the kernel. */
  seq: number;
  /** nlmsg_pid: the sender's port id (0 for the kernel). */
  pid: number;
  /** The bytes after the header, up to nlmsg_len. */
  body: Uint8Array;
}

/** The fields of an RTM_NEWROUTE message that the client reads. */
export interface DecodedRoute {
  /** AF_INET or AF_INET6 (or another family the kernel dumps). */
  family: number;
  /** Destination prefix length. */
  dstLen: number;
  /** Table id: RTA_TABLE when present, else rtm_table. */
  table: number;
  /** Output interface index, 0 if absent. */
  oif: number;
  /** Route type (RTN_UNICAST, RTN_THROW, …). */
  type: number;
  /** Destination address (empty for a default route without RTA_DST). */
  dst: Uint8Array;
}

/** A rule as the kernel reports it (RTM_NEWRULE), with the priority it was given. */
export interface DecodedRule extends Rule {
  /** The rule's priority (0 if the kernel left FRA_PRIORITY out). */
  priority: number;
}

// --- codec ---

/** `n` rounded up to the 4-byte netlink alignment (NLMSG_ALIGN, RTA_ALIGN). */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

/** One attribute (`struct rtattr` + payload) as [type, payload]; the encoder pads it to 4 bytes. */
export type Attr = [number, Uint8Array];

function u32(v: number): Uint8Array {
  const b = new Uint8Array(4);
  new DataView(b.buffer).setUint32(0, v, true);
  return b;
}

/**
 * A complete netlink message: header, a fixed-size family header, then attributes, each
 * padded to 4 bytes. Integers are host order (little-endian on every target warren runs on).
 */
export function encodeMessage(
  type: number,
  flags: number,
  seq: number,
  fixed: Uint8Array,
  attrs: readonly Attr[] = [],
): Uint8Array {
  let len = NLMSG_HDRLEN + align4(fixed.length);
  for (const [, payload] of attrs) len += align4(RTA_HDRLEN + payload.length);
  const msg = new Uint8Array(len);
  const dv = new DataView(msg.buffer);
  dv.setUint32(0, len, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, flags, true);
  dv.setUint32(8, seq >>> 0, true);
  dv.setUint32(12, 0, true); // port id: the kernel fills in the sender's
  msg.set(fixed, NLMSG_HDRLEN);
  let off = NLMSG_HDRLEN + align4(fixed.length);
  for (const [attrType, payload] of attrs) {
    dv.setUint16(off, RTA_HDRLEN + payload.length, true);
    dv.setUint16(off + 2, attrType, true);
    msg.set(payload, off + RTA_HDRLEN);
    off += align4(RTA_HDRLEN + payload.length);
  }
  return msg;
}

/**
 * The RTM_NEWROUTE or RTM_DELROUTE request for a device route in a table, byte for byte what
 * `ip route add|del PREFIX dev IFNAME table N` sends: on add, protocol "boot", type unicast and
 * (IPv4) scope link, as for any route without a gateway; on delete those fields are left open
 * so the kernel matches the route whatever they are. Tables below 256 go in rtm_table, larger
 * ones in RTA_TABLE.
 *
 * @example
 * ```ts
 * import { encodeRouteRequest, RTM_NEWROUTE } from "./netlink_codec.ts";
 * const prefix = { ip: new Uint8Array(4), bits: 0 };
 * const msg = encodeRouteRequest(RTM_NEWROUTE, { prefix, ifname: "wg0", table: 51820 }, 3, 1);
 * msg.length; // 52
 * ```
 */
export function encodeRouteRequest(
  type: typeof RTM_NEWROUTE | typeof RTM_DELROUTE,
  route: TableRoute,
  ifindex: number,
  seq: number,
): Uint8Array {
  const add = type === RTM_NEWROUTE;
  checkPrefix(route.prefix, `Cannot ${add ? "add" : "delete"} route`);
  checkTable(route.table);
  const p = maskPrefix(route.prefix);
  const v4 = p.ip.length === 4;
  const rtm = new Uint8Array(RTMSG_SIZE);
  rtm[0] = v4 ? AF_INET : AF_INET6;
  rtm[1] = p.bits;
  rtm[4] = route.table < 256 ? route.table : RT_TABLE_UNSPEC;
  const thrown = route.kind === "throw";
  if (add) {
    rtm[5] = RTPROT_BOOT;
    rtm[6] = v4 && !thrown ? RT_SCOPE_LINK : RT_SCOPE_UNIVERSE;
    rtm[7] = thrown ? RTN_THROW : RTN_UNICAST;
  } else {
    // IPv6 ignores scope; IPv4 matches any scope only when asked for "nowhere".
    rtm[6] = v4 ? RT_SCOPE_NOWHERE : RT_SCOPE_UNIVERSE;
    if (thrown) rtm[7] = RTN_THROW;
  }
  const attrs: Attr[] = [[RTA_DST, p.ip]];
  if (route.table >= 256) attrs.push([RTA_TABLE, u32(route.table)]);
  if (!thrown) attrs.push([RTA_OIF, u32(ifindex)]);
  const flags = NLM_F_REQUEST | NLM_F_ACK | (add ? NLM_F_CREATE | NLM_F_EXCL : 0);
  return encodeMessage(type, flags, seq, rtm, attrs);
}

/**
 * The RTM_NEWRULE or RTM_DELRULE request for a rule, byte for byte what `ip rule add|del`
 * sends with the same selectors. With `echo`, the kernel also sends the new rule back, which is
 * how the client learns the priority it picked.
 *
 * @example
 * ```ts
 * import { encodeRuleRequest, RTM_NEWRULE } from "./netlink_codec.ts";
 * const rule = { family: 4 as const, invert: true, fwmark: 51820, table: 51820 };
 * encodeRuleRequest(RTM_NEWRULE, rule, 1).length; // 44
 * ```
 */
export function encodeRuleRequest(
  type: typeof RTM_NEWRULE | typeof RTM_DELRULE,
  rule: Rule,
  seq: number,
  opts: { echo?: boolean } = {},
): Uint8Array {
  checkRule(rule);
  const add = type === RTM_NEWRULE;
  const hdr = new Uint8Array(FIB_RULE_HDR_SIZE);
  hdr[0] = rule.family === 4 ? AF_INET : AF_INET6;
  const table = rule.unreachable ? RT_TABLE_UNSPEC : rule.table;
  hdr[4] = table < 256 ? table : RT_TABLE_UNSPEC;
  if (add) hdr[7] = rule.unreachable ? FR_ACT_UNREACHABLE : FR_ACT_TO_TBL; // on delete, 0: any
  new DataView(hdr.buffer).setUint32(8, rule.invert ? FIB_RULE_INVERT : 0, true);
  const attrs: Attr[] = [];
  if (rule.priority !== undefined) attrs.push([FRA_PRIORITY, u32(rule.priority)]);
  if (rule.fwmark !== undefined) attrs.push([FRA_FWMARK, u32(rule.fwmark)]);
  if (rule.fwmask !== undefined) attrs.push([FRA_FWMASK, u32(rule.fwmask)]);
  if (table >= 256) attrs.push([FRA_TABLE, u32(table)]);
  if (rule.suppressPrefixLength !== undefined) {
    attrs.push([FRA_SUPPRESS_PREFIXLEN, u32(rule.suppressPrefixLength)]);
  }
  let flags = NLM_F_REQUEST | NLM_F_ACK;
  if (add) flags |= NLM_F_CREATE | NLM_F_EXCL | (opts.echo ? NLM_F_ECHO : 0);
  return encodeMessage(type, flags, seq, hdr, attrs);
}

/**
 * The RTM_GETROUTE request that dumps every route of every table (IPv4 and IPv6; `family` 0).
 */
export function encodeRouteDumpRequest(seq: number, family = 0): Uint8Array {
  const rtm = new Uint8Array(RTMSG_SIZE);
  rtm[0] = family;
  return encodeMessage(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq, rtm);
}

/**
 * Splits a received datagram into its messages. Throws a RangeError on a length field that
 * points outside the datagram, which only a kernel bug or a short read would produce.
 */
export function decodeMessages(buf: Uint8Array): NetlinkMessage[] {
  const dv = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: NetlinkMessage[] = [];
  let off = 0;
  while (off + NLMSG_HDRLEN <= buf.length) {
    const len = dv.getUint32(off, true);
    if (len < NLMSG_HDRLEN || off + len > buf.length) {
      throw new RangeError(
        `Cannot decode netlink message at byte ${off}: length ${len} outside 16-${
          buf.length - off
        }`,
      );
    }
    out.push({
      type: dv.getUint16(off + 4, true),
      flags: dv.getUint16(off + 6, true),
      seq: dv.getUint32(off + 8, true),
      pid: dv.getUint32(off + 12, true),
      body: buf.subarray(off + NLMSG_HDRLEN, off + len),
    });
    off += align4(len);
  }
  return out;
}

/** Multicast group: link (interface) changes. */
export const RTMGRP_LINK = 0x1;
/** Multicast group: IPv4 address changes. */
export const RTMGRP_IPV4_IFADDR = 0x10;
/** Multicast group: IPv6 address changes. */
export const RTMGRP_IPV6_IFADDR = 0x100;
/** Message type: a link appeared or changed. */
export const RTM_NEWLINK = 16;
/** Message type: a link went away. */
export const RTM_DELLINK = 17;
/** Message type: an address was added. */
export const RTM_NEWADDR = 20;
/** Message type: an address was removed. */
export const RTM_DELADDR = 21;

/** A link or address notification, reduced to what a network monitor needs. */
export interface LinkChange {
  /** Whether a link (interface) or an address changed. */
  kind: "link" | "addr";
  /** Whether it went away (RTM_DELLINK, RTM_DELADDR). */
  removed: boolean;
  /** The interface index. */
  ifindex: number;
}

/**
 * Reads a link or address notification; null for any other message type or a body too short
 * for its header. `ifinfomsg` and `ifaddrmsg` both carry the interface index at byte 4.
 */
export function decodeLinkChange(m: NetlinkMessage): LinkChange | null {
  const kind = m.type === RTM_NEWLINK || m.type === RTM_DELLINK
    ? "link"
    : m.type === RTM_NEWADDR || m.type === RTM_DELADDR
    ? "addr"
    : null;
  if (kind === null || m.body.length < 8) return null;
  const dv = new DataView(m.body.buffer, m.body.byteOffset, m.body.byteLength);
  return {
    kind,
    removed: m.type === RTM_DELLINK || m.type === RTM_DELADDR,
    ifindex: dv.getUint32(4, true),
  };
}

/** The error of an NLMSG_ERROR (or NLMSG_DONE) body: 0 for an acknowledgement, else -errno. */
export function decodeError(body: Uint8Array): number {
  if (body.length < 4) throw new RangeError(`Cannot decode netlink error: ${body.length} bytes`);
  return new DataView(body.buffer, body.byteOffset, body.byteLength).getInt32(0, true);
}

/**
 * The attributes that follow a fixed header of `offset` bytes, by type (the last of a repeated
 * type wins). A truncated attribute ends the list.
 */
export function decodeAttributes(body: Uint8Array, offset: number): Map<number, Uint8Array> {
  const dv = new DataView(body.buffer, body.byteOffset, body.byteLength);
  const out = new Map<number, Uint8Array>();
  let off = align4(offset);
  while (off + RTA_HDRLEN <= body.length) {
    const len = dv.getUint16(off, true);
    if (len < RTA_HDRLEN || off + len > body.length) break;
    // NLA_F_NESTED and NLA_F_NET_BYTEORDER live in the type's top two bits.
    out.set(dv.getUint16(off + 2, true) & 0x3fff, body.subarray(off + RTA_HDRLEN, off + len));
    off += align4(len);
  }
  return out;
}

function attrU32(attrs: Map<number, Uint8Array>, type: number): number | undefined {
  const a = attrs.get(type);
  if (a === undefined || a.length < 4) return undefined;
  return new DataView(a.buffer, a.byteOffset, 4).getUint32(0, true);
}

/** The family, prefix length, table and interface of an RTM_NEWROUTE body. */
export function decodeRoute(body: Uint8Array): DecodedRoute {
  if (body.length < RTMSG_SIZE) throw new RangeError(`Cannot decode route: ${body.length} bytes`);
  const attrs = decodeAttributes(body, RTMSG_SIZE);
  return {
    family: body[0],
    dstLen: body[1],
    table: attrU32(attrs, RTA_TABLE) ?? body[4],
    oif: attrU32(attrs, RTA_OIF) ?? 0,
    type: body[7],
    dst: attrs.get(RTA_DST)?.slice() ?? new Uint8Array(0),
  };
}

/** The selectors, table and priority of an RTM_NEWRULE body. */
export function decodeRule(body: Uint8Array): DecodedRule {
  if (body.length < FIB_RULE_HDR_SIZE) {
    throw new RangeError(`Cannot decode rule: ${body.length} bytes`);
  }
  const attrs = decodeAttributes(body, FIB_RULE_HDR_SIZE);
  const flags = new DataView(body.buffer, body.byteOffset + 8, 4).getUint32(0, true);
  const rule: DecodedRule = {
    family: body[0] === AF_INET6 ? 6 : 4,
    table: attrU32(attrs, FRA_TABLE) ?? body[4],
    priority: attrU32(attrs, FRA_PRIORITY) ?? 0,
  };
  const fwmark = attrU32(attrs, FRA_FWMARK);
  if (fwmark !== undefined) rule.fwmark = fwmark;
  const fwmask = attrU32(attrs, FRA_FWMASK);
  if (fwmask !== undefined && fwmask !== 0xffffffff) rule.fwmask = fwmask;
  if (body[7] === FR_ACT_UNREACHABLE) rule.unreachable = true;
  if (flags & FIB_RULE_INVERT) rule.invert = true;
  const suppress = attrU32(attrs, FRA_SUPPRESS_PREFIXLEN);
  // The kernel reports -1 (not set) as 0xffffffff.
  if (suppress !== undefined && suppress !== 0xffffffff) rule.suppressPrefixLength = suppress;
  return rule;
}

/** `ip rule` words for a rule, such as `not from all fwmark 0xca6c lookup 51820`. */
export function formatRule(rule: Rule): string {
  const words = [rule.invert ? "not from all" : "from all"];
  if (rule.fwmark !== undefined) {
    const mask = rule.fwmask === undefined ? "" : `/0x${rule.fwmask.toString(16)}`;
    words.push(`fwmark 0x${rule.fwmark.toString(16)}${mask}`);
  }
  words.push(rule.unreachable ? "unreachable" : `lookup ${tableName(rule.table)}`);
  if (rule.suppressPrefixLength !== undefined) {
    words.push(`suppress_prefixlength ${rule.suppressPrefixLength}`);
  }
  return words.join(" ");
}

/** A table id as iproute2 names it: `main`, `local`, `default`, else the number. */
export function tableName(table: number): string {
  return table === RT_TABLE_MAIN
    ? "main"
    : table === 255
    ? "local"
    : table === 253
    ? "default"
    : `${table}`;
}

function checkTable(table: number): void {
  if (!Number.isInteger(table) || table < 1 || table > MAX_TABLE) {
    throw new RangeError(`Invalid routing table ${table}: must be 1-${MAX_TABLE}`);
  }
}

function checkU32(v: number | undefined, what: string): void {
  if (v !== undefined && (!Number.isInteger(v) || v < 0 || v > 0xffffffff)) {
    throw new RangeError(`Invalid rule ${what} ${v}: must be 0-4294967295`);
  }
}

function checkRule(rule: Rule): void {
  if (rule.family !== 4 && rule.family !== 6) {
    throw new RangeError(`Invalid rule family ${rule.family}: must be 4 or 6`);
  }
  if (!rule.unreachable) checkTable(rule.table);
  checkU32(rule.fwmark, "fwmark");
  checkU32(rule.fwmask, "fwmask");
  checkU32(rule.priority, "priority");
  const max = rule.family === 4 ? 32 : 128;
  const s = rule.suppressPrefixLength;
  if (s !== undefined && (!Number.isInteger(s) || s < 0 || s > max)) {
    throw new RangeError(`Invalid rule suppress_prefixlength ${s}: must be 0-${max}`);
  }
}
