/**
 * MagicDNS names: the DNS label Headscale derives from a node's reported
 * hostname ("given name"), made unique across the tailnet, and the FQDN
 * that goes into `Node.Name`.
 *
 * @module
 */

const MAX_LABEL = 63;

/** Label used when a hostname sanitizes to nothing (Headscale's fallback). */
export const FALLBACK_GIVEN_NAME = "node";

/**
 * Turns a reported hostname into a DNS label: lower case, `.local` suffixes
 * dropped, anything but `[a-z0-9-]` replaced by `-`, no leading or trailing
 * dash, at most 63 characters.
 *
 * @example
 * ```ts
 * console.assert(sanitizeHostname("My_Laptop.local") === "my-laptop");
 * ```
 */
export function sanitizeHostname(hostname: string): string {
  let h = hostname.trim().toLowerCase();
  for (const suffix of [".localdomain", ".local"]) {
    if (h.endsWith(suffix)) h = h.slice(0, -suffix.length);
  }
  let out = "";
  for (const c of h) {
    out += /[a-z0-9-]/.test(c) ? c : "-";
  }
  return out.replace(/^[^a-z0-9]+/, "").replace(/[^a-z0-9]+$/, "").slice(0, MAX_LABEL)
    .replace(/-+$/, "");
}

/**
 * Picks the first free label among `base`, `base-1`, `base-2`, … given the
 * labels other nodes already hold (Headscale's collision rule).
 *
 * @example
 * ```ts
 * console.assert(uniqueGivenName("laptop", new Set(["laptop"])) === "laptop-1");
 * ```
 */
export function uniqueGivenName(base: string, taken: ReadonlySet<string>): string {
  const b = base === "" ? FALLBACK_GIVEN_NAME : base;
  let candidate = b;
  for (let i = 1; taken.has(candidate); i++) candidate = `${b}-${i}`;
  return candidate;
}

/**
 * The MagicDNS FQDN of a node: `<given>.<base>.` (just `<given>` when there is no base domain).
 *
 * @example
 * ```ts
 * console.assert(nodeFqdn("node-a", "tslab.test") === "node-a.tslab.test.");
 * ```
 */
export function nodeFqdn(givenName: string, baseDomain: string): string {
  return baseDomain === "" ? givenName : `${givenName}.${baseDomain}.`;
}
