/**
 * The inbound packet filter: decides, per packet arriving from a peer,
 * whether it may reach this node, with tailscaled's semantics.
 *
 * @module
 */

import { type IpPrefix, parsePrefix } from "../net/ip.ts";
import {
  buildIcmpPacket,
  buildTcpPacket,
  buildUdpPacket,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
  IPPROTO_SCTP,
  IPPROTO_TCP,
  IPPROTO_UDP,
  ParsedPacket,
  parsePacket,
  TCP_ACK,
  TCP_SYN,
} from "../net/packet.ts";
import type { FilterRule } from "../netmap/tailcfg.ts";
import { PrefixTrie } from "../net/prefix_trie.ts";
import { FlowTable } from "./flow_table.ts";
import { type CompiledDst, type CompiledMatch, compileFilterRules } from "./rules.ts";

/** A filter decision. */
export type Verdict = "accept" | "drop";

/** Why a packet was accepted or dropped; index into {@linkcode FilterStats.byReason}. */
export const FILTER_REASONS = [
  "rule", // accept: a rule allows it
  "tcp-non-syn", // accept: part of an established TCP connection (tailscaled lets all non-SYN in)
  "icmp-response", // accept: ICMP echo reply or error
  "reply-flow", // accept: UDP/SCTP reply to a flow this node opened
  "fragment", // accept: a later IP fragment (no ports to judge; the kernel reassembles or drops)
  "malformed", // drop: does not parse, or hides its transport header
  "multicast", // drop: multicast destination
  "link-local", // drop: link-local destination
  "not-local", // drop: destination is not one of this node's addresses or routes
  "no-rule", // drop: no rule allows it
  "unknown-protocol", // drop: a protocol no all-ports rule allows
  "tsmp", // drop: Tailscale's in-tunnel messages (proto 99), which warren does not handle
] as const;

/** One of {@linkcode FILTER_REASONS}. */
export type FilterReason = typeof FILTER_REASONS[number];

const R_RULE = 0, R_TCP_NON_SYN = 1, R_ICMP_RESP = 2, R_FLOW = 3, R_FRAGMENT = 4;
const R_MALFORMED = 5, R_MULTICAST = 6, R_LINK_LOCAL = 7, R_NOT_LOCAL = 8, R_NO_RULE = 9;
const R_UNKNOWN_PROTO = 10, R_TSMP = 11;
const FIRST_DROP = R_MALFORMED;
const IPPROTO_TSMP = 99;

/** Counters since the filter was made. */
export interface FilterStats {
  /** Packets accepted. */
  accepted: number;
  /** Packets dropped. */
  dropped: number;
  /** Packets by reason (only reasons seen at least once). */
  byReason: Partial<Record<FilterReason, number>>;
}

/** Options for {@linkcode PacketFilter}. */
export interface PacketFilterOptions {
  /**
   * Destinations that are this node: its own addresses (self Node.Addresses)
   * and any subnet routes it serves. Everything else is dropped ("not-local").
   */
  localNets: readonly (IpPrefix | string)[];
  /**
   * The table of flows this node opened. Pass the previous filter's `flows`
   * when rules change so replies in flight keep passing; default a new table
   * of 512 flows.
   */
  flows?: FlowTable;
}

/**
 * The inbound filter. Rules as in tailscaled (`wgengine/filter`):
 *
 * - unparseable packets, multicast and link-local destinations drop; later
 *   fragments pass (their first fragment was judged);
 * - the destination must be in `localNets`;
 * - ICMP: echo replies and errors pass; anything else passes if a rule
 *   matches source and destination address (protocol and ports ignored);
 * - TCP: every non-SYN segment passes (replies to our own connections and
 *   established ones); a SYN needs a rule with TCP and the port;
 * - UDP/SCTP: replies to flows this node opened ({@linkcode PacketFilter.noteOutbound})
 *   pass; otherwise a rule with the protocol and port;
 * - other protocols need a rule with the protocol and all ports 0-65535.
 *
 * `check` allocates nothing per packet.
 *
 * @example
 * ```ts
 * import { PacketFilter } from "./filter.ts";
 * import { parseIp } from "../net/ip.ts";
 * const f = new PacketFilter(
 *   [{ SrcIPs: ["100.64.0.0/10"], DstPorts: [{ IP: "*", Ports: { First: 22, Last: 22 } }] }],
 *   { localNets: ["100.64.0.1/32"] },
 * );
 * f.checkFlow(parseIp("100.64.0.2"), parseIp("100.64.0.1"), 6, 22); // "accept"
 * f.checkFlow(parseIp("100.64.0.2"), parseIp("100.64.0.1"), 6, 80); // "drop"
 * ```
 */
export class PacketFilter {
  /** Rule entries that were skipped while compiling. */
  readonly problems: readonly string[];
  /** The compiled rules. */
  readonly matches: readonly CompiledMatch[];
  /** The outbound flow table (share it with the next filter). */
  readonly flows: FlowTable;
  /** The reason for the last verdict of `check`/`checkParsed`. */
  lastReason: FilterReason = "malformed";
  #local: PrefixTrie<true>;
  #counts = new Float64Array(FILTER_REASONS.length);
  #parsed = new ParsedPacket();
  #dst = new Int32Array(4);

  /**
   * Compiles the rules once up front so the per-packet check does no parsing; rules it
   * cannot use are listed in `problems` rather than thrown.
   *
   * @param rules the effective FilterRule list (null or empty = deny all inbound)
   * @param opts this node's addresses and the flow table
   * @throws {SyntaxError} if a `localNets` entry is not a prefix
   */
  constructor(rules: readonly FilterRule[] | null | undefined, opts: PacketFilterOptions) {
    const c = compileFilterRules(rules);
    this.matches = c.matches;
    this.problems = c.problems;
    this.flows = opts.flows ?? new FlowTable();
    this.#local = new PrefixTrie<true>();
    for (const n of opts.localNets) {
      this.#local.insert(typeof n === "string" ? parsePrefix(n) : n, true);
    }
  }

  /** Judges one inbound IP packet and counts the verdict. */
  check(packet: Uint8Array): Verdict {
    return this.checkParsed(parsePacket(packet, this.#parsed));
  }

  /** Like {@linkcode PacketFilter.check} for a packet the caller already parsed. */
  checkParsed(p: ParsedPacket): Verdict {
    const r = this.#decide(p);
    this.#counts[r]++;
    this.lastReason = FILTER_REASONS[r];
    return r < FIRST_DROP ? "accept" : "drop";
  }

  /**
   * Records an outbound packet (from this node to a peer) so that UDP/SCTP
   * replies to it pass inbound. TCP needs no record: replies are non-SYN.
   */
  noteOutbound(packet: Uint8Array): void {
    this.noteOutboundParsed(parsePacket(packet, this.#parsed));
  }

  /** Like {@linkcode PacketFilter.noteOutbound} for a parsed packet. */
  noteOutboundParsed(p: ParsedPacket): void {
    if (p.problem !== null || p.laterFragment) return;
    if (p.proto !== IPPROTO_UDP && p.proto !== IPPROTO_SCTP) return;
    // Keyed as the reply will arrive: from their address and port to ours.
    this.flows.add(p.proto, p.buf, p.dstOff, p.srcOff, p.addrLen, p.dstPort, p.srcPort);
  }

  /**
   * Whether a new inbound flow would be let in by the rules: a TCP SYN, a
   * UDP datagram, an ICMP echo request or a bare packet of another
   * protocol from `src` to `dst` port `dstPort`. Not counted; ignores the
   * flow table.
   *
   * @throws {TypeError} if the addresses are of different families
   */
  checkFlow(src: Uint8Array, dst: Uint8Array, proto: number, dstPort = 0): Verdict {
    let b: Uint8Array;
    if (proto === IPPROTO_TCP) {
      b = buildTcpPacket({ src, dst, srcPort: 1, dstPort, flags: TCP_SYN });
    } else if (proto === IPPROTO_UDP) {
      b = buildUdpPacket({ src, dst, srcPort: 1, dstPort, payload: new Uint8Array(0) });
    } else if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
      b = buildIcmpPacket({ src, dst, type: src.length === 4 ? 8 : 128 });
    } else {
      // SCTP keeps its ports where UDP does; 4 more bytes make a whole SCTP common header.
      b = buildUdpPacket({ src, dst, srcPort: 1, dstPort, payload: new Uint8Array(4) });
      b[src.length === 4 ? 9 : 6] = proto;
    }
    return this.#decide(parsePacket(b), false) < FIRST_DROP ? "accept" : "drop";
  }

  /** Verdict counters so far. */
  stats(): FilterStats {
    const byReason: Partial<Record<FilterReason, number>> = {};
    let accepted = 0;
    let dropped = 0;
    for (let i = 0; i < FILTER_REASONS.length; i++) {
      const n = this.#counts[i];
      if (n === 0) continue;
      byReason[FILTER_REASONS[i]] = n;
      if (i < FIRST_DROP) accepted += n;
      else dropped += n;
    }
    return { accepted, dropped, byReason };
  }

  #decide(p: ParsedPacket, useFlows = true): number {
    if (p.problem !== null) return R_MALFORMED;
    const b = p.buf;
    const d = p.dstOff;
    if (p.version === 4) {
      if ((b[d] & 0xf0) === 0xe0) return R_MULTICAST;
      // 169.254.169.254 is the cloud metadata service, which tailscaled allows.
      if (b[d] === 169 && b[d + 1] === 254 && !(b[d + 2] === 169 && b[d + 3] === 254)) {
        return R_LINK_LOCAL;
      }
    } else {
      if (b[d] === 0xff) return R_MULTICAST;
      if (b[d] === 0xfe && (b[d + 1] & 0xc0) === 0x80) return R_LINK_LOCAL;
    }
    if (p.laterFragment) return R_FRAGMENT;
    if (this.#local.lookup(b, d, p.version as 4 | 6) === undefined) return R_NOT_LOCAL;
    const proto = p.proto;
    if (proto === IPPROTO_ICMP || proto === IPPROTO_ICMPV6) {
      if (isIcmpResponse(p)) return R_ICMP_RESP;
      return this.#rules(p, 1) ? R_RULE : R_NO_RULE;
    }
    if (proto === IPPROTO_TCP) {
      if ((p.tcpFlags & (TCP_SYN | TCP_ACK)) !== TCP_SYN) return R_TCP_NON_SYN;
      return this.#rules(p, 0) ? R_RULE : R_NO_RULE;
    }
    if (proto === IPPROTO_UDP || proto === IPPROTO_SCTP) {
      if (
        useFlows && this.flows.has(proto, b, p.srcOff, p.dstOff, p.addrLen, p.srcPort, p.dstPort)
      ) return R_FLOW;
      return this.#rules(p, 0) ? R_RULE : R_NO_RULE;
    }
    if (proto === IPPROTO_TSMP) return R_TSMP;
    return this.#rules(p, 2) ? R_RULE : R_UNKNOWN_PROTO;
  }

  /**
   * Whether any rule matches. mode 0: protocol, source, destination and
   * port; mode 1 (ICMP): source and destination only; mode 2 (port-less
   * protocols): protocol, source and a destination allowing all ports.
   */
  #rules(p: ParsedPacket, mode: 0 | 1 | 2): boolean {
    const b = p.buf;
    const fam = p.version as 4 | 6;
    const dw = this.#dst;
    const words = p.addrLen >> 2;
    for (let w = 0; w < words; w++) {
      const o = p.dstOff + w * 4;
      dw[w] = (b[o] << 24) | (b[o + 1] << 16) | (b[o + 2] << 8) | b[o + 3];
    }
    const port = p.dstPort;
    for (let i = 0; i < this.matches.length; i++) {
      const m = this.matches[i];
      if (mode !== 1 && m.protos[p.proto] !== 1) continue;
      const dsts = fam === 4 ? m.dsts4 : m.dsts6;
      if (dsts.length === 0) continue;
      if (m.srcs.lookup(b, p.srcOff, fam) === undefined) continue;
      for (let j = 0; j < dsts.length; j++) {
        const dst = dsts[j];
        if (!dstContains(dst, dw, words)) continue;
        if (mode === 1) return true;
        if (mode === 2 ? dst.allPorts : port >= dst.first && port <= dst.last) return true;
      }
    }
    return false;
  }
}

function dstContains(d: CompiledDst, w: Int32Array, words: number): boolean {
  for (let i = 0; i < words; i++) if ((w[i] & d.masks[i]) !== d.words[i]) return false;
  return true;
}

/** ICMP echo reply (code 0) or an error message, as tailscaled's IsEchoResponse/IsError. */
function isIcmpResponse(p: ParsedPacket): boolean {
  const t = p.icmpType;
  if (p.proto === IPPROTO_ICMP) {
    return (t === 0 && p.icmpCode === 0) || t === 3 || t === 11 || t === 12;
  }
  return (t === 129 && p.icmpCode === 0) || (t >= 1 && t <= 4);
}
