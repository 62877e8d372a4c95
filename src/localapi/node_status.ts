/**
 * From warren's own status (`NodeStatus`, what `warren tun status --json`
 * prints) to the per-peer facts tailscaled's status shows, so a node can
 * build its {@link IpnStatusView} from what it already reports.
 *
 * @module
 */
import type { NodeStatus } from "../daemon/status.ts";
import type { PeerLive } from "./ipnstate.ts";

/**
 * How recently a handshake must have happened for a peer to count as active.
 * tailscaled's test is "sent to in the last 45 s"; warren does not record send
 * times, and WireGuard re-handshakes every 2 minutes while traffic flows.
 */
export const ACTIVE_HANDSHAKE_MS = 180_000;

/**
 * The {@link PeerLive} of every tailnet peer in `ns`, keyed by `nodekey:…`.
 *
 * @example
 * ```ts ignore
 * const peers = peersFromNodeStatus(buildTailnetStatus(parts), Date.now());
 * ```
 */
export function peersFromNodeStatus(ns: NodeStatus, nowMs: number): Map<string, PeerLive> {
  const out = new Map<string, PeerLive>();
  for (const p of ns.peers) {
    if (!p.publicKey.startsWith("nodekey:")) continue;
    const hs = p.latestHandshake * 1000;
    const path = p.path ?? "none";
    out.set(p.publicKey, {
      rxBytes: p.rxBytes,
      txBytes: p.txBytes,
      lastHandshakeMs: hs,
      lastWriteMs: 0,
      curAddr: path === "none" || path.startsWith("derp-") ? "" : path,
      active: path !== "none" && hs > 0 && nowMs - hs < ACTIVE_HANDSHAKE_MS,
      inMagicSock: p.path !== undefined,
      inEngine: p.allowedIps.length > 0,
    });
  }
  return out;
}
