/**
 * The MagicDNS table: tailnet names to addresses (and back) built from the
 * self node, the peers and the netmap's DNSConfig, plus the split-DNS
 * routing that decides which upstream resolvers get the names it does not
 * own. Pure: no sockets, no clock.
 *
 * @module
 */

import { bytesEqual } from "../bytes/equal.ts";
import { formatIp, parseIp, parsePrefix } from "../net/ip.ts";
import type { DNSConfig, DNSResolver, Node } from "../netmap/tailcfg.ts";
import {
  CLASS_IN,
  MAGICDNS_TTL,
  QUAD100_NAME,
  QUAD100_V4,
  QUAD100_V6,
  RCODE_NOERROR,
  RCODE_NOTIMP,
  REVERSE_ZONE_V6,
  REVERSE_ZONES_V4,
  TYPE_A,
  TYPE_AAAA,
  TYPE_ANY,
  TYPE_AXFR,
  TYPE_HINFO,
  TYPE_NS,
  TYPE_PTR,
  TYPE_SOA,
} from "./constants.ts";
import type { DnsRecord } from "./message.ts";
import { canonicalName } from "./name.ts";

/** The parts of a `tailcfg.Node` MagicDNS reads. */
export type MagicDnsNode = Pick<Node, "Name" | "Addresses">;

/** The answer of {@linkcode MagicDnsTable.lookup}. */
export type MagicDnsAnswer =
  | {
    /** The name is ours: answer with these records (none = NODATA) and this rcode. */
    kind: "records";
    /** RCODE_NOERROR, or RCODE_NOTIMP for NS/SOA/AXFR/HINFO on a tailnet name. */
    rcode: number;
    /** Answer records, owner name as queried. */
    records: DnsRecord[];
    /** The authoritative zone holding the name (for an SOA on NODATA), if any. */
    zone: string | null;
  }
  | {
    /** The name lies in a zone we answer for but does not exist. */
    kind: "nxdomain";
    /** That zone (for the SOA in the authority section), or null. */
    zone: string | null;
  }
  | {
    /** Not a tailnet name: forward it. */
    kind: "not-ours";
  };

const QUAD100_ADDRS = [parseIp(QUAD100_V4), parseIp(QUAD100_V6)];
const NOT_OURS: MagicDnsAnswer = { kind: "not-ours" };

/**
 * Names and addresses of the tailnet, as tailscaled's resolver sees them:
 * node FQDNs and ExtraRecords, reverse PTRs, authoritative zones (the
 * MagicDNS suffix and the CGNAT/ULA reverse zones when `Proxied`, `Routes`
 * with no resolvers, uncovered ExtraRecords names) and split-DNS routes.
 *
 * @example
 * ```ts
 * import { MagicDnsTable } from "./magicdns.ts";
 * import { formatIp } from "../net/ip.ts";
 * const t = MagicDnsTable.fromNetmap(
 *   { Name: "node-a.tslab.test.", Addresses: ["100.64.0.1/32", "fd7a:115c:a1e0::1/128"] },
 *   [{ Name: "node-b.tslab.test.", Addresses: ["100.64.0.2/32"] }],
 *   { Domains: ["tslab.test"], Proxied: true },
 * );
 * t.resolveName("node-b")!.map(formatIp); // ["100.64.0.2"]
 * ```
 */
export class MagicDnsTable {
  /** The MagicDNS suffix with a trailing dot (self name minus its first label), or null. */
  readonly suffix: string | null;
  /** Search domains for relative names, suffix first, as FQDNs. */
  readonly searchDomains: readonly string[];
  /** Zones answered here with NXDOMAIN for unknown names, as FQDNs. */
  readonly localZones: readonly string[];
  #hosts = new Map<string, Uint8Array[]>();
  #reverse = new Map<string, string>();
  #routes: { suffix: string; resolvers: DNSResolver[] }[] = [];
  #defaults: DNSResolver[];
  #fallbacks: DNSResolver[];

  private constructor(
    self: MagicDnsNode | null,
    peers: readonly MagicDnsNode[],
    dns: DNSConfig | null | undefined,
  ) {
    const selfName = self?.Name ? canonicalName(self.Name) : null;
    const dot = selfName?.indexOf(".") ?? -1;
    this.suffix = selfName && dot > 0 && dot < selfName.length - 1 ? selfName.slice(dot + 1) : null;
    for (const n of [...(self ? [self] : []), ...peers]) this.#addNode(n);

    const local = new Set<string>();
    if (dns?.Proxied && this.suffix !== null) {
      local.add(this.suffix);
      local.add(REVERSE_ZONE_V6);
      for (const z of REVERSE_ZONES_V4) local.add(z);
    }
    const routeSuffixes: string[] = [];
    for (const [suffix, list] of Object.entries(dns?.Routes ?? {})) {
      const s = canonicalName(suffix.replace(/^\./, ""));
      routeSuffixes.push(s);
      const resolvers = (list ?? []).filter((r): r is DNSResolver => !!r?.Addr);
      if (resolvers.length === 0) local.add(s);
      else this.#routes.push({ suffix: s, resolvers });
    }
    // Longest suffix first, so the first match wins.
    this.#routes.sort((a, b) => b.suffix.length - a.suffix.length);

    for (const rec of dns?.ExtraRecords ?? []) {
      const type = rec.Type ?? "";
      if (type !== "" && type !== "A" && type !== "AAAA") continue;
      let ip: Uint8Array;
      try {
        ip = parseIp(rec.Value);
      } catch {
        continue;
      }
      if ((type === "A" && ip.length !== 4) || (type === "AAAA" && ip.length !== 16)) continue;
      const name = canonicalName(rec.Name);
      this.#add(name, ip, false);
      // As tailscaled: an ExtraRecords name no route covers is answered here alone.
      if (!routeSuffixes.some((s) => inZone(name, s)) && ![...local].some((z) => inZone(name, z))) {
        local.add(name);
      }
    }
    this.localZones = [...local].sort((a, b) => b.length - a.length);

    const search: string[] = [];
    if (this.suffix) search.push(this.suffix);
    for (const d of dns?.Domains ?? []) {
      const s = canonicalName(d.replace(/^\./, ""));
      if (s !== "." && !search.includes(s)) search.push(s);
    }
    this.searchDomains = search;
    const clean = (l: (DNSResolver | null)[] | null | undefined) =>
      (l ?? []).filter((r): r is DNSResolver => !!r?.Addr);
    this.#defaults = clean(dns?.Resolvers);
    this.#fallbacks = clean(dns?.FallbackResolvers);
  }

  /**
   * Builds the table from the self node, the peers and the DNSConfig of the
   * current netmap (any of them may be missing).
   *
   * @example
   * ```ts
   * import { MagicDnsTable } from "./magicdns.ts";
   * MagicDnsTable.fromNetmap(null, [], null).size; // 0
   * ```
   */
  static fromNetmap(
    self: MagicDnsNode | null | undefined,
    peers: readonly MagicDnsNode[],
    dns: DNSConfig | null | undefined,
  ): MagicDnsTable {
    return new MagicDnsTable(self ?? null, peers, dns);
  }

  /** Number of distinct names with addresses. */
  get size(): number {
    return this.#hosts.size;
  }

  /** All names and their addresses (for status output and tests). */
  entries(): [string, Uint8Array[]][] {
    return [...this.#hosts].map(([k, v]) => [k, v.slice()]);
  }

  /**
   * Addresses for a name, for warren's own use. The name is tried as
   * written; one without a trailing dot is then tried under each search
   * domain, like a stub resolver with a search list.
   * Case-insensitive. Null when the tailnet does not know the name.
   *
   * @example
   * ```ts
   * import { MagicDnsTable } from "./magicdns.ts";
   * const t = MagicDnsTable.fromNetmap({ Name: "a.ts.test.", Addresses: ["100.64.0.1/32"] }, [], null);
   * t.resolveName("A")?.length; // 1
   * ```
   */
  resolveName(name: string): Uint8Array[] | null {
    const abs = canonicalName(name);
    const direct = this.#hosts.get(abs);
    if (direct) return direct.slice();
    if (name.endsWith(".")) return null;
    for (const d of this.searchDomains) {
      const hit = this.#hosts.get(abs + d);
      if (hit) return hit.slice();
    }
    return null;
  }

  /** The FQDN for a tailnet address, or null. */
  nameForIp(ip: Uint8Array): string | null {
    if (QUAD100_ADDRS.some((q) => bytesEqual(q, ip))) return QUAD100_NAME;
    return this.#reverse.get(formatIp(ip)) ?? null;
  }

  /** The longest authoritative zone containing `name`, or null. */
  zoneFor(name: string): string | null {
    const n = canonicalName(name);
    return this.localZones.find((z) => inZone(n, z)) ?? null;
  }

  /**
   * Answers one question the way quad-100 does: tailnet names and
   * ExtraRecords (A, AAAA, ANY), PTR for their addresses, NXDOMAIN for
   * unknown names in authoritative zones, NOTIMP for NS/SOA/AXFR/HINFO on a
   * tailnet name, NODATA for other types, and "not-ours" for everything to
   * forward. `name` is an absolute name as in a DNS question.
   *
   * @example
   * ```ts
   * import { MagicDnsTable } from "./magicdns.ts";
   * const t = MagicDnsTable.fromNetmap(
   *   { Name: "a.ts.test.", Addresses: ["100.64.0.1/32"] }, [], { Proxied: true },
   * );
   * t.lookup("nope.ts.test.", 1).kind; // "nxdomain"
   * t.lookup("example.com.", 1).kind; // "not-ours"
   * ```
   */
  lookup(name: string, type: number): MagicDnsAnswer {
    const n = canonicalName(name);
    if (type === TYPE_PTR) {
      const ip = ipFromReverseName(n);
      if (ip !== null) {
        const target = this.nameForIp(ip);
        if (target !== null) {
          return {
            kind: "records",
            rcode: RCODE_NOERROR,
            records: [record(name, TYPE_PTR, target)],
            zone: null,
          };
        }
        const zone = this.zoneFor(n);
        return zone !== null ? { kind: "nxdomain", zone } : NOT_OURS;
      }
    }
    if (n.endsWith(".onion.") || n === "onion.") return { kind: "nxdomain", zone: null }; // RFC 7686
    const addrs = n === QUAD100_NAME ? QUAD100_ADDRS : this.#hosts.get(n);
    if (addrs === undefined) {
      const zone = this.zoneFor(n);
      return zone !== null ? { kind: "nxdomain", zone } : NOT_OURS;
    }
    const zone = this.zoneFor(n);
    if (type === TYPE_NS || type === TYPE_SOA || type === TYPE_AXFR || type === TYPE_HINFO) {
      return { kind: "records", rcode: RCODE_NOTIMP, records: [], zone };
    }
    const records: DnsRecord[] = [];
    for (const ip of addrs) {
      if (ip.length === 4 && (type === TYPE_A || type === TYPE_ANY)) {
        records.push(record(name, TYPE_A, ip));
      }
      if (ip.length === 16 && (type === TYPE_AAAA || type === TYPE_ANY)) {
        records.push(record(name, TYPE_AAAA, ip));
      }
    }
    return { kind: "records", rcode: RCODE_NOERROR, records, zone };
  }

  /**
   * The upstream resolvers for a name that is not ours: the longest
   * matching split-DNS route, else `Resolvers`, else `FallbackResolvers`,
   * else `extra` (e.g. the OS's resolvers). Empty means nobody: SERVFAIL.
   *
   * @example
   * ```ts
   * import { MagicDnsTable } from "./magicdns.ts";
   * const t = MagicDnsTable.fromNetmap(null, [], {
   *   Resolvers: [{ Addr: "1.1.1.1" }], Routes: { "corp.example": [{ Addr: "10.0.0.53" }] },
   * });
   * t.upstreamsFor("git.corp.example.")[0].Addr; // "10.0.0.53"
   * ```
   */
  upstreamsFor(name: string, extra: readonly DNSResolver[] = []): DNSResolver[] {
    const n = canonicalName(name);
    for (const r of this.#routes) if (inZone(n, r.suffix)) return r.resolvers.slice();
    if (this.#defaults.length) return this.#defaults.slice();
    if (this.#fallbacks.length) return this.#fallbacks.slice();
    return extra.slice();
  }

  #addNode(n: MagicDnsNode): void {
    if (!n.Name) return;
    const name = canonicalName(n.Name);
    for (const a of n.Addresses ?? []) {
      let ip: Uint8Array;
      try {
        ip = parsePrefix(a, { keepHostBits: true }).ip;
      } catch {
        continue;
      }
      this.#add(name, ip, true);
    }
  }

  #add(name: string, ip: Uint8Array, ptr: boolean): void {
    const list = this.#hosts.get(name) ?? [];
    if (!list.some((x) => bytesEqual(x, ip))) list.push(ip);
    this.#hosts.set(name, list);
    const key = formatIp(ip);
    // The first node to claim an address keeps its PTR; ExtraRecords do not get PTRs.
    if (ptr && !this.#reverse.has(key)) this.#reverse.set(key, name);
  }
}

/** Whether canonical `name` equals canonical `zone` or lies under it. */
function inZone(name: string, zone: string): boolean {
  if (zone === ".") return true;
  return name === zone || (name.endsWith(zone) && name[name.length - zone.length - 1] === ".");
}

function record(name: string, type: number, data: Uint8Array | string): DnsRecord {
  return { name, type, class: CLASS_IN, ttl: MAGICDNS_TTL, data };
}

/**
 * The address a reverse name stands for: `d.c.b.a.in-addr.arpa.` or 32
 * nibbles under `ip6.arpa.`. Null for anything else (including partial
 * names such as `64.100.in-addr.arpa.`).
 *
 * @example
 * ```ts
 * import { ipFromReverseName } from "./magicdns.ts";
 * ipFromReverseName("1.0.64.100.in-addr.arpa."); // Uint8Array [100, 64, 0, 1]
 * ```
 */
export function ipFromReverseName(name: string): Uint8Array | null {
  const n = canonicalName(name);
  if (n.endsWith(".in-addr.arpa.")) {
    const parts = n.slice(0, -".in-addr.arpa.".length).split(".");
    if (
      parts.length !== 4 || !parts.every((p) => /^(0|[1-9][0-9]{0,2})$/.test(p) && Number(p) < 256)
    ) {
      return null;
    }
    return Uint8Array.from(parts.reverse().map(Number));
  }
  if (n.endsWith(".ip6.arpa.")) {
    const parts = n.slice(0, -".ip6.arpa.".length).split(".");
    if (parts.length !== 32 || !parts.every((p) => /^[0-9a-f]$/.test(p))) return null;
    const out = new Uint8Array(16);
    for (let i = 0; i < 32; i++) {
      const nib = parseInt(parts[31 - i], 16);
      out[i >> 1] |= i & 1 ? nib : nib << 4;
    }
    return out;
  }
  return null;
}

/**
 * The reverse name of an address (`in-addr.arpa.` or `ip6.arpa.`).
 *
 * @example
 * ```ts
 * import { reverseName } from "./magicdns.ts";
 * reverseName(new Uint8Array([100, 64, 0, 1])); // "1.0.64.100.in-addr.arpa."
 * ```
 */
export function reverseName(ip: Uint8Array): string {
  if (ip.length === 4) return `${ip[3]}.${ip[2]}.${ip[1]}.${ip[0]}.in-addr.arpa.`;
  let s = "";
  for (let i = 15; i >= 0; i--) s += `${(ip[i] & 0xf).toString(16)}.${(ip[i] >> 4).toString(16)}.`;
  return s + "ip6.arpa.";
}
