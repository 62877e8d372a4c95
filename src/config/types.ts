/**
 * The resolved form of a `warren tun up --config` file: one plain object per network with
 * every default filled in, named as the options of the nodes they start (`TsNodeOptions`,
 * `WgNodeOptions`), so the CLI maps them without looking at the file again.
 *
 * @module
 */
import type { DiscoTunables } from "../disco/tunables.ts";
import type { IpPrefix } from "../net/ip.ts";
import type { WgConfig } from "../wireguard/wg_quick.ts";
import type { NetworksConfigProblem } from "./problems.ts";
import type { ForwardSpec, NetstackLimits } from "./userspace.ts";

/** The `tun` value for a network with no TUN device: a userspace netstack instead. */
export const USERSPACE_NETWORKING = "userspace-networking";

/** The interface name a network gets when its `tun` is not set (as `tun up` without `--tun`). */
export const DEFAULT_TUN = "warren0";

/** The UDP port of a tailnet without `port` (tailscaled's 41641). */
export const DEFAULT_TAILNET_PORT = 41641;

/** The five direct-path tunables a config can set (milliseconds, or a count). */
export type ConfigTunables = Partial<
  Pick<
    DiscoTunables,
    | "heartbeatInterval"
    | "reprobeInterval"
    | "probeTimeout"
    | "degradedAfterFailures"
    | "degradedTimeout"
  >
>;

/** One tailnet, as `tun up` with flags would start it. */
export interface TailnetNetwork {
  /** Discriminant. */
  kind: "tailnet";
  /** The network's name (the key under `networks`). */
  name: string;
  /** Interface name, or {@link USERSPACE_NETWORKING}. */
  tun: string;
  /** Coordination server URL, trailing slashes removed. */
  controlUrl: string;
  /** The pre-auth key itself (a `file:PATH` already read); absent = saved state or interactive. */
  authKey?: string;
  /** The file the key was read from, when it was `file:PATH`. */
  authKeyFile?: string;
  /** State directory (absolute when the config file's path is), or `mem:`. */
  stateDir: string;
  /** Name to register; absent = this host's name. */
  hostname?: string;
  /** Also serve the LocalAPI at this path (tailscaled's `--socket`). */
  socket?: string;
  /** `--socks5-server HOST:PORT` (userspace networking only). */
  socks5Server?: string;
  /** `--outbound-http-proxy-listen HOST:PORT` (userspace networking only). */
  outboundHttpProxyListen?: string;
  /** `--forward`: inbound forwards (userspace networking only). */
  forwards?: ForwardSpec[];
  /** `--netstack-max-connections`, `--netstack-tcp-buffer` (userspace networking only). */
  netstackLimits?: Partial<NetstackLimits>;
  /** Register a fresh node key. */
  forceReauth: boolean;
  /** Route subnets that peers advertise. */
  acceptRoutes: boolean;
  /** Routes to offer (`advertiseRoutes`, plus the exit routes for `advertiseExitNode`). */
  advertiseRoutes?: IpPrefix[];
  /** Masquerade traffic to advertised routes (`snatSubnetRoutes`, default true). */
  snatSubnetRoutes?: boolean;
  /** Point /etc/resolv.conf at MagicDNS while up. */
  acceptDns: boolean;
  /** Ask to be removed from the tailnet when offline. */
  ephemeral: boolean;
  /** Dial DERP over plain HTTP (`derpHttp`). */
  plainDerp: boolean;
  /** How long an unreachable control server may delay the first login. */
  loginTimeoutMs: number;
  /** UDP port for WireGuard and disco; 0 = any. */
  port: number;
  /** Direct-path tunables that were set (`disco`); absent ones keep their defaults. */
  tunables: ConfigTunables;
  /** Shortened session timers (`debugRekeyAfter`), as `tun up --debug-rekey-after` sets them. */
  timings?: { rekeyAfterTime: number; rejectAfterTime: number };
  /** Also log handshakes and other per-peer events. */
  verbose: boolean;
}

/** One plain WireGuard network from a wg-quick file. */
export interface WireguardNetwork {
  /** Discriminant. */
  kind: "wireguard";
  /** The network's name (the key under `networks`). */
  name: string;
  /** Interface name. */
  tun: string;
  /** The wg-quick file, resolved against the config file's directory. */
  configFile: string;
  /** The parsed wg-quick file (peer endpoints not yet resolved). */
  config: WgConfig;
  /** Also log handshakes and other per-peer events. */
  verbose: boolean;
}

/** One network of either kind. */
export type NetworkConfig = TailnetNetwork | WireguardNetwork;

/** A whole config file, checked: every network valid and none clashing with another. */
export interface NetworksConfig {
  /** The config file as named. */
  file: string;
  /** `warren` (`{"networks": …}`) or `tailscaled` (its `"version": "alpha0"` file). */
  format: "warren" | "tailscaled";
  /** The networks in file order; names are unique. */
  networks: NetworkConfig[];
  /** Valid input warren will not act on (wg-quick keys it ignores, ...), one line each to log. */
  warnings: NetworksConfigProblem[];
}
