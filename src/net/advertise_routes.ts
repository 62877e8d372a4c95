/**
 * The prefixes a node offers to route (`--advertise-routes`, `--advertise-exit-node`), checked
 * and ordered as tailscale's CLI and tailscaled do, so control sees the same
 * `Hostinfo.RoutableIPs` from warren as from tailscaled.
 *
 * @module
 */
import { formatPrefix, type IpPrefix, parsePrefix } from "./ip.ts";

/** An `--advertise-routes` value tailscale would refuse; the message is tailscale's. */
export class AdvertiseRoutesError extends Error {
  /** The refusal, worded as `tailscale up` words it. */
  constructor(message: string) {
    super(message);
    this.name = "AdvertiseRoutesError";
  }
}

/** 0.0.0.0/0 and ::/0: what `--advertise-exit-node` adds. */
export const EXIT_ROUTES: readonly string[] = Object.freeze(["0.0.0.0/0", "::/0"]);

/**
 * Orders prefixes as Go's netipx.ComparePrefix (tailscaled's order for RoutableIPs, and
 * Headscale's for AllowedIPs): IPv4 before IPv6, then by address, then shorter first.
 *
 * @example
 * ```ts
 * import { parsePrefix } from "./ip.ts";
 * const [a, b] = [parsePrefix("10.0.0.0/24"), parsePrefix("::/0")];
 * comparePrefix(a, b) < 0; // true
 * ```
 */
export function comparePrefix(a: IpPrefix, b: IpPrefix): number {
  if (a.ip.length !== b.ip.length) return a.ip.length - b.ip.length;
  for (let i = 0; i < a.ip.length; i++) {
    if (a.ip[i] !== b.ip[i]) return a.ip[i] - b.ip[i];
  }
  return a.bits - b.bits;
}

/** Sorts prefix texts by {@link comparePrefix} and drops duplicates; unparsable ones are dropped. */
export function sortPrefixTexts(list: Iterable<string>): string[] {
  const byText = new Map<string, IpPrefix>();
  for (const s of list) {
    try {
      const p = parsePrefix(s);
      byText.set(formatPrefix(p), p);
    } catch {
      // not a prefix: nothing to route
    }
  }
  return [...byText.values()].sort(comparePrefix).map(formatPrefix);
}

/** Whether a prefix is an exit route (a /0). */
export function isExitRoute(p: IpPrefix | string): boolean {
  return (typeof p === "string" ? parsePrefix(p) : p).bits === 0;
}

/**
 * Parses `--advertise-routes` (comma-separated CIDR prefixes) and adds the exit routes when
 * `exitNode` is set, as tailscale's CalcAdvertiseRoutes: a prefix needs its "/", host bits
 * are refused (not masked), and 0.0.0.0/0 goes only with ::/0. Returns the prefixes sorted as
 * {@link comparePrefix}, without duplicates.
 *
 * @example
 * ```ts
 * parseAdvertiseRoutes("10.0.0.0/24", true).map(String).length; // 3
 * ```
 * @throws {AdvertiseRoutesError} with tailscale's message for a bad value
 */
export function parseAdvertiseRoutes(text: string, exitNode: boolean): IpPrefix[] {
  const byText = new Map<string, IpPrefix>();
  if (text !== "") {
    for (const s of text.split(",")) {
      let p: IpPrefix;
      try {
        if (!s.includes("/")) throw new SyntaxError("no prefix length");
        p = parsePrefix(s);
      } catch {
        throw new AdvertiseRoutesError(`"${s}" is not a valid IP address or CIDR prefix`);
      }
      const withHostBits = parsePrefix(s, { keepHostBits: true });
      if (!sameIp(withHostBits.ip, p.ip)) {
        throw new AdvertiseRoutesError(
          `${s} has non-address bits set; expected ${formatPrefix(p)}`,
        );
      }
      byText.set(formatPrefix(p), p);
    }
    const v4 = byText.has(EXIT_ROUTES[0]), v6 = byText.has(EXIT_ROUTES[1]);
    if (v4 && !v6) {
      throw new AdvertiseRoutesError(
        "0.0.0.0/0 advertised without its IPv6 counterpart, please also advertise ::/0",
      );
    }
    if (v6 && !v4) {
      throw new AdvertiseRoutesError(
        "::/0 advertised without its IPv4 counterpart, please also advertise 0.0.0.0/0",
      );
    }
  }
  if (exitNode) { for (const e of EXIT_ROUTES) byText.set(e, parsePrefix(e)); }
  return [...byText.values()].sort(comparePrefix);
}

function sameIp(a: Uint8Array, b: Uint8Array): boolean {
  return a.length === b.length && a.every((x, i) => x === b[i]);
}
