/**
 * Compiles the netmap's FilterRule list into matchers the packet filter can
 * run per packet without allocating.
 *
 * @module
 */

import { type IpPrefix } from "../net/ip.ts";
import type { FilterRule } from "../netmap/tailcfg.ts";
import { IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP } from "../net/packet.ts";
import { PrefixTrie } from "../net/prefix_trie.ts";
import { parseIpSetEntry } from "./ip_set.ts";

/** Protocols a rule with no IPProto allows: TCP, UDP, ICMPv4, ICMPv6. */
export const DEFAULT_PROTOS: readonly number[] = [
  IPPROTO_TCP,
  IPPROTO_UDP,
  IPPROTO_ICMP,
  IPPROTO_ICMPV6,
];

/** One destination of a compiled rule: a prefix as words and masks, and a port range. */
export interface CompiledDst {
  /** The prefix. */
  prefix: IpPrefix;
  /** Prefix as four big-endian int32 words (one used for IPv4), host bits zero. */
  words: Int32Array;
  /** Masks for `words`. */
  masks: Int32Array;
  /** First allowed port. */
  first: number;
  /** Last allowed port (inclusive). */
  last: number;
  /** Whether the range is 0-65535 (needed for port-less protocols). */
  allPorts: boolean;
}

/** One compiled FilterRule. */
export interface CompiledMatch {
  /** `protos[n] === 1` when IANA protocol n is allowed. */
  protos: Uint8Array;
  /** Source prefixes as a set (value is always true). */
  srcs: PrefixTrie<true>;
  /** The source prefixes (for status output). */
  srcPrefixes: IpPrefix[];
  /** `cap:` sources, kept for display: warren grants no packets by capability. */
  srcCaps: string[];
  /** IPv4 destinations. */
  dsts4: CompiledDst[];
  /** IPv6 destinations. */
  dsts6: CompiledDst[];
}

/** The result of {@linkcode compileFilterRules}. */
export interface CompiledRules {
  /** Matchers in rule order; rules that can match no packet are left out. */
  matches: CompiledMatch[];
  /** Entries that were skipped, one sentence each (the rest of the rule still applies, as in tailscaled). */
  problems: string[];
}

/**
 * Compiles rules: `*`, IP, CIDR and `a-b` sources and destinations,
 * inclusive port ranges, IPProto numbers 0-255 (empty = TCP, UDP, ICMPv4,
 * ICMPv6). `cap:` sources grant nothing here, and CapGrant rules (no
 * DstPorts) grant no packets. Unparseable entries are skipped and reported.
 *
 * @example
 * ```ts
 * import { compileFilterRules } from "./rules.ts";
 * const c = compileFilterRules([
 *   { SrcIPs: ["*"], DstPorts: [{ IP: "*", Ports: { First: 0, Last: 65535 } }] },
 * ]);
 * c.matches.length; // 1
 * ```
 */
export function compileFilterRules(rules: readonly FilterRule[] | null | undefined): CompiledRules {
  const matches: CompiledMatch[] = [];
  const problems: string[] = [];
  (rules ?? []).forEach((r, ri) => {
    const protos = new Uint8Array(256);
    const list = r.IPProto && r.IPProto.length > 0 ? r.IPProto : DEFAULT_PROTOS;
    for (const n of list) if (Number.isInteger(n) && n >= 0 && n <= 255) protos[n] = 1;
    const srcs = new PrefixTrie<true>();
    const srcPrefixes: IpPrefix[] = [];
    const srcCaps: string[] = [];
    for (const s of r.SrcIPs ?? []) {
      try {
        const e = parseIpSetEntry(s);
        if (e.cap !== null) srcCaps.push(e.cap);
        for (const p of e.prefixes) {
          srcs.insert(p, true);
          srcPrefixes.push(p);
        }
      } catch (err) {
        problems.push(`rule ${ri}: skipped source ${JSON.stringify(s)}: ${(err as Error).message}`);
      }
    }
    const dsts4: CompiledDst[] = [];
    const dsts6: CompiledDst[] = [];
    for (const d of r.DstPorts ?? []) {
      const first = d.Ports?.First ?? 0;
      const last = d.Ports?.Last ?? 0;
      if (!validPort(first) || !validPort(last)) {
        problems.push(
          `rule ${ri}: skipped destination ${
            JSON.stringify(d.IP)
          }: bad port range ${first}-${last}`,
        );
        continue;
      }
      try {
        const e = parseIpSetEntry(d.IP);
        if (e.cap !== null) throw new SyntaxError("a capability cannot be a destination");
        for (const p of e.prefixes) {
          (p.ip.length === 4 ? dsts4 : dsts6).push(compileDst(p, first, last));
        }
      } catch (err) {
        problems.push(
          `rule ${ri}: skipped destination ${JSON.stringify(d.IP)}: ${(err as Error).message}`,
        );
      }
    }
    if (srcs.size === 0 || dsts4.length + dsts6.length === 0) return;
    matches.push({ protos, srcs, srcPrefixes, srcCaps, dsts4, dsts6 });
  });
  return { matches, problems };
}

function validPort(p: number): boolean {
  return Number.isInteger(p) && p >= 0 && p <= 65535;
}

function compileDst(prefix: IpPrefix, first: number, last: number): CompiledDst {
  const words = new Int32Array(4);
  const masks = new Int32Array(4);
  const ip = prefix.ip;
  for (let w = 0; w * 4 < ip.length; w++) {
    const bits = Math.max(0, Math.min(32, prefix.bits - w * 32));
    masks[w] = bits === 0 ? 0 : bits === 32 ? -1 : (-1 << (32 - bits));
    const o = w * 4;
    words[w] = ((ip[o] << 24) | (ip[o + 1] << 16) | (ip[o + 2] << 8) | ip[o + 3]) & masks[w];
  }
  return { prefix, words, masks, first, last, allPorts: first === 0 && last === 65535 };
}
