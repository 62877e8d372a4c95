/**
 * Host name to addresses, remembered for a short while: STUN and DERP probes run every
 * 20–26 s and must not wait on DNS each time, nor keep using an address for long after
 * the name moved.
 *
 * @module
 */
import { parseIp } from "./ip.ts";

/** How long a lookup's answer (or its failure) is reused. */
export const HOST_CACHE_TTL_MS = 60_000;

/** A name's addresses, IPv4 and IPv6 apart, each textual. */
export interface HostAddrs {
  /** IPv4 addresses. */
  v4: string[];
  /** IPv6 addresses. */
  v6: string[];
}

/** Options for {@link HostCache}. */
export interface HostCacheOptions {
  /**
   * Resolves a name to one address (warren's own resolver: tailnet names first, then
   * the system's); null or a failure falls back to DNS A/AAAA queries.
   */
  resolve?: (host: string) => Promise<string | null>;
  /** DNS A/AAAA lookups (default Deno.resolveDns). */
  resolveDns?: (host: string, type: "A" | "AAAA") => Promise<string[]>;
  /** Reuse answers this long (default {@link HOST_CACHE_TTL_MS}). */
  ttlMs?: number;
  /** Monotonic clock in ms. */
  now?: () => number;
}

/** Looks names up, sharing lookups in flight and reusing answers within the TTL. */
export class HostCache {
  readonly #o: HostCacheOptions;
  readonly #entries = new Map<string, { at: number; addrs: Promise<HostAddrs> }>();

  /** A cache with nothing in it yet. */
  constructor(opts: HostCacheOptions = {}) {
    this.#o = opts;
  }

  /**
   * The addresses of `host` (an IP literal is its own answer); empty lists if the name
   * does not resolve. Never rejects.
   *
   * @example
   * ```ts ignore
   * const { v4, v6 } = await new HostCache().lookup("derp1.tailscale.com");
   * ```
   */
  lookup(host: string): Promise<HostAddrs> {
    const literal = classify(host);
    if (literal) return Promise.resolve(literal);
    const now = (this.#o.now ?? (() => performance.now()))();
    const ttl = this.#o.ttlMs ?? HOST_CACHE_TTL_MS;
    const hit = this.#entries.get(host);
    if (hit && now - hit.at < ttl) return hit.addrs;
    const addrs = this.#resolve(host);
    this.#entries.set(host, { at: now, addrs });
    if (this.#entries.size > 1024) this.#entries.delete(this.#entries.keys().next().value!);
    return addrs;
  }

  async #resolve(host: string): Promise<HostAddrs> {
    const own = await this.#o.resolve?.(host).catch(() => null) ?? null;
    const mine = own ? classify(own) : null;
    if (mine) return mine;
    const dns = this.#o.resolveDns ??
      ((h: string, t: "A" | "AAAA") => Deno.resolveDns(h, t) as Promise<string[]>);
    const [v4, v6] = await Promise.all([
      dns(host, "A").catch(() => [] as string[]),
      dns(host, "AAAA").catch(() => [] as string[]),
    ]);
    return { v4, v6 };
  }
}

/** An IP literal as a one-address answer; null for a name. */
function classify(s: string): HostAddrs | null {
  let ip: Uint8Array;
  try {
    ip = parseIp(s.replace(/^\[|\]$/g, ""));
  } catch {
    return null;
  }
  const text = s.replace(/^\[|\]$/g, "");
  return ip.length === 4 ? { v4: [text], v6: [] } : { v4: [], v6: [text] };
}

/** A shared cache over the system resolver, for callers that bring none. */
export const defaultHostCache: HostCache = new HostCache();
