/**
 * The userspace services' lines of `warren tun status`: warren's TCP on
 * the stack (its table and limits), each proxy and forward listener, and
 * the open flows.
 *
 * @module
 */
import type { NetstackStatus } from "../daemon/status.ts";
import { formatBytes } from "./format.ts";

/** The lines for `ns`'s services, indented as the rest of a node's block; none if none run. */
export function netstackServiceLines(ns: NetstackStatus): string[] {
  const lines: string[] = [];
  const t = ns.tcp;
  if (t) {
    lines.push(
      `  netstack tcp: ${t.connections} of ${t.maxConnections} connections, ` +
        `${formatBytes(t.bufferBytes)} buffers, ${t.refused} refused (table full), ` +
        `${t.resets} resets to closed ports` +
        (t.memoryLimit === undefined
          ? ""
          : `; buffers ${formatBytes(t.memoryBytes)} of ${formatBytes(t.memoryLimit)}`),
    );
  }
  for (const l of ns.listeners ?? []) {
    const where = l.target === undefined ? l.listen : `${l.listen} -> ${l.target}`;
    const more = l.opened === undefined ? "" : `, ${l.opened} opened, ${l.failed ?? 0} failed` +
      (l.kind === "udp-forward" ? `, ${l.refused ?? 0} refused` : "");
    lines.push(`  listener: ${l.kind} ${where} (${l.flows} open${more})`);
  }
  const r = ns.routed;
  if (r && r.opened + r.pings > 0) {
    lines.push(
      `  routed: ${r.tcp} tcp (${r.dialling} dialling), ${r.udp} udp, ${r.opened} opened, ` +
        `${r.failed} failed, ${r.refused} refused, ${r.pings} pings answered`,
    );
  }
  if (ns.flows) {
    lines.push(
      `  flows: ${ns.flows.proxy} proxy, ${ns.flows.forward} forward` +
        (ns.flows.routed !== undefined ? `, ${ns.flows.routed} routed` : ""),
    );
  }
  return lines;
}
