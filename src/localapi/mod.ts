/**
 * tailscaled's LocalAPI for a warren node: the `ipnstate.Status` builder, the
 * prefs and lookup rules, and the fetch handler to mount on the node's socket.
 *
 * Two status shapes exist side by side: `warren tun status --json` keeps
 * warren's own `NodeStatus` (src/daemon/status.ts: interface, routes, drops,
 * DERP links, filter counters), while `GET /localapi/v0/status` here answers
 * tailscaled's `ipnstate.Status` ({@link buildIpnStatus}), which is what
 * `tailscale status --json` and LocalAPI clients read.
 *
 * @module
 */
export * from "./handler.ts";
export * from "./ipnstate.ts";
export * from "./prefs.ts";
export * from "./lookup.ts";
export * from "./names.ts";
export * from "./node_status.ts";
