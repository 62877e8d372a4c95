/**
 * Name resolution for warren itself (control URLs, DERP hosts, endpoints
 * given by name): IP literals as they are, tailnet names from MagicDNS,
 * then the system resolver.
 *
 * @module
 */

import { parseIp } from "../net/ip.ts";
import type { MagicDnsTable } from "./magicdns.ts";

/** Looks a name up in the system's DNS; returns address strings for one record type. */
export type SystemLookup = (name: string, type: "A" | "AAAA") => Promise<string[]>;

/** Options for {@linkcode HostResolver}. */
export interface HostResolverOptions {
  /** The current MagicDNS table, or null before the first netmap. */
  table?: MagicDnsTable | null;
  /** The system lookup; default `Deno.resolveDns` (needs --allow-net). */
  system?: SystemLookup;
}

const denoLookup: SystemLookup = (name, type) => Deno.resolveDns(name, type);

/**
 * Resolves host names for warren's own connections.
 *
 * @example
 * ```ts
 * import { HostResolver } from "./resolve.ts";
 * const r = new HostResolver({
 *   system: (_name, type) => Promise.resolve(type === "A" ? ["192.0.2.1"] : []),
 * });
 * (await r.resolve("example.com")).length; // 1
 * ```
 */
export class HostResolver {
  #table: MagicDnsTable | null;
  #system: SystemLookup;

  /**
   * Starts with no MagicDNS table unless one is given, and `Deno.resolveDns` as the system lookup.
   *
   * @param opts the table and the system lookup
   */
  constructor(opts: HostResolverOptions = {}) {
    this.#table = opts.table ?? null;
    this.#system = opts.system ?? denoLookup;
  }

  /** Swaps in a new MagicDNS table (after a netmap update). */
  setTable(table: MagicDnsTable | null): void {
    this.#table = table;
  }

  /**
   * Addresses for `name`: an IP literal (brackets allowed for IPv6) is
   * returned as is; a tailnet name (short or full) gives its tailnet
   * addresses; anything else goes to the system resolver, A and AAAA in
   * parallel, IPv4 first.
   *
   * @throws {Error} naming the host when no address is found
   */
  async resolve(name: string): Promise<Uint8Array[]> {
    const literal = name.startsWith("[") && name.endsWith("]") ? name.slice(1, -1) : name;
    if (/^[0-9.]+$/.test(literal) || literal.includes(":")) {
      try {
        return [parseIp(literal)];
      } catch (e) {
        throw new SyntaxError(`Cannot resolve ${JSON.stringify(name)}: ${(e as Error).message}`);
      }
    }
    const tailnet = this.#table?.resolveName(name);
    if (tailnet && tailnet.length > 0) return tailnet;
    const [v4, v6] = await Promise.allSettled([
      this.#system(name, "A"),
      this.#system(name, "AAAA"),
    ]);
    const out: Uint8Array[] = [];
    const reasons: string[] = [];
    for (const r of [v4, v6]) {
      if (r.status === "rejected") {
        reasons.push(String((r.reason as Error)?.message ?? r.reason));
        continue;
      }
      for (const s of r.value) {
        try {
          out.push(parseIp(s));
        } catch {
          // A resolver answering garbage for one record should not sink the others.
        }
      }
    }
    if (out.length === 0) {
      const why = reasons.length ? reasons.join("; ") : "no A or AAAA records";
      throw new Error(`Cannot resolve ${JSON.stringify(name)}: ${why}`);
    }
    return out;
  }
}
