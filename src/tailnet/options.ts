/**
 * What `Tailnet.up` takes, its defaults, and the node status it reports —
 * kept apart from the node so both are pure and testable.
 *
 * @module
 */

import type { NodeStatus } from "../daemon/status.ts";
import type { TsNodeOptions } from "../daemon/ts_node_options.ts";
import { USERSPACE_NETWORKING } from "../daemon/node_link.ts";

/** Tailscale's coordination server, the default `controlUrl` (as tsnet's). */
export const DEFAULT_CONTROL_URL = "https://controlplane.tailscale.com";

/** How to join a tailnet. Everything has a default; most programs pass `authKey` and `hostname`. */
export interface TailnetUpOptions {
  /**
   * A pre-auth key. Default: the `TS_AUTHKEY` environment variable (as
   * tsnet), else interactive login through {@linkcode onAuthUrl}.
   */
  authKey?: string;
  /** The coordination server; default {@linkcode DEFAULT_CONTROL_URL}. */
  controlUrl?: string;
  /**
   * Where the node keeps its keys, so it is the same node next run; `"mem:"`
   * (the default) keeps them in memory, a new node every run — pair it with `ephemeral`.
   */
  stateDir?: string;
  /** The name to register (the MagicDNS short name); default the system's host name. */
  hostname?: string;
  /** Ask control to remove the node soon after it goes offline; default false. */
  ephemeral?: boolean;
  /** Register a fresh node key even when `stateDir` has one; default false. */
  forceReauth?: boolean;
  /** Route to subnets peers advertise (`--accept-routes`); default false. */
  acceptRoutes?: boolean;
  /** UDP port for WireGuard and disco; default 0, any free port (so several nodes can coexist). */
  port?: number;
  /** How long an unreachable or failing control server may delay `up` (default 30 s). */
  loginTimeoutMs?: number;
  /** Dial DERP relays over plain HTTP (test setups only); default false. */
  derpHttp?: boolean;
  /** Also serve the LocalAPI on this unix socket (so the `tailscale` CLI can ask this node). */
  localApiSocket?: string;
  /** One line per notable event; default: nothing is logged. */
  log?: (line: string) => void;
  /** Where interactive login sends the user; default: printed to stderr. */
  onAuthUrl?: (url: string) => void;
}

function envAuthKey(): string | undefined {
  try {
    return Deno.env.get("TS_AUTHKEY") || undefined;
  } catch {
    return undefined; // no --allow-env: no default key
  }
}

/**
 * The node options for `opts`: userspace networking, no DNS or LocalAPI
 * changes on the host, and the defaults above.
 *
 * @example
 * ```ts
 * import { nodeOptions } from "./options.ts";
 * nodeOptions({ hostname: "app" }).userspace; // true
 * ```
 */
export function nodeOptions(opts: TailnetUpOptions): TsNodeOptions {
  const log = opts.log ?? (() => {});
  return {
    tun: USERSPACE_NETWORKING,
    userspace: true,
    localApi: false,
    socket: opts.localApiSocket,
    controlUrl: opts.controlUrl ?? DEFAULT_CONTROL_URL,
    authKey: opts.authKey ?? envAuthKey(),
    stateDir: opts.stateDir ?? "mem:",
    hostname: opts.hostname,
    ephemeral: opts.ephemeral ?? false,
    forceReauth: opts.forceReauth ?? false,
    acceptRoutes: opts.acceptRoutes ?? false,
    acceptDns: false,
    plainDerp: opts.derpHttp ?? false,
    port: opts.port ?? 0,
    loginTimeoutMs: opts.loginTimeoutMs,
    log,
    onAuthUrl: opts.onAuthUrl ??
      ((url) => console.error(`To join the tailnet, log in at: ${url}`)),
  };
}

/** A peer as {@linkcode TailnetNodeStatus} lists it. */
export interface TailnetPeerStatus {
  /** Its MagicDNS name (FQDN, no trailing dot). */
  name: string;
  /** Its tailnet addresses, without prefix lengths. */
  addresses: string[];
  /** Whether control reports it online; null if unknown. */
  online: boolean | null;
  /** How packets travel: "derp-<region>", "ip:port" (direct), or "none". */
  path: string;
}

/** A snapshot of the node: who it is on the tailnet and whom it sees. */
export interface TailnetNodeStatus {
  /** The backend state, as tailscaled names it ("Running" once up). */
  state: "NoState" | "NeedsLogin" | "NeedsMachineAuth" | "Starting" | "Running" | "Stopped";
  /** Its own MagicDNS name (FQDN), or null before the first netmap. */
  name: string | null;
  /** Its own tailnet addresses, without prefix lengths. */
  addresses: string[];
  /** The tailnet's MagicDNS suffix. */
  magicDnsSuffix: string;
  /** The peers in the netmap. */
  peers: TailnetPeerStatus[];
}

const bare = (a: string) => a.split("/")[0];

/**
 * The library's status from the node's full one.
 *
 * @example
 * ```ts ignore
 * summarizeStatus(tsNode.status()).addresses; // ["100.64.0.3", "fd7a:115c:a1e0::3"]
 * ```
 */
export function summarizeStatus(s: NodeStatus): TailnetNodeStatus {
  return {
    state: s.state,
    name: s.tailnet?.self?.name ?? null,
    addresses: (s.tailnet?.self?.addresses ?? s.addresses).map(bare),
    magicDnsSuffix: s.tailnet?.magicDnsSuffix ?? "",
    peers: s.peers.map((p) => ({
      name: p.name ?? "",
      addresses: (p.addresses ?? []).map(bare),
      online: p.online ?? null,
      path: p.path ?? "none",
    })),
  };
}
