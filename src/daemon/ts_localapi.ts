/**
 * A tailnet node as tailscaled's LocalAPI sees it: the {@link LocalApiNode}
 * that `src/localapi/` serves (`tailscale status`, `whois`, `ping`, `prefs`),
 * built from what the node already knows — its netmap, its warren status and
 * magicsock's disco pings. Settings that would need a live change (exit node,
 * advertised routes) are refused until `tun set` exists.
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
  options: { controlUrl: string; acceptRoutes: boolean; acceptDns: boolean; hostname?: string };
  /** Stops the node (`WantRunning: false`, `tailscale down`). */
  stop(): void;
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
    return {
      ControlURL: src.options.controlUrl,
      RouteAll: src.options.acceptRoutes,
      ExitNodeID: src.exitNode?.().node?.stableId ?? "",
      ExitNodeIP: "",
      ExitNodeAllowLANAccess: src.exitNode?.().allowLanAccess ?? false,
      CorpDNS: src.options.acceptDns,
      WantRunning: true,
      LoggedOut: false,
      Hostname: src.options.hostname ?? "",
      AdvertiseRoutes: null,
      AdvertiseTags: null,
      UserProfile: profile,
      NodeID: self?.StableID ?? "",
    };
  };
  return {
    statusView() {
      const st = src.status();
      const nm = src.netmap();
      return {
        version: "warren",
        tun: src.tun,
        backendState: st.state as BackendState,
        haveNodeKey: true,
        authUrl: "",
        netmap: nm,
        selfEndpoints: src.endpoints(),
        homeDerp: st.tailnet?.homeDerp ?? 0,
        selfOnline: st.state === "Running",
        health: [],
        exitNodeId: src.exitNode?.().node?.stableId ?? "",
        routeAll: src.options.acceptRoutes,
        peers: peersFromNodeStatus(st, Date.now()),
        os: "linux",
        hostName: Deno.hostname(),
      };
    },
    prefs,
    editPrefs(edit) {
      if (edit.WantRunning === false) {
        src.stop();
        return Promise.resolve();
      }
      const now = prefs();
      for (const [k, v] of Object.entries(edit)) {
        if (JSON.stringify(now[k as keyof NodePrefs]) !== JSON.stringify(v)) {
          return Promise.reject(
            new Error(`warren cannot change ${k} while running yet; restart with the new flag`),
          );
        }
      }
      return Promise.resolve();
    },
    async discoPing(nodeKey: string): Promise<Pong | null> {
      return await src.ping(parseNodePublic(nodeKey));
    },
    logout() {
      return Promise.reject(new Error("warren does not log out over the LocalAPI yet"));
    },
    start() {
      return Promise.reject(new Error("warren starts with `warren tun up`, not over the LocalAPI"));
    },
  };
}
