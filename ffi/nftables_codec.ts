/**
 * nf_tables byte layouts (linux/netfilter/nfnetlink.h, linux/netfilter/nf_tables.h): the
 * nfnetlink batch, tables, base chains and the few rule expressions warren's forwarding and
 * masquerade rules need, as pure functions over `Uint8Array`. A batch built here is byte for byte
 * what nft 1.0.6 sends for the same ruleset (see `testdata/nftables_*.hex`), apart from the
 * NLM_F_ACK the client asks for; {@link ./nftables.ts} does the I/O.
 *
 * Two byte orders meet here: netlink headers and attribute headers are host order, but nf_tables
 * wants every u32 and u64 attribute in network order. Register contents (`cmp` and `bitwise`
 * data) are raw bytes as the packet or the kernel lays them out.
 *
 * @module
 */

import { checkIfName, checkPrefix, formatPrefix, type IpPrefix, maskPrefix } from "./libc.ts";
import { NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_REQUEST } from "./netlink_codec.ts";
import {
  type Expr,
  exprNla,
  masquerade,
  matchCtState,
  matchIfname,
  matchSaddr,
  NF_ACCEPT,
  NFT_CT_STATE_BIT_ESTABLISHED,
  NFT_CT_STATE_BIT_RELATED,
  verdict,
} from "./nftables_expr.ts";
import { decodeNlas, encodeNlas, type Nla, nlaString, nlaU32 } from "./nftables_nla.ts";

// linux/netlink.h
/** The netfilter protocol of an AF_NETLINK socket (nfnetlink). */
export const NETLINK_NETFILTER = 12;
/** Header flag for NEWRULE: add the rule at the end of the chain. */
export const NLM_F_APPEND = 0x800;

// linux/netfilter/nfnetlink.h
/** Message type: opens a batch; nfgenmsg res_id (big-endian) names the subsystem. */
export const NFNL_MSG_BATCH_BEGIN = 0x10;
/** Message type: closes a batch; the kernel commits everything in it, or nothing. */
export const NFNL_MSG_BATCH_END = 0x11;
/** The nf_tables subsystem id: the high byte of its message types and the batch's res_id. */
export const NFNL_SUBSYS_NFTABLES = 10;
/** sizeof(struct nfgenmsg): u8 family, u8 version, be16 res_id. */
export const NFGENMSG_SIZE = 4;

// linux/netfilter.h
/** nfgenmsg family: IPv4 and IPv6 together (an `inet` table). */
export const NFPROTO_INET = 1;
/** Hook number: packets routed through the host. */
export const NF_INET_FORWARD = 2;
/** Hook number: packets about to leave, after routing. */
export const NF_INET_POST_ROUTING = 4;
/** Base chain priority of nft's `filter`. */
export const NF_IP_PRI_FILTER = 0;
/** Base chain priority of nft's `srcnat`. */
export const NF_IP_PRI_NAT_SRC = 100;

// linux/netfilter/nf_tables.h: message types (after the subsystem byte)
/** nf_tables message: create a table; body NFTA_TABLE_*. */
export const NFT_MSG_NEWTABLE = 0;
/** nf_tables message: get (dump) tables. */
export const NFT_MSG_GETTABLE = 1;
/** nf_tables message: delete a table with everything in it. */
export const NFT_MSG_DELTABLE = 2;
/** nf_tables message: create a chain; body NFTA_CHAIN_*. */
export const NFT_MSG_NEWCHAIN = 3;
/** nf_tables message: add a rule; body NFTA_RULE_*. */
export const NFT_MSG_NEWRULE = 6;

/** Table attribute: name (NUL-terminated string). */
export const NFTA_TABLE_NAME = 1;
/** Table attribute: flags (be32; 1 = dormant, 2 = owned by the creating socket). */
export const NFTA_TABLE_FLAGS = 2;
/** Table attribute: number of chains in the table (be32). */
export const NFTA_TABLE_USE = 3;
/** Table attribute: handle (be64). */
export const NFTA_TABLE_HANDLE = 4;
/** Chain attribute: table name. */
export const NFTA_CHAIN_TABLE = 1;
/** Chain attribute: chain name. */
export const NFTA_CHAIN_NAME = 3;
/** Chain attribute (nested): NFTA_HOOK_HOOKNUM and NFTA_HOOK_PRIORITY; makes a base chain. */
export const NFTA_CHAIN_HOOK = 4;
/** Chain attribute: policy verdict of a base chain (be32, NF_ACCEPT or NF_DROP). */
export const NFTA_CHAIN_POLICY = 5;
/** Chain attribute: chain type, "filter", "nat" or "route". */
export const NFTA_CHAIN_TYPE = 7;
/** Hook attribute: hook number (be32). */
export const NFTA_HOOK_HOOKNUM = 1;
/** Hook attribute: priority (be32, signed). */
export const NFTA_HOOK_PRIORITY = 2;
/** Rule attribute: table name. */
export const NFTA_RULE_TABLE = 1;
/** Rule attribute: chain name. */
export const NFTA_RULE_CHAIN = 2;
/** Rule attribute (nested): a list of NFTA_LIST_ELEM expressions. */
export const NFTA_RULE_EXPRESSIONS = 4;

/** nf_tables limits names (tables, chains) to 255 bytes and a NUL. */
const NFT_NAME_MAXLEN = 256;

/** One message of a batch before it is framed: what it does, and how to say so in an error. */
export interface NftMessage {
  /** NFT_MSG_* (the subsystem byte is added when framing). */
  type: number;
  /** Header flags besides NLM_F_REQUEST (and the NLM_F_ACK a batch may add). */
  flags: number;
  /** nfgenmsg family of the object (NFPROTO_INET for warren's table). */
  family: number;
  /** The attributes. */
  attrs: readonly Nla[];
  /** What the message does, for error messages, such as `create chain forward`. */
  step: string;
}

/** A framed batch: the bytes for one sendto, and the step of each sequence number in it. */
export interface Batch {
  /** BATCH_BEGIN, the messages, BATCH_END. */
  bytes: Uint8Array;
  /** Sequence number of BATCH_BEGIN; the messages follow it, BATCH_END comes last. */
  seq: number;
  /** The step of each message, by sequence number (BATCH_BEGIN and BATCH_END excluded). */
  steps: Map<number, string>;
}

/** What {@link forwardingMessages} programs: the rules a subnet router or exit node needs. */
export interface ForwardingConfig {
  /** Table name (in family inet), such as "warren". */
  table: string;
  /** The TUN interface tailnet traffic comes in and goes out on. */
  tun: string;
  /** Masquerade IPv4 packets from this prefix that leave through another interface. */
  snatV4?: IpPrefix;
  /** Masquerade IPv6 packets from this prefix that leave through another interface. */
  snatV6?: IpPrefix;
}

/** A table as the kernel reports it in a GETTABLE dump. */
export interface DecodedTable {
  /** nfgenmsg family (NFPROTO_INET = 1, NFPROTO_IPV4 = 2, …). */
  family: number;
  /** Table name. */
  name: string;
  /** NFTA_TABLE_FLAGS. */
  flags: number;
  /** Number of chains (NFTA_TABLE_USE). */
  use: number;
  /** Kernel handle (NFTA_TABLE_HANDLE; a u64, exact below 2^53). */
  handle: number;
}

// --- framing ---

function nfgenmsg(family: number, resId: number): Uint8Array {
  const b = new Uint8Array(NFGENMSG_SIZE);
  b[0] = family;
  // b[1]: NFNETLINK_V0
  new DataView(b.buffer).setUint16(2, resId, false);
  return b;
}

function frame(type: number, flags: number, seq: number, fixed: Uint8Array, attrs: Uint8Array) {
  const len = 16 + fixed.length + attrs.length;
  const msg = new Uint8Array(len);
  const dv = new DataView(msg.buffer);
  dv.setUint32(0, len, true);
  dv.setUint16(4, type, true);
  dv.setUint16(6, flags, true);
  dv.setUint32(8, seq >>> 0, true);
  msg.set(fixed, 16);
  msg.set(attrs, 16 + fixed.length);
  return msg;
}

/**
 * Frames messages as one nfnetlink batch: BATCH_BEGIN with sequence number `seq`, the messages
 * with `seq + 1` onwards, BATCH_END last. With `ack`, every message asks for an acknowledgement,
 * so the kernel answers each one with an NLMSG_ERROR (0 on success); nft itself leaves it out and
 * hears only of failures.
 *
 * @example
 * ```ts
 * import { deleteTableMessage, encodeBatch } from "./nftables_codec.ts";
 * const batch = encodeBatch([deleteTableMessage("warren")], 1);
 * batch.bytes.length; // 20 + 32 + 20
 * ```
 */
export function encodeBatch(
  msgs: readonly NftMessage[],
  seq: number,
  opts: { ack?: boolean } = {},
): Batch {
  const ack = opts.ack ? NLM_F_ACK : 0;
  const parts: Uint8Array[] = [];
  const steps = new Map<number, string>();
  const begin = seq >>> 0;
  const subsys = nfgenmsg(0, NFNL_SUBSYS_NFTABLES);
  parts.push(frame(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, begin, subsys, new Uint8Array(0)));
  msgs.forEach((m, i) => {
    const s = (begin + 1 + i) >>> 0;
    steps.set(s, m.step);
    const type = (NFNL_SUBSYS_NFTABLES << 8) | m.type;
    const flags = NLM_F_REQUEST | m.flags | ack;
    parts.push(frame(type, flags, s, nfgenmsg(m.family, 0), encodeNlas(m.attrs)));
  });
  const end = (begin + 1 + msgs.length) >>> 0;
  parts.push(frame(NFNL_MSG_BATCH_END, NLM_F_REQUEST, end, subsys, new Uint8Array(0)));
  const bytes = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    bytes.set(p, off);
    off += p.length;
  }
  return { bytes, seq: begin, steps };
}

/**
 * The GETTABLE request that dumps every table of `family` (0: all families), as
 * `nft list tables` sends it with family 0. Not part of a batch: dumps are not transactions.
 */
export function encodeTableDumpRequest(seq: number, family = NFPROTO_INET): Uint8Array {
  const type = (NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE;
  return frame(type, NLM_F_REQUEST | NLM_F_DUMP, seq, nfgenmsg(family, 0), new Uint8Array(0));
}

// --- objects ---

function checkName(name: string, what: string): void {
  const len = new TextEncoder().encode(name).length;
  if (len === 0 || len >= NFT_NAME_MAXLEN || name.includes("\0")) {
    throw new RangeError(`Invalid nftables ${what} name "${name}": must be 1 to 255 bytes, no NUL`);
  }
}

/**
 * NEWTABLE for an inet table, as `nft add table inet NAME` sends it. Without NLM_F_EXCL the
 * kernel accepts it when the table already exists, which the replace idiom relies on.
 */
export function newTableMessage(name: string): NftMessage {
  checkName(name, "table");
  return {
    type: NFT_MSG_NEWTABLE,
    flags: 0,
    family: NFPROTO_INET,
    attrs: [[NFTA_TABLE_NAME, nlaString(name)], [NFTA_TABLE_FLAGS, nlaU32(0)]],
    step: `create table inet ${name}`,
  };
}

/** DELTABLE for an inet table, as `nft delete table inet NAME` sends it; ENOENT if absent. */
export function deleteTableMessage(name: string): NftMessage {
  checkName(name, "table");
  return {
    type: NFT_MSG_DELTABLE,
    flags: 0,
    family: NFPROTO_INET,
    attrs: [[NFTA_TABLE_NAME, nlaString(name)]],
    step: `delete table inet ${name}`,
  };
}

/** A base chain: a chain attached to a netfilter hook. */
export interface BaseChain {
  /** Table the chain goes in. */
  table: string;
  /** Chain name. */
  name: string;
  /** Chain type: "filter" or "nat". */
  type: "filter" | "nat";
  /** NF_INET_* hook number. */
  hook: number;
  /** Priority: lower runs first (filter 0, srcnat 100). */
  priority: number;
  /** Verdict for packets no rule decided (NF_ACCEPT or NF_DROP). */
  policy: number;
}

/** NEWCHAIN for a base chain, as `nft add chain inet T C { type … hook … priority …; policy …; }`. */
export function newChainMessage(chain: BaseChain): NftMessage {
  checkName(chain.table, "table");
  checkName(chain.name, "chain");
  if (
    !Number.isInteger(chain.priority) || chain.priority < -(2 ** 31) || chain.priority >= 2 ** 31
  ) {
    throw new RangeError(`Invalid nftables chain priority ${chain.priority}: must be an i32`);
  }
  return {
    type: NFT_MSG_NEWCHAIN,
    flags: NLM_F_CREATE,
    family: NFPROTO_INET,
    attrs: [
      [NFTA_CHAIN_TABLE, nlaString(chain.table)],
      [NFTA_CHAIN_NAME, nlaString(chain.name)],
      [NFTA_CHAIN_TYPE, nlaString(chain.type)],
      [NFTA_CHAIN_POLICY, nlaU32(chain.policy)],
      [NFTA_CHAIN_HOOK, [
        [NFTA_HOOK_HOOKNUM, nlaU32(chain.hook)],
        [NFTA_HOOK_PRIORITY, nlaU32(chain.priority >>> 0)],
      ]],
    ],
    step: `create chain ${chain.name}`,
  };
}

/**
 * NEWRULE appending a rule made of `exprs` to a chain, as `nft add rule inet T C …` sends it;
 * `text` is the rule in nft's words, for error messages.
 */
export function newRuleMessage(
  table: string,
  chain: string,
  exprs: readonly Expr[],
  text: string,
): NftMessage {
  checkName(table, "table");
  checkName(chain, "chain");
  return {
    type: NFT_MSG_NEWRULE,
    flags: NLM_F_CREATE | NLM_F_APPEND,
    family: NFPROTO_INET,
    attrs: [
      [NFTA_RULE_TABLE, nlaString(table)],
      [NFTA_RULE_CHAIN, nlaString(chain)],
      [NFTA_RULE_EXPRESSIONS, exprs.map(exprNla)],
    ],
    step: `add rule to chain ${chain}: ${text}`,
  };
}

// --- warren's ruleset ---

/**
 * The messages that create warren's forwarding table, in nft's order for this ruleset:
 *
 * ```
 * table inet warren {
 *   chain forward {
 *     type filter hook forward priority 0; policy accept;
 *     iifname "warren0" accept
 *     ct state established,related accept
 *   }
 *   chain postrouting {            # only with snatV4 or snatV6
 *     type nat hook postrouting priority srcnat; policy accept;
 *     ip saddr 100.64.0.0/10 oifname != "warren0" masquerade
 *     ip6 saddr fd7a:115c:a1e0::/48 oifname != "warren0" masquerade
 *   }
 * }
 * ```
 *
 * With `replace`, an "add table" and "delete table" come first, so that in the same batch a
 * stale table of that name (left by a crash) goes away whether or not it exists.
 *
 * @example
 * ```ts
 * import { encodeBatch, forwardingMessages } from "./nftables_codec.ts";
 * const msgs = forwardingMessages({ table: "warren", tun: "warren0" }, { replace: true });
 * msgs.map((m) => m.step)[3]; // "create chain forward"
 * encodeBatch(msgs, 1, { ack: true }).steps.size; // 6
 * ```
 */
export function forwardingMessages(
  cfg: ForwardingConfig,
  opts: { replace?: boolean } = {},
): NftMessage[] {
  checkName(cfg.table, "table");
  checkIfName(cfg.tun);
  const { table, tun } = cfg;
  const msgs: NftMessage[] = [];
  if (opts.replace) msgs.push(newTableMessage(table), deleteTableMessage(table));
  msgs.push(newTableMessage(table));
  const base = { table, policy: NF_ACCEPT };
  msgs.push(newChainMessage({
    ...base,
    name: "forward",
    type: "filter",
    hook: NF_INET_FORWARD,
    priority: NF_IP_PRI_FILTER,
  }));
  const snat: IpPrefix[] = [];
  if (cfg.snatV4) snat.push(checkFamily(cfg.snatV4, 4));
  if (cfg.snatV6) snat.push(checkFamily(cfg.snatV6, 6));
  if (snat.length > 0) {
    msgs.push(newChainMessage({
      ...base,
      name: "postrouting",
      type: "nat",
      hook: NF_INET_POST_ROUTING,
      priority: NF_IP_PRI_NAT_SRC,
    }));
  }
  const accept = verdict(NF_ACCEPT);
  msgs.push(newRuleMessage(
    table,
    "forward",
    [...matchIfname("iif", tun), accept],
    `iifname "${tun}" accept`,
  ));
  const ctBits = NFT_CT_STATE_BIT_ESTABLISHED | NFT_CT_STATE_BIT_RELATED;
  msgs.push(newRuleMessage(
    table,
    "forward",
    [...matchCtState(ctBits), accept],
    "ct state established,related accept",
  ));
  for (const p of snat) {
    msgs.push(newRuleMessage(
      table,
      "postrouting",
      [...matchSaddr(p), ...matchIfname("oif", tun, { negate: true }), masquerade()],
      `${p.ip.length === 4 ? "ip" : "ip6"} saddr ${formatPrefix(p)} oifname != "${tun}" masquerade`,
    ));
  }
  return msgs;
}

function checkFamily(p: IpPrefix, family: 4 | 6): IpPrefix {
  checkPrefix(p, `Invalid IPv${family} masquerade prefix`);
  if (p.ip.length !== (family === 4 ? 4 : 16)) {
    throw new RangeError(`Invalid IPv${family} masquerade prefix: got an IPv${10 - family} one`);
  }
  return maskPrefix(p);
}

// --- decoding ---

/** The fields of a NEWTABLE message (a GETTABLE dump part) body. */
export function decodeTable(body: Uint8Array): DecodedTable {
  if (body.length < NFGENMSG_SIZE) {
    throw new RangeError(`Cannot decode nftables table: ${body.length} bytes`);
  }
  const t: DecodedTable = { family: body[0], name: "", flags: 0, use: 0, handle: 0 };
  for (const a of decodeNlas(body.subarray(NFGENMSG_SIZE))) {
    const dv = new DataView(a.value.buffer, a.value.byteOffset, a.value.byteLength);
    if (a.type === NFTA_TABLE_NAME) {
      const end = a.value.indexOf(0);
      t.name = new TextDecoder().decode(end < 0 ? a.value : a.value.subarray(0, end));
    } else if (a.type === NFTA_TABLE_FLAGS && a.value.length >= 4) {
      t.flags = dv.getUint32(0, false);
    } else if (a.type === NFTA_TABLE_USE && a.value.length >= 4) {
      t.use = dv.getUint32(0, false);
    } else if (a.type === NFTA_TABLE_HANDLE && a.value.length >= 8) {
      t.handle = Number(dv.getBigUint64(0, false));
    }
  }
  return t;
}
