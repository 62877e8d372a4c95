/**
 * The options of a tailnet node (`TsNode.start`), apart from
 * the node so that file keeps to its job.
 *
 * @module
 */
import type { DiscoTunables } from "../disco/tunables.ts";
import type { IpPrefix } from "../net/ip.ts";
import type { Timings } from "../wireguard/timings.ts";
import type { PlaneRest } from "./ts_plane_messages.ts";
import type { PrefsEdit } from "../localapi/prefs.ts";

/** How to run a tailnet node. */
export interface TsNodeOptions {
  /** TUN interface name (unused in userspace mode). */
  tun: string;
  /** The network's name in a `tun up --config` file (shown in status). */
  network?: string;
  /** Also serve the LocalAPI at this path (tailscaled's `--socket`). */
  socket?: string;
  /**
   * Serve the LocalAPI in the runtime directory, where `warren tun status` finds it
   * (default true; an in-process library node says false so it never takes a daemon's socket).
   */
  localApi?: boolean;
  /** No TUN: warren's own IP stack holds the node's addresses (`--tun userspace-networking`). */
  userspace?: boolean;
  /** Coordination server URL. */
  controlUrl: string;
  /** Pre-auth key; without one, login is interactive. */
  authKey?: string;
  /** State directory or "mem:". */
  stateDir: string;
  /** Register a fresh node key. */
  forceReauth: boolean;
  /** Route peers' advertised subnets. */
  acceptRoutes: boolean;
  /**
   * Routes to offer (`--advertise-routes`, plus 0.0.0.0/0 and ::/0 for
   * `--advertise-exit-node`), sorted as parseAdvertiseRoutes returns them; none by default.
   */
  advertiseRoutes?: readonly IpPrefix[];
  /** Masquerade traffic forwarded to advertised routes (`--snat-subnet-routes`, default true). */
  snatSubnetRoutes?: boolean;
  /** The exit node to use (`--exit-node`: Tailscale IP or name); none by default. */
  exitNode?: string;
  /** Keep the host's own networks direct while using an exit node (`--exit-node-allow-lan-access`). */
  exitNodeAllowLanAccess?: boolean;
  /** Point /etc/resolv.conf at quad-100 while up (restored on stop); not in userspace mode. */
  acceptDns: boolean;
  /**
   * The prefs settings `tun up` was given (they replace the stored ones, the rest come from
   * the state directory); absent: every setting above is as given (a config-file network).
   */
  givenPrefs?: PrefsEdit;
  /** Host name to register (default: the system's). */
  hostname?: string;
  /** Ask to be an ephemeral node. */
  ephemeral: boolean;
  /** Dial DERP over plain HTTP. */
  plainDerp: boolean;
  /** How long an unreachable or failing server may delay the first login (default 30 s). */
  loginTimeoutMs?: number;
  /** UDP port for WireGuard and disco (41641 as tailscaled; 0 = any). */
  port: number;
  /** Disco path-state tunables. */
  tunables?: Partial<DiscoTunables>;
  /** Shortened WireGuard timers, for tests. */
  timings?: Partial<Timings>;
  /**
   * When the Worker data plane sleeps: absent, at rest for 30 s (`REST_DEFAULT`, unless
   * `WARREN_PLANE_SLEEP=0`); null, never. For tests.
   */
  planeRest?: PlaneRest | null;
  /** Called each time the Worker data plane has fallen asleep (the CLI gives memory back). */
  afterPlaneSleep?: () => void;
  /** One line per notable event. */
  log: (line: string) => void;
  /** Shown when interactive login needs the user. */
  onAuthUrl: (url: string) => void;
}
