/**
 * tailscaled's `ipnstate.Status` (what `GET /localapi/v0/status` answers and
 * `tailscale status --json` prints), built from what a warren node knows.
 * Keys, their order and their omitempty rules follow tailscale 1.96's
 * `ipn/ipnstate` and the status builders of `ipn/ipnlocal` and
 * `wgengine/magicsock`; the golden copy is
 * `fixtures/tailscaled-1.96.5-localapi/status.json`.
 *
 * @module
 */
import type { NetworkMap } from "../netmap/network_map.ts";
import type { Location, Node, NodeCapMap, UserProfile } from "../netmap/tailcfg.ts";
import { homeDerpOf } from "../netmap/node.ts";
import { ZERO_TIME } from "../netmap/tailcfg.ts";
import {
  goTime,
  isTailscaleIp,
  magicDnsSuffixOf,
  offersExit,
  profile,
  singleIp,
  tailscaleIps,
} from "./names.ts";

/** tailscaled's backend states (Go `ipn.State`). */
export type BackendState =
  | "NoState"
  | "NeedsLogin"
  | "NeedsMachineAuth"
  | "Stopped"
  | "Starting"
  | "Running";

/** One node in a Status (Go `ipnstate.PeerStatus`); `?` marks omitempty keys. */
export interface IpnPeerStatus {
  /** Stable node ID. */
  ID: string;
  /** `nodekey:…`. */
  PublicKey: string;
  /** Hostinfo.Hostname. */
  HostName: string;
  /** FQDN with the trailing dot. */
  DNSName: string;
  /** Hostinfo.OS. */
  OS: string;
  /** Owner. */
  UserID: number;
  /** Sharer, when not the owner. */
  AltSharerUserID?: number;
  /** Single-IP addresses, without prefix length. */
  TailscaleIPs: string[] | null;
  /** Prefixes routed to the node. */
  AllowedIPs?: string[];
  /** ACL tags. */
  Tags?: string[];
  /** Subnet routes the node is primary for. */
  PrimaryRoutes?: string[];
  /** Endpoints magicsock knows (self only; null for peers). */
  Addrs: string[] | null;
  /** The direct `ip:port` in use, "" when over DERP or idle. */
  CurAddr: string;
  /** Home DERP region code. */
  Relay: string;
  /** Peer relay `ip:port:vni` in use ("" — warren has none). */
  PeerRelay: string;
  /** Bytes received. */
  RxBytes: number;
  /** Bytes sent. */
  TxBytes: number;
  /** RFC 3339. */
  Created: string;
  /** Last packet sent (RFC 3339; Go's zero time if never). */
  LastWrite: string;
  /** Last seen by control (only when offline). */
  LastSeen: string;
  /** Latest WireGuard handshake. */
  LastHandshake: string;
  /** Connected to control. */
  Online: boolean;
  /** The selected exit node. */
  ExitNode: boolean;
  /** Offers both exit routes. */
  ExitNodeOption: boolean;
  /** Sent to recently. */
  Active: boolean;
  /** PeerAPI base URLs. */
  PeerAPIURL: string[] | null;
  /** Go `ipnstate.TaildropTargetStatus` (0: unknown — warren has no Taildrop). */
  TaildropTarget: number;
  /** Why files cannot be sent. */
  NoFileSharingReason: string;
  /** Deprecated capability list. */
  Capabilities?: string[];
  /** Node attributes. */
  CapMap?: NodeCapMap;
  /** SSH host keys. */
  sshHostKeys?: string[];
  /** Shared-in node. */
  ShareeNode?: boolean;
  /** In the netmap. */
  InNetworkMap: boolean;
  /** Tracked by magicsock. */
  InMagicSock: boolean;
  /** Tracked by WireGuard. */
  InEngine: boolean;
  /** Key expired. */
  Expired?: boolean;
  /** Key expiry, rounded to the second. */
  KeyExpiry?: string;
  /** Location from Hostinfo. */
  Location?: Location;
}

/** The whole status (Go `ipnstate.Status`). */
export interface IpnStatus {
  /** Daemon version. */
  Version: string;
  /** Kernel TUN (false: userspace). */
  TUN: boolean;
  /** Backend state. */
  BackendState: BackendState;
  /** A node key exists (omitempty). */
  HaveNodeKey?: boolean;
  /** Interactive login URL, "" if none. */
  AuthURL: string;
  /** This node's Tailscale IPs. */
  TailscaleIPs: string[] | null;
  /** This node. */
  Self: IpnPeerStatus;
  /** The exit node in use (omitempty). */
  ExitNodeStatus?: { ID: string; Online: boolean; TailscaleIPs: string[] | null };
  /** Health problems, [] when none. */
  Health: string[];
  /** Legacy copy of CurrentTailnet.MagicDNSSuffix. */
  MagicDNSSuffix: string;
  /** The tailnet, null without a netmap. */
  CurrentTailnet: { Name: string; MagicDNSSuffix: string; MagicDNSEnabled: boolean } | null;
  /** Names control helps with TLS certificates for. */
  CertDomains: string[] | null;
  /** Peers by `nodekey:…`; null without peers or with `peers=false`. */
  Peer: Record<string, IpnPeerStatus> | null;
  /** User profiles by decimal ID; null with `peers=false`. */
  User: Record<string, UserProfile> | null;
  /** Newest client version (warren never reports one). */
  ClientVersion: null;
}

/** What the data plane knows of one peer, keyed by `nodekey:…` in {@link IpnStatusView}. */
export interface PeerLive {
  /** Bytes received. */
  rxBytes: number;
  /** Bytes sent. */
  txBytes: number;
  /** Latest handshake, ms since the epoch (0: none). */
  lastHandshakeMs: number;
  /** Last packet sent, ms since the epoch (0: never or unknown). */
  lastWriteMs: number;
  /** The direct `ip:port` in use, "" over DERP or with no path. */
  curAddr: string;
  /** Sent to recently. */
  active: boolean;
  /** magicsock tracks the peer. */
  inMagicSock: boolean;
  /** WireGuard has the peer. */
  inEngine: boolean;
}

/** What a node provides for its status. */
export interface IpnStatusView {
  /** Version string reported as Status.Version. */
  version: string;
  /** Kernel TUN (false: netstack). */
  tun: boolean;
  /** Backend state. */
  backendState: BackendState;
  /** Whether a node key exists. */
  haveNodeKey: boolean;
  /** Pending interactive login URL, "". */
  authUrl: string;
  /** The latest netmap, null before the first. */
  netmap: NetworkMap | null;
  /** This node's UDP endpoints (Self.Addrs). */
  selfEndpoints: readonly string[];
  /** This node's home DERP region, 0 if none. */
  homeDerp: number;
  /** Whether the map poll is up (Self.Online). */
  selfOnline: boolean;
  /** Health problems. */
  health: readonly string[];
  /** Prefs.ExitNodeID, "" for none. */
  exitNodeId: string;
  /** Prefs.RouteAll (a warning is added when peers offer routes and it is off). */
  routeAll: boolean;
  /** Per-peer data-plane facts by `nodekey:…`; a peer missing here is in the netmap only. */
  peers: ReadonlyMap<string, PeerLive>;
  /** Host OS as tailscaled names it; "linux". */
  os?: string;
  /** The OS hostname: Self.HostName until a netmap names this node. */
  hostName?: string;
}

/** tailscaled's health line when peers offer routes but RouteAll is off (healthmsg). */
export const WARN_ACCEPT_ROUTES_OFF =
  "Some peers are advertising routes but --accept-routes is false";

const DEPRECATED_CAPS =
  "HTTPS://TAILSCALE.COM/s/DEPRECATED-NODE-CAPS#see-https://github.com/tailscale/tailscale/issues/11508";

function regionCode(nm: NetworkMap, region: number): string {
  return nm.derpMap?.Regions?.[String(region)]?.RegionCode ?? "";
}

function peerApiUrls(node: Node): string[] | null {
  const ports = new Map((node.Hostinfo?.Services ?? []).map((s) => [s.Proto, s.Port]));
  const ips = tailscaleIps(node);
  const out: string[] = [];
  const v4 = ips.find((ip) => !ip.includes(":"));
  const v6 = ips.find((ip) => ip.includes(":"));
  const p4 = ports.get("peerapi4") ?? 0;
  const p6 = ports.get("peerapi6") ?? 0;
  if (v4 && p4) out.push(`http://${v4}:${p4}`);
  if (v6 && p6) out.push(`http://[${v6}]:${p6}`);
  return out.length ? out : null;
}

/** The fields tailscaled's peerStatusFromNode copies for self and peers alike. */
function fromNode(ps: IpnPeerStatus, n: Node): void {
  if (n.Tags?.length) ps.Tags = [...n.Tags];
  if (n.PrimaryRoutes?.length) ps.PrimaryRoutes = [...n.PrimaryRoutes];
  if (n.AllowedIPs?.length) ps.AllowedIPs = [...n.AllowedIPs];
  ps.ExitNodeOption = offersExit(n.AllowedIPs);
  if (n.Expired) ps.Expired = true;
  if (n.KeyExpiry && n.KeyExpiry !== ZERO_TIME) {
    const ms = Date.parse(n.KeyExpiry);
    if (Number.isFinite(ms)) ps.KeyExpiry = goTime(Math.round(ms / 1000) * 1000);
  }
}

/** Puts `ps`'s keys in Go's struct order (JSON readers do not care; people diffing do). */
function ordered(ps: IpnPeerStatus): IpnPeerStatus {
  const order: (keyof IpnPeerStatus)[] = [
    "ID",
    "PublicKey",
    "HostName",
    "DNSName",
    "OS",
    "UserID",
    "AltSharerUserID",
    "TailscaleIPs",
    "AllowedIPs",
    "Tags",
    "PrimaryRoutes",
    "Addrs",
    "CurAddr",
    "Relay",
    "PeerRelay",
    "RxBytes",
    "TxBytes",
    "Created",
    "LastWrite",
    "LastSeen",
    "LastHandshake",
    "Online",
    "ExitNode",
    "ExitNodeOption",
    "Active",
    "PeerAPIURL",
    "TaildropTarget",
    "NoFileSharingReason",
    "Capabilities",
    "CapMap",
    "sshHostKeys",
    "ShareeNode",
    "InNetworkMap",
    "InMagicSock",
    "InEngine",
    "Expired",
    "KeyExpiry",
    "Location",
  ];
  const out: Record<string, unknown> = {};
  for (const k of order) if (ps[k] !== undefined) out[k] = ps[k];
  return out as unknown as IpnPeerStatus;
}

function blank(): IpnPeerStatus {
  return {
    ID: "",
    PublicKey: "",
    HostName: "",
    DNSName: "",
    OS: "",
    UserID: 0,
    TailscaleIPs: null,
    Addrs: null,
    CurAddr: "",
    Relay: "",
    PeerRelay: "",
    RxBytes: 0,
    TxBytes: 0,
    Created: ZERO_TIME,
    LastWrite: ZERO_TIME,
    LastSeen: ZERO_TIME,
    LastHandshake: ZERO_TIME,
    Online: false,
    ExitNode: false,
    ExitNodeOption: false,
    Active: false,
    PeerAPIURL: null,
    TaildropTarget: 0,
    NoFileSharingReason: "",
    InNetworkMap: false,
    InMagicSock: false,
    InEngine: false,
  };
}

function selfStatus(v: IpnStatusView): IpnPeerStatus {
  const ps = blank();
  ps.OS = v.os ?? "linux";
  ps.Online = v.selfOnline;
  ps.Addrs = [...v.selfEndpoints];
  const nm = v.netmap;
  if (nm && v.homeDerp) ps.Relay = regionCode(nm, v.homeDerp);
  const self = nm?.self;
  if (!nm || !self) {
    ps.HostName = v.hostName ?? "";
    return ordered(ps);
  }
  ps.InNetworkMap = true;
  ps.HostName = self.Hostinfo?.Hostname ?? "";
  ps.DNSName = self.Name;
  ps.UserID = self.User;
  ps.PublicKey = self.Key;
  ps.ID = self.StableID;
  ps.Created = self.Created ?? ZERO_TIME;
  fromNode(ps, self);
  const caps = Object.keys(self.CapMap ?? {});
  if (caps.length) {
    caps.sort();
    ps.CapMap = Object.fromEntries(caps.map((k) => [k, self.CapMap![k] ?? []]));
    ps.Capabilities = [DEPRECATED_CAPS, ...caps];
  }
  const ips = tailscaleIps(self);
  ps.TailscaleIPs = ips.length ? ips : null;
  return ordered(ps);
}

function peerStatus(v: IpnStatusView, nm: NetworkMap, p: Node): IpnPeerStatus {
  const ps = blank();
  ps.InNetworkMap = true;
  ps.ID = p.StableID;
  ps.PublicKey = p.Key;
  ps.UserID = p.User;
  if (p.Sharer) ps.AltSharerUserID = p.Sharer;
  ps.TailscaleIPs = tailscaleIps(p);
  ps.HostName = p.Hostinfo?.Hostname ?? "";
  ps.DNSName = p.Name;
  ps.OS = p.Hostinfo?.OS ?? "";
  if (p.LastSeen) ps.LastSeen = p.LastSeen;
  ps.Online = p.Online === true;
  if (p.Hostinfo?.ShareeNode) ps.ShareeNode = true;
  ps.ExitNode = p.StableID !== "" && p.StableID === v.exitNodeId;
  if (p.Hostinfo?.sshHostKeys?.length) ps.sshHostKeys = [...p.Hostinfo.sshHostKeys];
  if (p.Hostinfo?.Location) ps.Location = p.Hostinfo.Location;
  if (p.Capabilities?.length) ps.Capabilities = [...p.Capabilities];
  const caps = Object.keys(p.CapMap ?? {});
  if (caps.length) {
    ps.CapMap = Object.fromEntries(caps.sort().map((k) => [k, p.CapMap![k] ?? []]));
  }
  ps.Created = p.Created ?? ZERO_TIME;
  fromNode(ps, p);
  ps.PeerAPIURL = peerApiUrls(p);
  ps.Relay = regionCode(nm, homeDerpOf(p));
  const live = v.peers.get(p.Key);
  if (live) {
    ps.RxBytes = live.rxBytes;
    ps.TxBytes = live.txBytes;
    ps.LastHandshake = goTime(live.lastHandshakeMs);
    ps.LastWrite = goTime(live.lastWriteMs);
    ps.CurAddr = live.curAddr;
    ps.Active = live.active;
    ps.InMagicSock = live.inMagicSock;
    ps.InEngine = live.inEngine;
  }
  return ordered(ps);
}

/**
 * Builds ipnstate.Status from a node's view; `peers: false` leaves Peer and
 * User null, as `status?peers=false` does. Pure.
 *
 * @example
 * ```ts
 * const st = buildIpnStatus({
 *   version: "1.96.5-warren", tun: true, backendState: "NeedsLogin", haveNodeKey: false,
 *   authUrl: "", netmap: null, selfEndpoints: [], homeDerp: 0, selfOnline: false,
 *   health: [], exitNodeId: "", routeAll: false, peers: new Map(),
 * }, { peers: true });
 * st.CurrentTailnet; // null
 * ```
 */
export function buildIpnStatus(v: IpnStatusView, opts: { peers: boolean }): IpnStatus {
  const nm = v.netmap;
  const health = [...v.health];
  let exitNodeStatus: IpnStatus["ExitNodeStatus"];
  if (nm) {
    const peers = [...nm.peers.values()];
    const routes = peers.some((p) =>
      (p.PrimaryRoutes ?? []).some((r) => singleIp(r) === null || !isTailscaleIp(singleIp(r)!))
    );
    if (!v.routeAll && routes) health.push(WARN_ACCEPT_ROUTES_OFF);
    const exit = v.exitNodeId ? peers.find((p) => p.StableID === v.exitNodeId) : undefined;
    if (exit) {
      exitNodeStatus = {
        ID: v.exitNodeId,
        Online: exit.Online === true,
        TailscaleIPs: exit.Addresses ? [...exit.Addresses] : null,
      };
    }
  }
  const self = selfStatus(v);
  const suffix = nm?.self ? magicDnsSuffixOf(nm.self.Name) : "";
  const st: IpnStatus = {
    Version: v.version,
    TUN: v.tun,
    BackendState: v.backendState,
    ...(v.haveNodeKey ? { HaveNodeKey: true } : {}),
    AuthURL: v.authUrl,
    TailscaleIPs: self.TailscaleIPs,
    Self: self,
    ...(exitNodeStatus ? { ExitNodeStatus: exitNodeStatus } : {}),
    Health: health,
    MagicDNSSuffix: suffix,
    CurrentTailnet: nm
      ? { Name: nm.domain, MagicDNSSuffix: suffix, MagicDNSEnabled: nm.dns?.Proxied === true }
      : null,
    CertDomains: nm?.dns?.CertDomains?.length ? [...nm.dns.CertDomains] : null,
    Peer: null,
    User: null,
    ClientVersion: null,
  };
  if (opts.peers && nm) {
    const users: Record<string, UserProfile> = {};
    for (const [id, up] of nm.userProfiles) users[String(id)] = profile(up);
    st.User = Object.keys(users).length ? users : null;
    const peers: Record<string, IpnPeerStatus> = {};
    // Go's encoding/json writes map keys sorted
    const sorted = [...nm.peers.values()].sort((a, b) =>
      a.Key < b.Key ? -1 : a.Key > b.Key ? 1 : 0
    );
    for (const p of sorted) peers[p.Key] = peerStatus(v, nm, p);
    st.Peer = Object.keys(peers).length ? peers : null;
  }
  return st;
}
