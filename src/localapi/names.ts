/**
 * Small facts tailscaled computes about addresses, names and times
 * (tsaddr, dnsname, netmap helpers, Go's JSON time form), shared by the
 * status builder, whois and ping.
 *
 * @module
 */
import type { Node, UserProfile } from "../netmap/tailcfg.ts";
import { ZERO_TIME } from "../netmap/tailcfg.ts";

/** An address without its prefix length when it is a single IP, else null. */
export function singleIp(prefix: string): string | null {
  const [ip, bits] = prefix.split("/");
  if (bits === undefined) return ip;
  return Number(bits) === (ip.includes(":") ? 128 : 32) ? ip : null;
}

/** A time as Go's encoding/json writes it; 0 is Go's zero time. */
export function goTime(ms: number): string {
  return ms > 0 ? new Date(ms).toISOString().replace(/\.?0+Z$/, "Z") : ZERO_TIME;
}

/** Go `dnsname.TrimSuffix`: the name without its trailing dot and `.suffix`. */
export function trimDnsSuffix(name: string, suffix: string): string {
  const n = name.replace(/\.$/, "");
  const s = suffix.replace(/^\.|\.$/g, "");
  return s && n.toLowerCase().endsWith("." + s.toLowerCase()) ? n.slice(0, -s.length - 1) : n;
}

/** Go `netmap.MagicDNSSuffixOfNodeName`. */
export function magicDnsSuffixOf(nodeName: string): string {
  const name = nodeName.replace(/^\.+|\.+$/g, "");
  const dot = name.indexOf(".");
  return dot >= 0 ? name.slice(dot + 1) : name;
}

/** Go `tsaddr.ContainsExitRoutes`: both 0.0.0.0/0 and ::/0. */
export function offersExit(allowed: readonly string[] | null | undefined): boolean {
  const a = allowed ?? [];
  return a.includes("0.0.0.0/0") && a.includes("::/0");
}

/** The node's single-IP addresses. */
export function tailscaleIps(node: Node): string[] {
  return (node.Addresses ?? []).map(singleIp).filter((x): x is string => x !== null);
}

/** Go `tsaddr.IsTailscaleIP`: 100.64.0.0/10 less ChromeOS's 100.115.92.0/23, or fd7a:115c:a1e0::/48. */
export function isTailscaleIp(ip: string): boolean {
  if (ip.includes(":")) return /^fd7a:115c:a1e0:/i.test(ip);
  const [a, b, c] = ip.split(".").map(Number);
  if (a !== 100 || b < 64 || b > 127) return false;
  return !(b === 115 && (c === 92 || c === 93));
}

/** A UserProfile as tailscaled copies it (no Groups). */
export function profile(up: UserProfile): UserProfile {
  const out: UserProfile = { ID: up.ID, LoginName: up.LoginName, DisplayName: up.DisplayName };
  if (up.ProfilePicURL) out.ProfilePicURL = up.ProfilePicURL;
  return out;
}
