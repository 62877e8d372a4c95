/**
 * tailscaled's LocalAPI for a warren node: the `ipnstate.Status` builder, the
 * prefs and lookup rules, and the fetch handler to mount on the node's socket.
 *
 * @module
 */
export * from "./handler.ts";
export * from "./ipnstate.ts";
export * from "./prefs.ts";
export * from "./lookup.ts";
export * from "./node_status.ts";
