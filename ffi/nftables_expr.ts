/**
 * nf_tables rule expressions (linux/netfilter/nf_tables.h): the small register machine a rule
 * is, as netlink attributes. Each builder returns one expression; the `match*` helpers return
 * the sequence nft 1.0.6 generates for the same match (`nft --debug=netlink` prints it), so a
 * rule built here is byte for byte nft's.
 *
 * @module
 */

import { type IpPrefix, maskPrefix } from "./libc.ts";
import { type Nla, nlaString, nlaU32 } from "./nftables_nla.ts";

/** Register 0 holds the verdict. */
export const NFT_REG_VERDICT = 0;
/** The first 16-byte data register (nft's `reg 1`). */
export const NFT_REG_1 = 1;

/** Verdict: let the packet pass this chain. */
export const NF_ACCEPT = 1;
/** Verdict: drop the packet. */
export const NF_DROP = 0;
/** nfproto value of IPv4 packets (`meta nfproto ipv4`). */
export const NFPROTO_IPV4 = 2;
/** nfproto value of IPv6 packets. */
export const NFPROTO_IPV6 = 10;

/** meta key: name of the input interface (16 bytes, NUL padded). */
export const NFT_META_IIFNAME = 6;
/** meta key: name of the output interface. */
export const NFT_META_OIFNAME = 7;
/** meta key: the packet's netfilter family (1 byte), which an inet table must test first. */
export const NFT_META_NFPROTO = 15;
/** ct key: the connection's state as a bit set (host-order u32). */
export const NFT_CT_STATE = 0;
/** ct state bit: a packet of a connection seen both ways (NF_CT_STATE_BIT(IP_CT_ESTABLISHED)). */
export const NFT_CT_STATE_BIT_ESTABLISHED = 1 << 1;
/** ct state bit: a packet related to a known connection, such as an ICMP error. */
export const NFT_CT_STATE_BIT_RELATED = 1 << 2;
/** cmp op: equal. */
export const NFT_CMP_EQ = 0;
/** cmp op: not equal. */
export const NFT_CMP_NEQ = 1;
/** payload base: the network (IP) header. */
export const NFT_PAYLOAD_NETWORK_HEADER = 1;

const NFTA_LIST_ELEM = 1;
const NFTA_EXPR_NAME = 1;
const NFTA_EXPR_DATA = 2;
const NFTA_DATA_VALUE = 1;
const NFTA_DATA_VERDICT = 2;
const NFTA_VERDICT_CODE = 1;
/** Linux IFNAMSIZ: nft compares interface names over all 16 bytes. */
const IFNAMSIZ = 16;

/** One expression: its name and its NFTA_EXPR_DATA attributes. */
export interface Expr {
  /** Expression type, such as "meta" or "cmp". */
  name: string;
  /** Its attributes, in nft's order. */
  data: readonly Nla[];
}

/** The NFTA_LIST_ELEM attribute that carries an expression in NFTA_RULE_EXPRESSIONS. */
export function exprNla(e: Expr): Nla {
  return [NFTA_LIST_ELEM, [[NFTA_EXPR_NAME, nlaString(e.name)], [NFTA_EXPR_DATA, e.data]]];
}

/** `meta load KEY => reg DREG`. */
export function meta(key: number, dreg = NFT_REG_1): Expr {
  return { name: "meta", data: [[2, /* KEY */ nlaU32(key)], [1, /* DREG */ nlaU32(dreg)]] };
}

/** `ct load KEY => reg DREG`. */
export function ct(key: number, dreg = NFT_REG_1): Expr {
  return { name: "ct", data: [[2, /* KEY */ nlaU32(key)], [1, /* DREG */ nlaU32(dreg)]] };
}

/** `cmp OP reg SREG DATA`: ends the rule unless the register's first bytes compare so. */
export function cmp(op: number, data: Uint8Array, sreg = NFT_REG_1): Expr {
  return {
    name: "cmp",
    data: [
      [1, /* SREG */ nlaU32(sreg)],
      [2, /* OP */ nlaU32(op)],
      [3, /* DATA */ [[NFTA_DATA_VALUE, data]]],
    ],
  };
}

/** `bitwise reg DREG = (reg SREG & MASK) ^ XOR` over `mask.length` bytes. */
export function bitwise(mask: Uint8Array, xor: Uint8Array, sreg = NFT_REG_1, dreg = sreg): Expr {
  if (mask.length !== xor.length) {
    throw new RangeError(
      `Invalid bitwise expression: mask ${mask.length}, xor ${xor.length} bytes`,
    );
  }
  return {
    name: "bitwise",
    data: [
      [1, /* SREG */ nlaU32(sreg)],
      [2, /* DREG */ nlaU32(dreg)],
      [3, /* LEN */ nlaU32(mask.length)],
      [4, /* MASK */ [[NFTA_DATA_VALUE, mask]]],
      [5, /* XOR */ [[NFTA_DATA_VALUE, xor]]],
    ],
  };
}

/** `payload load LENb @ BASE + OFFSET => reg DREG`. */
export function payload(base: number, offset: number, len: number, dreg = NFT_REG_1): Expr {
  return {
    name: "payload",
    data: [
      [1, /* DREG */ nlaU32(dreg)],
      [2, /* BASE */ nlaU32(base)],
      [3, /* OFFSET */ nlaU32(offset)],
      [4, /* LEN */ nlaU32(len)],
    ],
  };
}

/** `immediate reg 0 VERDICT`: the rule's verdict (NF_ACCEPT, NF_DROP). */
export function verdict(code: number): Expr {
  return {
    name: "immediate",
    data: [
      [1, /* DREG */ nlaU32(NFT_REG_VERDICT)],
      [2, /* DATA */ [[NFTA_DATA_VERDICT, [[NFTA_VERDICT_CODE, nlaU32(code >>> 0)]]]]],
    ],
  };
}

/** `masq`: source NAT to the address of the interface the packet leaves on. */
export function masquerade(): Expr {
  return { name: "masq", data: [] };
}

/** The 16-byte register image of an interface name, as `iifname "x"` compares it. */
export function ifnameBytes(name: string): Uint8Array {
  const b = new TextEncoder().encode(name);
  if (b.length === 0 || b.length >= IFNAMSIZ) {
    throw new RangeError(`Invalid interface name "${name}": must be 1 to 15 bytes`);
  }
  const out = new Uint8Array(IFNAMSIZ);
  out.set(b);
  return out;
}

/** `iifname "NAME"` or `oifname "NAME"` (`!=` with `negate`). */
export function matchIfname(
  dir: "iif" | "oif",
  name: string,
  opts: { negate?: boolean } = {},
): Expr[] {
  return [
    meta(dir === "iif" ? NFT_META_IIFNAME : NFT_META_OIFNAME),
    cmp(opts.negate ? NFT_CMP_NEQ : NFT_CMP_EQ, ifnameBytes(name)),
  ];
}

/** `ct state BITS` (any of them): the state masked, then compared unequal to zero. */
export function matchCtState(bits: number): Expr[] {
  const mask = new Uint8Array(4);
  new DataView(mask.buffer).setUint32(0, bits, true); // ct state is a host-order u32
  return [ct(NFT_CT_STATE), bitwise(mask, new Uint8Array(4)), cmp(NFT_CMP_NEQ, new Uint8Array(4))];
}

/**
 * `ip saddr P` or `ip6 saddr P` in an inet table: first `meta nfproto`, so an IPv6 header is
 * never read as IPv4. As nft does, a prefix of whole bytes loads and compares only those bytes;
 * any other length loads the whole address and masks it.
 */
export function matchSaddr(prefix: IpPrefix): Expr[] {
  const p = maskPrefix(prefix);
  const v4 = p.ip.length === 4;
  const offset = v4 ? 12 : 8; // source address in the IPv4 / IPv6 header
  const out = [
    meta(NFT_META_NFPROTO),
    cmp(NFT_CMP_EQ, Uint8Array.of(v4 ? NFPROTO_IPV4 : NFPROTO_IPV6)),
  ];
  if (p.bits > 0 && p.bits % 8 === 0) {
    const n = p.bits / 8;
    out.push(payload(NFT_PAYLOAD_NETWORK_HEADER, offset, n), cmp(NFT_CMP_EQ, p.ip.slice(0, n)));
    return out;
  }
  const mask = new Uint8Array(p.ip.length);
  for (let i = 0; i < mask.length; i++) {
    const bits = Math.min(8, Math.max(0, p.bits - i * 8));
    mask[i] = (0xff00 >> bits) & 0xff;
  }
  out.push(
    payload(NFT_PAYLOAD_NETWORK_HEADER, offset, p.ip.length),
    bitwise(mask, new Uint8Array(p.ip.length)),
    cmp(NFT_CMP_EQ, p.ip.slice()),
  );
  return out;
}
