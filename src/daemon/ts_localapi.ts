/**
 * A tailnet node as tailscaled's LocalAPI sees it: the {@link LocalApiNode}
 * that `src/localapi/` serves (`tailscale status`, `whois`, `ping`, `prefs`),
 * built from what the node already knows — its netmap, its warren status and
 * magicsock's disco pings — and its prefs, which `PATCH prefs`, `start` and
 * `logout` change live (`live_prefs.ts`).
 *
 * @module
 */
import { parseNodePublic } from "../key/node_key.ts";
import {
  type BackendState,
  type LocalApiNode,
  type NodePrefs,
  peersFromNodeStatus,
  type Pong,
} from "../localapi/mod.ts";
import type { NetworkMap } from "../netmap/network_map.ts";
import type { NodeStatus } from "./status.ts";
import type { ExitNodeStatus } from "./exit_node.ts";
import type { LivePrefs } from "./live_prefs.ts";

/** How often `watch-ipn-bus` looks at the node's state. */
const WATCH_POLL_MS = 250;

/** What the adapter reads from the running node. */
export interface TsLocalApiSource {
  /** The latest netmap. */
  netmap(): NetworkMap | null;
  /** The node's status in warren's shape. */
  status(): NodeStatus;
  /** The node's UDP endpoints as reported to control. */
  endpoints(): string[];
  /** A disco ping to the peer with this node key; null when nothing answered. */
  ping(nodeKey: Uint8Array): Promise<{ via: string; latencyMs: number } | null>;
  /** Options the node was started with. */
  options: { controlUrl: string };
  /** The node's prefs, changed live (`PATCH prefs`, `start`, `logout`). */
  live: LivePrefs;
  /** Whether the kernel TUN carries the data (false: userspace networking). */
  tun: boolean;
  /** The exit node choice and the peer in use. */
  exitNode?: () => ExitNodeStatus;
}

/** The LocalApiNode of a running tailnet node. */
export function tsLocalApiNode(src: TsLocalApiSource): LocalApiNode {
  const prefs = (): NodePrefs => {
    const self = src.netmap()?.self;
    const profile = self ? src.netmap()?.userProfiles.get(self.User) ?? null : null;
    const exit = src.exitNode?.();
    return {
      ...src.live.prefs,
      // `tun up --exit-node NAME` is resolved by the node: the peer in use is the answer.
      ExitNodeID: exit?.node?.stableId ?? src.live.prefs.ExitNodeID,
      ExitNodeAllowLANAccess: exit?.allowLanAccess ?? src.live.prefs.ExitNodeAllowLANAccess,
      ControlURL: src.options.controlUrl,
      AdvertiseTags: null,
      UserProfile: profile,
      NodeID: self?.StableID ?? "",
    };
  };
  return {
    statusView() {
      const st = src.status();
      const nm = src.netmap();
      const p = src.live.prefs;
      return {
        version: "warren",
        tun: src.tun,
        backendState: st.state as BackendState,
        haveNodeKey: !p.LoggedOut,
        authUrl: "",
        netmap: nm,
        selfEndpoints: src.endpoints(),
        homeDerp: st.tailnet?.homeDerp ?? 0,
        selfOnline: st.state === "Running",
        health: [],
        exitNodeId: src.exitNode?.().node?.stableId ?? p.ExitNodeID,
        routeAll: p.RouteAll,
        peers: peersFromNodeStatus(st, Date.now()),
        os: "linux",
        hostName: p.Hostname || Deno.hostname(),
      };
    },
    prefs,
    editPrefs: (edit) => src.live.edit(edit),
    async discoPing(nodeKey: string): Promise<Pong | null> {
      return await src.ping(parseNodePublic(nodeKey));
    },
    logout: () => src.live.logout(),
    start: (req) => src.live.start(req),
    // The node has no state events; a state read four times a second is what the IPN bus
    // needs (`tailscale up` waits there for Running after start).
    watchState(cb) {
      let last = src.status().state;
      const timer = setInterval(() => {
        const now = src.status().state;
        if (now !== last) cb((last = now) as BackendState);
      }, WATCH_POLL_MS);
      return () => clearInterval(timer);
    },
  };
}
