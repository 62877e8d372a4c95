/**
 * Configuration of the test tailnet: names, DNS, DERP, policy and timings,
 * with the defaults Headscale uses where it has one.
 *
 * @module
 */

import {
  DEFAULT_BASE_DOMAIN,
  DEFAULT_REGION_CODE,
  DEFAULT_REGION_ID,
  EPHEMERAL_INACTIVITY_MS,
  KEEPALIVE_JITTER_MS,
  KEEPALIVE_MS,
  OFFLINE_GRACE_MS,
} from "./constants.ts";
import type { IpPrefixes } from "./ip_alloc.ts";
import type { Json } from "./types.ts";
import type { FilterRule } from "../../src/netmap/tailcfg.ts";

/** A MagicDNS extra record (`tailcfg.DNSRecord`). */
export interface DnsRecord {
  /** FQDN, e.g. `foo.example.`. */
  Name: string;
  /** "", "A" or "AAAA". */
  Type?: string;
  /** IP address text. */
  Value: string;
}

/** DNS settings (Headscale's `dns:` config block). */
export interface DnsOptions {
  /** MagicDNS on (default true). */
  magicDns?: boolean;
  /** Upstream resolvers (`nameservers.global`). */
  nameservers?: string[];
  /** Put nameservers in `Resolvers` (true) or `FallbackResolvers` (false, default). */
  overrideLocalDns?: boolean;
  /** Extra search domains after the base domain. */
  searchDomains?: string[];
  /** Split DNS: suffix → resolvers (empty = answer locally at quad-100). */
  routes?: Record<string, string[]>;
  /** Extra records served by quad-100. */
  extraRecords?: DnsRecord[];
}

/** The single DERP region of the test map. */
export interface DerpOptions {
  /** DERP server URLs, one DERPNode each, e.g. `http://127.0.0.1:3340`. */
  urls?: string[];
  /** Region ID (default 900). */
  regionId?: number;
  /** Region code (default "test"). */
  regionCode?: string;
  /** Region name (default "Test"). */
  regionName?: string;
  /** STUN port of every node (default 3478; -1 disables STUN). */
  stunPort?: number;
  /** DERPNode.CertName for every node: a name to verify, or a `sha256-raw:<hex>` pin. */
  certName?: string;
  /** Set `InsecureForTests` (default: true for `http://` URLs, false for `https://`). */
  insecureForTests?: boolean;
  /** Replace the generated map wholesale. */
  map?: Json;
}

/** Everything a {@link Tailnet} needs to know. */
export interface TailnetConfig {
  /** Public URL of the server: AuthURLs and `MapResponse.Domain` come from it. */
  serverUrl: string;
  /** MagicDNS base domain (default `tailnet.test`). */
  baseDomain: string;
  /** The tailnet's user name (default "test"). */
  userName: string;
  /** DNS settings. */
  dns: Required<DnsOptions>;
  /** DERP settings. */
  derp: DerpOptions;
  /** Filter rules; undefined = allow all. */
  filter?: FilterRule[];
  /** Keep-alive period of map streams. */
  keepAliveMs: number;
  /** Random extra keep-alive delay, up to this. */
  keepAliveJitterMs: number;
  /** Delay before a node without streams is reported offline. */
  offlineGraceMs: number;
  /** Delay before an offline ephemeral node is deleted. */
  ephemeralInactivityMs: number;
  /** Report online transitions as `OnlineChange` instead of Headscale's `PeersChangedPatch`. */
  useOnlineChange: boolean;
  /** Send a full map's `Peers` in random order (Headscale's order is not guaranteed). */
  shufflePeers: boolean;
  /** Hold every map stream's first (full) message back this long, as a slow server would. */
  firstMapDelayMs: number;
  /** The address ranges nodes get (Headscale's `prefixes`); default 100.64.0.0/10, fd7a:115c:a1e0::/48. */
  prefixes: IpPrefixes;
}

/** Partial configuration; see {@link TailnetConfig} for meanings. */
export type TailnetOptions = Partial<Omit<TailnetConfig, "dns">> & { dns?: DnsOptions };

/** Fills in defaults. */
export function resolveConfig(opts: TailnetOptions, serverUrl: string): TailnetConfig {
  return {
    serverUrl: opts.serverUrl ?? serverUrl,
    baseDomain: opts.baseDomain ?? DEFAULT_BASE_DOMAIN,
    userName: opts.userName ?? "test",
    dns: {
      magicDns: opts.dns?.magicDns ?? true,
      nameservers: opts.dns?.nameservers ?? [],
      overrideLocalDns: opts.dns?.overrideLocalDns ?? false,
      searchDomains: opts.dns?.searchDomains ?? [],
      routes: opts.dns?.routes ?? {},
      extraRecords: opts.dns?.extraRecords ?? [],
    },
    derp: {
      urls: opts.derp?.urls ?? [],
      regionId: opts.derp?.regionId ?? DEFAULT_REGION_ID,
      regionCode: opts.derp?.regionCode ?? DEFAULT_REGION_CODE,
      regionName: opts.derp?.regionName ?? "Test",
      stunPort: opts.derp?.stunPort ?? 3478,
      insecureForTests: opts.derp?.insecureForTests,
      certName: opts.derp?.certName,
      map: opts.derp?.map,
    },
    filter: opts.filter,
    keepAliveMs: opts.keepAliveMs ?? KEEPALIVE_MS,
    keepAliveJitterMs: opts.keepAliveJitterMs ?? KEEPALIVE_JITTER_MS,
    offlineGraceMs: opts.offlineGraceMs ?? OFFLINE_GRACE_MS,
    ephemeralInactivityMs: opts.ephemeralInactivityMs ?? EPHEMERAL_INACTIVITY_MS,
    useOnlineChange: opts.useOnlineChange ?? false,
    shufflePeers: opts.shufflePeers ?? false,
    firstMapDelayMs: opts.firstMapDelayMs ?? 0,
    prefixes: opts.prefixes ?? {},
  };
}
