/**
 * The JSON wire types of Tailscale's control protocol (Go package `tailcfg`),
 * with the exact Go field names as keys (protocol doc §3–4, §9).
 *
 * Keys stay in their text form here (`nodekey:…`, `mkey:…`, `discokey:…`);
 * parse them with `src/key/node_key.ts` where bytes are needed. Times are RFC
 * 3339 strings, prefixes `"100.64.0.1/32"`, endpoints `"1.2.3.4:41641"`.
 * Optional (`?`) means the Go side tags the field omitempty/omitzero, so it
 * may be absent on the wire; `null` is what Go emits for a nil slice/map/
 * pointer without such a tag. A decoder must tolerate both.
 *
 * Integer IDs (NodeID, UserID, DERP region) are JS numbers: every ID seen from
 * Headscale and modern SaaS tailnets is below 2^53.
 *
 * @module
 */

/** A node's ID, allocated by control (Go `tailcfg.NodeID`, int64). */
export type NodeID = number;
/** A user's ID (Go `tailcfg.UserID`). */
export type UserID = number;
/** A DERP region ID (Go `tailcfg.DERPRegionID`); 0 means none. */
export type DERPRegionID = number;
/** A node's stable string ID (Go `tailcfg.StableNodeID`). */
export type StableNodeID = string;
/** A capability version (Go `tailcfg.CapabilityVersion`). */
export type CapabilityVersion = number;
/** Node capability map: capability name → raw JSON values. */
export type NodeCapMap = Record<string, unknown[] | null>;
/** Peer capability map carried in {@link CapGrant}. */
export type PeerCapMap = Record<string, unknown[] | null>;

/** A user (Go `tailcfg.User`), as returned in {@link RegisterResponse}. */
export interface User {
  /** User ID. */
  ID: UserID;
  /** Display name. */
  DisplayName: string;
  /** Avatar URL. */
  ProfilePicURL?: string;
  /** Creation time (RFC 3339). */
  Created?: string;
}

/** An identity-provider login (Go `tailcfg.Login`). */
export interface Login {
  /** Login ID (unused by clients). */
  ID: number;
  /** Identity provider, e.g. "github". */
  Provider: string;
  /** Email-ish login name. */
  LoginName: string;
  /** Display name from the IdP. */
  DisplayName: string;
  /** Avatar URL. */
  ProfilePicURL?: string;
}

/** Display data for a user (Go `tailcfg.UserProfile`). */
export interface UserProfile {
  /** User ID. */
  ID: UserID;
  /** Login name, e.g. "alice@example.com". */
  LoginName: string;
  /** Display name. */
  DisplayName: string;
  /** Avatar URL. */
  ProfilePicURL?: string;
  /** Groups (removed in capver 87; may still appear). */
  Groups?: string[] | null;
}

/** A service a host advertises (Go `tailcfg.Service`). */
export interface Service {
  /** Protocol, e.g. "tcp", "peerapi4", "peerapi-dns-proxy". */
  Proto: string;
  /** Port number. */
  Port: number;
  /** Free-form description. */
  Description?: string;
}

/** A node's geographic location (Go `tailcfg.Location`). */
export interface Location {
  /** Country name. */
  Country?: string;
  /** ISO 3166-1 alpha-2 country code. */
  CountryCode?: string;
  /** City name. */
  City?: string;
  /** City code. */
  CityCode?: string;
  /** Latitude in degrees. */
  Latitude?: number;
  /** Longitude in degrees. */
  Longitude?: number;
  /** Route priority (capver ≥ 119). */
  Priority?: number;
}

/** Network facts a node reports (Go `tailcfg.NetInfo`); opt.Bool fields are `true`/`false`/absent. */
export interface NetInfo {
  /** Whether the NAT mapping varies by destination (hard NAT). */
  MappingVariesByDestIP?: boolean;
  /** Whether IPv6 to the internet works. */
  WorkingIPv6?: boolean;
  /** Whether the OS supports IPv6. */
  OSHasIPv6?: boolean;
  /** Whether UDP works. */
  WorkingUDP?: boolean;
  /** Whether ICMPv4 works. */
  WorkingICMPv4?: boolean;
  /** Whether a port mapping is in place. */
  HavePortMap?: boolean;
  /** UPnP available. */
  UPnP?: boolean;
  /** NAT-PMP available. */
  PMP?: boolean;
  /** PCP available. */
  PCP?: boolean;
  /** Home DERP region: how control learns (and sets) this node's HomeDERP. */
  PreferredDERP?: DERPRegionID;
  /** "wired", "wifi", "mobile". */
  LinkType?: string;
  /** `"<region>-v4"`/`"<region>-v6"` → latency in seconds. */
  DERPLatency?: Record<string, number> | null;
  /** Linux firewall mode, e.g. "nft-forced". */
  FirewallMode?: string;
}

/** Host description a node sends to control (Go `tailcfg.Hostinfo`). */
export interface Hostinfo {
  /** Client version, e.g. "warren-0.1.0". */
  IPNVersion?: string;
  /** Frontend log ID. */
  FrontendLogID?: string;
  /** Backend log ID: any stable hex string (tailscaled refuses to register without one). */
  BackendLogID?: string;
  /** "linux", "windows", "macOS", … */
  OS?: string;
  /** Kernel / OS version. */
  OSVersion?: string;
  /** Running in a container. */
  Container?: boolean;
  /** Environment type. */
  Env?: string;
  /** Linux distribution. */
  Distro?: string;
  /** Distribution version. */
  DistroVersion?: string;
  /** Distribution code name. */
  DistroCodeName?: string;
  /** App name. */
  App?: string;
  /** Desktop detected. */
  Desktop?: boolean;
  /** Package kind. */
  Package?: string;
  /** Device model. */
  DeviceModel?: string;
  /** Push token. */
  PushDeviceToken?: string;
  /** Host name; Headscale derives the MagicDNS label from it. */
  Hostname?: string;
  /** Blocking all incoming connections. */
  ShieldsUp?: boolean;
  /** Present only because shared to this user. */
  ShareeNode?: boolean;
  /** Opted out of logs. */
  NoLogsNoSupport?: boolean;
  /** Remote config enabled. */
  RemoteConfig?: boolean;
  /** Funnel ingress wired. */
  WireIngress?: boolean;
  /** Any funnel endpoint enabled (capver ≥ 113). */
  IngressEnabled?: boolean;
  /** Auto-update allowed. */
  AllowsUpdate?: boolean;
  /** `uname -m`. */
  Machine?: string;
  /** GOARCH of the binary. */
  GoArch?: string;
  /** GOARM/GOAMD64 of the binary. */
  GoArchVar?: string;
  /** Go version. */
  GoVersion?: string;
  /** Advertised subnet / exit routes. */
  RoutableIPs?: string[] | null;
  /** ACL tags requested. */
  RequestTags?: string[] | null;
  /** Wake-on-LAN MACs. */
  WoLMACs?: string[] | null;
  /** Advertised services. */
  Services?: Service[] | null;
  /** Network facts. */
  NetInfo?: NetInfo | null;
  /** SSH host keys (note the lowercase JSON key). */
  sshHostKeys?: string[] | null;
  /** Cloud provider. */
  Cloud?: string;
  /** Userspace networking mode. */
  Userspace?: boolean;
  /** Userspace subnet router. */
  UserspaceRouter?: boolean;
  /** App connector running. */
  AppConnector?: boolean;
  /** Hash of tailnet services. */
  ServicesHash?: string;
  /** Willing to relay for peers. */
  PeerRelay?: boolean;
  /** Selected exit node. */
  ExitNodeID?: StableNodeID;
  /** Location. */
  Location?: Location | null;
  /** TPM metadata. */
  TPM?: Record<string, unknown> | null;
  /** State file encrypted at rest. */
  StateEncrypted?: boolean;
}

/** Pre-auth credentials inside a {@link RegisterRequest} (Go `tailcfg.RegisterResponseAuth`). */
export interface RegisterResponseAuth {
  /** Pre-auth key, e.g. `tskey-auth-…` or Headscale's `hskey-auth-…`. */
  AuthKey?: string;
  /** Legacy Android OAuth2 token. */
  Oauth2Token?: unknown;
}

/** Body of `POST /machine/register` (Go `tailcfg.RegisterRequest`). */
export interface RegisterRequest {
  /** Capability version. */
  Version: CapabilityVersion;
  /** The node key being registered (`nodekey:`). */
  NodeKey: string;
  /** The previous node key when rotating, else the all-zero `nodekey:000…`. */
  OldNodeKey: string;
  /** Tailnet-lock key (`nlpub:`); omitted by warren. */
  NLKey?: string;
  /** Pre-auth key, when registering with one. */
  Auth?: RegisterResponseAuth;
  /** Requested expiry; zero time = no request; a past time = log out. */
  Expiry: string;
  /** The AuthURL previously returned: long-poll for interactive approval. */
  Followup: string;
  /** Host description. */
  Hostinfo: Hostinfo | null;
  /** Ask to be deleted when inactive. */
  Ephemeral?: boolean;
  /** Tailnet-lock signature (base64) or null. */
  NodeKeySignature: string | null;
  /** Device-cert signing fields (unused). */
  SignatureType?: number;
  /** Request creation time. */
  Timestamp?: string;
  /** X.509 device certificate (base64). */
  DeviceCert?: string;
  /** Signature (base64). */
  Signature?: string;
  /** Tailnet hint. */
  Tailnet?: string;
}

/** Reply to `POST /machine/register` (Go `tailcfg.RegisterResponse`). */
export interface RegisterResponse {
  /** The owning user. */
  User: User;
  /** The login used. */
  Login: Login;
  /** True → this node key must be replaced (register a fresh key with OldNodeKey). */
  NodeKeyExpired: boolean;
  /** True once the device is approved. */
  MachineAuthorized: boolean;
  /** Non-empty → interactive auth pending; show it and poll with Followup. */
  AuthURL: string;
  /** Tailnet-lock re-sign request. */
  NodeKeySignature: string | null;
  /** Non-empty → failure; other fields are meaningless. */
  Error: string;
}

/** Endpoint kinds in {@link MapRequest.EndpointTypes} (Go `tailcfg.EndpointType`). */
export const EndpointType = {
  /** Unknown origin. */
  Unknown: 0,
  /** A local interface address. */
  Local: 1,
  /** Learned via STUN. */
  STUN: 2,
  /** Port-mapped (UPnP/PMP/PCP). */
  Portmapped: 3,
  /** Hard NAT: STUN'd IPv4 address with the local port. */
  STUN4LocalPort: 4,
  /** Explicitly configured. */
  ExplicitConf: 5,
} as const;

/** Body of `POST /machine/map` (Go `tailcfg.MapRequest`). */
export interface MapRequest {
  /** Capability version. */
  Version: CapabilityVersion;
  /** "zstd" or absent. */
  Compress?: string;
  /** Ask for keep-alive messages. */
  KeepAlive?: boolean;
  /** Current node key (`nodekey:`). */
  NodeKey: string;
  /** Current disco key (`discokey:`); always send the real one. */
  DiscoKey: string;
  /** Long poll. */
  Stream?: boolean;
  /** Full Hostinfo. */
  Hostinfo: Hostinfo | null;
  /** Session resumption handle. */
  MapSessionHandle?: string;
  /** Session resumption sequence. */
  MapSessionSeq?: number;
  /** UDP endpoints `ip:port`. */
  Endpoints?: string[] | null;
  /** Parallel to Endpoints, values from {@link EndpointType}. */
  EndpointTypes?: number[] | null;
  /** Tailnet-lock head. */
  TKAHead?: string;
  /** Deprecated. */
  ReadOnly?: boolean;
  /** Client does not need peers (lite update). */
  OmitPeers?: boolean;
  /** Debug flags. */
  DebugFlags?: string[] | null;
}

/** Inclusive port range (Go `tailcfg.PortRange`). */
export interface PortRange {
  /** First port. */
  First: number;
  /** Last port (inclusive). */
  Last: number;
}

/** Destination of a filter rule (Go `tailcfg.NetPortRange`). */
export interface NetPortRange {
  /** IP, CIDR, range `a-b`, or `*`. */
  IP: string;
  /** Deprecated prefix length for IP. */
  Bits?: number | null;
  /** Port range. */
  Ports: PortRange;
}

/** Application capabilities granted (Go `tailcfg.CapGrant`). */
export interface CapGrant {
  /** Destination prefixes. */
  Dsts: string[];
  /** Legacy capability names. */
  Caps?: string[] | null;
  /** Capability → JSON values. */
  CapMap?: PeerCapMap | null;
}

/** One inbound packet-filter rule (Go `tailcfg.FilterRule`). */
export interface FilterRule {
  /** Sources: IP, CIDR, `a-b`, `*`, or `cap:<name>`. */
  SrcIPs: string[] | null;
  /** Deprecated per-source prefix lengths. */
  SrcBits?: number[] | null;
  /** Destinations. */
  DstPorts?: NetPortRange[] | null;
  /** IANA protocol numbers; empty = TCP, UDP, ICMPv4, ICMPv6. */
  IPProto?: number[] | null;
  /** Capability grants (exclusive with DstPorts). */
  CapGrant?: CapGrant[] | null;
}

/** A DNS resolver (Go `dnstype.Resolver`). */
export interface DNSResolver {
  /** `ip`, `ip:port`, `https://…` (DoH) or `tls://…`. */
  Addr?: string;
  /** IPs to reach a DoH/DoT host. */
  BootstrapResolution?: string[] | null;
  /** Also use when an exit node is selected. */
  UseWithExitNode?: boolean;
}

/** An extra DNS record (Go `tailcfg.DNSRecord`). */
export interface DNSRecord {
  /** FQDN. */
  Name: string;
  /** "A"/"AAAA"/"TXT"…; empty = A or AAAA by Value. */
  Type?: string;
  /** Record value. */
  Value: string;
}

/** DNS configuration from control (Go `tailcfg.DNSConfig`). */
export interface DNSConfig {
  /** Global resolvers. */
  Resolvers?: (DNSResolver | null)[] | null;
  /** Split DNS: suffix → resolvers (empty list = answered by MagicDNS). */
  Routes?: Record<string, (DNSResolver | null)[] | null> | null;
  /** Fallback resolvers. */
  FallbackResolvers?: (DNSResolver | null)[] | null;
  /** Search domains. */
  Domains?: string[] | null;
  /** MagicDNS enabled. */
  Proxied?: boolean;
  /** Legacy nameserver IPs. */
  Nameservers?: string[] | null;
  /** Domains with TLS certs. */
  CertDomains?: string[] | null;
  /** Extra records served by MagicDNS. */
  ExtraRecords?: DNSRecord[] | null;
  /** Exit-node filtered suffixes. */
  ExitNodeFilteredSet?: string[] | null;
  /** Temporary corp field. */
  TempCorpIssue13969?: string;
}

/** Region-choice tuning (Go `tailcfg.DERPHomeParams`). */
export interface DERPHomeParams {
  /** Region ID (decimal string) → latency multiplier. */
  RegionScore?: Record<string, number> | null;
}

/** One DERP server (Go `tailcfg.DERPNode`). */
export interface DERPNode {
  /** Unique node name. */
  Name: string;
  /** Region it belongs to. */
  RegionID: DERPRegionID;
  /** DNS name for TLS and dialing. */
  HostName: string;
  /** Expected TLS certificate name. */
  CertName?: string;
  /** IPv4 to dial ("none" disables). */
  IPv4?: string;
  /** IPv6 to dial ("none" disables). */
  IPv6?: string;
  /** STUN port (0 = 3478, -1 = disabled). */
  STUNPort?: number;
  /** STUN only, no DERP. */
  STUNOnly?: boolean;
  /** DERP port (0 = 443). */
  DERPPort?: number;
  /** Skip TLS verification. */
  InsecureForTests?: boolean;
  /** STUN test IP override. */
  STUNTestIP?: string;
  /** Port 80 reachable for captive-portal checks. */
  CanPort80?: boolean;
}

/** One DERP region (Go `tailcfg.DERPRegion`). */
export interface DERPRegion {
  /** Region ID. */
  RegionID: DERPRegionID;
  /** Short code. */
  RegionCode: string;
  /** Long name. */
  RegionName: string;
  /** Latitude. */
  Latitude?: number;
  /** Longitude. */
  Longitude?: number;
  /** Avoid as home. */
  Avoid?: boolean;
  /** Neither measure nor pick as home (capver ≥ 115). */
  NoMeasureNoHome?: boolean;
  /** Servers. */
  Nodes: (DERPNode | null)[] | null;
}

/** DERP map (Go `tailcfg.DERPMap`); region map keys are decimal strings. */
export interface DERPMap {
  /** Home-choice params; nil = unchanged. */
  HomeParams?: DERPHomeParams | null;
  /** Regions by ID; nil = unchanged; nil entries must be dropped. */
  Regions: Record<string, DERPRegion | null> | null;
  /** Don't merge Tailscale's default regions (note the lowercase JSON key). */
  omitDefaultRegions?: boolean;
}

/** A node in the netmap, self or peer (Go `tailcfg.Node`). */
export interface Node {
  /** Node ID. */
  ID: NodeID;
  /** Stable ID. */
  StableID: StableNodeID;
  /** MagicDNS FQDN with trailing dot. */
  Name: string;
  /** Owning user. */
  User: UserID;
  /** Sharing user. */
  Sharer?: UserID;
  /** WireGuard public key (`nodekey:`). */
  Key: string;
  /** Key expiry (RFC 3339); absent/zero = never. */
  KeyExpiry?: string;
  /** Tailnet-lock signature (base64). */
  KeySignature?: string;
  /** Machine key (`mkey:`). */
  Machine?: string;
  /** Disco key (`discokey:`); absent = DERP only. */
  DiscoKey?: string;
  /** Own Tailscale addresses (/32, /128). */
  Addresses: string[] | null;
  /** Routes to this peer; absent/null = same as Addresses (capver ≥ 112). */
  AllowedIPs?: string[] | null;
  /** UDP endpoints `ip:port`. */
  Endpoints?: string[] | null;
  /** Legacy home DERP `"127.3.3.40:<region>"`. */
  DERP?: string;
  /** Home DERP region (capver ≥ 111). */
  HomeDERP?: DERPRegionID;
  /** Peer's Hostinfo. */
  Hostinfo?: Hostinfo | null;
  /** Creation time. */
  Created?: string;
  /** Peer's capability version. */
  Cap?: CapabilityVersion;
  /** ACL tags. */
  Tags?: string[] | null;
  /** Subnet routes this node is primary for. */
  PrimaryRoutes?: string[] | null;
  /** Last seen (meaningful when offline). */
  LastSeen?: string | null;
  /** Online; absent = unknown. */
  Online?: boolean | null;
  /** Authorized. */
  MachineAuthorized?: boolean;
  /** Deprecated capabilities. */
  Capabilities?: string[] | null;
  /** Node attributes. */
  CapMap?: NodeCapMap | null;
  /** Only PeerAPI access without tailnet-lock signature. */
  UnsignedPeerAPIOnly?: boolean;
  /** MagicDNS base name (client-computed; not normally on the wire). */
  ComputedName?: string;
  /** Name with host (client-computed). */
  ComputedNameWithHost?: string;
  /** Audit log ID. */
  DataPlaneAuditLogID?: string;
  /** Key expired: don't send to it. */
  Expired?: boolean;
  /** Masquerade v4 address to use toward this peer. */
  SelfNodeV4MasqAddrForThisPeer?: string | null;
  /** Masquerade v6 address to use toward this peer. */
  SelfNodeV6MasqAddrForThisPeer?: string | null;
  /** Plain WireGuard peer: no disco, no DERP. */
  IsWireGuardOnly?: boolean;
  /** Jailed: peer may not initiate to us. */
  IsJailed?: boolean;
  /** DNS resolvers for a WireGuard-only exit node. */
  ExitNodeDNSResolvers?: (DNSResolver | null)[] | null;
}

/** A partial update to one peer (Go `tailcfg.PeerChange`); absent = no change. */
export interface PeerChange {
  /** Peer to patch; ignored if unknown. */
  NodeID: NodeID;
  /** New home DERP region. */
  DERPRegion?: DERPRegionID;
  /** New capability version. */
  Cap?: CapabilityVersion;
  /** Replacement node attributes. */
  CapMap?: NodeCapMap | null;
  /** Replacement endpoints. */
  Endpoints?: string[] | null;
  /** New node key. */
  Key?: string | null;
  /** New key signature. */
  KeySignature?: string;
  /** New disco key. */
  DiscoKey?: string | null;
  /** New online state. */
  Online?: boolean | null;
  /** New last-seen time. */
  LastSeen?: string | null;
  /** New key expiry. */
  KeyExpiry?: string | null;
}

/** A control-requested ping (Go `tailcfg.PingRequest`). */
export interface PingRequest {
  /** URL to answer to. */
  URL: string;
  /** Answer over the Noise channel. */
  URLIsNoise?: boolean;
  /** Log the ping. */
  Log?: boolean;
  /** Comma-separated ping types. */
  Types?: string;
  /** Target IP. */
  IP?: string;
  /** Payload (base64). */
  Payload?: string;
}

/** What a node reports for a typed PingRequest (Go `tailcfg.PingResponse`). */
export interface PingResponse {
  /** The ping type answered: "disco", "TSMP", "ICMP" or "peerapi". */
  Type: string;
  /** The ping destination. */
  IP?: string;
  /** Tailscale IP of the node that handles IP. */
  NodeIP?: string;
  /** That node's name. */
  NodeName?: string;
  /** Why the ping could not be done. */
  Err?: string;
  /** Round trip in seconds. */
  LatencySeconds?: number;
  /** "ip:port" when direct UDP answered. */
  Endpoint?: string;
  /** The DERP region that relayed the answer, when it came over DERP. */
  DERPRegionID?: number;
  /** That region's code. */
  DERPRegionCode?: string;
  /** The error is that IP is this node's own. */
  IsLocalIP?: boolean;
}

/** Debug knobs (Go `tailcfg.Debug`). */
export interface Debug {
  /** Sleep before next poll. */
  SleepSeconds?: number;
  /** Disable log upload. */
  DisableLogTail?: boolean;
  /** Exit with this code. */
  Exit?: number | null;
}

/** One message of the map stream (Go `tailcfg.MapResponse`); absent = unchanged. */
export interface MapResponse {
  /** Session handle for resumption. */
  MapSessionHandle?: string;
  /** Sequence number. */
  Seq?: number;
  /** No-op message. */
  KeepAlive?: boolean;
  /** Ping to answer. */
  PingRequest?: PingRequest | null;
  /** URL to open once. */
  PopBrowserURL?: string;
  /** Self node. */
  Node?: Node | null;
  /** DERP map. */
  DERPMap?: DERPMap | null;
  /** Full peer list (replaces everything when non-empty). */
  Peers?: Node[] | null;
  /** Peers added or replaced. */
  PeersChanged?: Node[] | null;
  /** Peers deleted. */
  PeersRemoved?: NodeID[] | null;
  /** Partial peer updates. */
  PeersChangedPatch?: (PeerChange | null)[] | null;
  /** Node ID (decimal string) → seen now (true) or clear LastSeen (false). */
  PeerSeenChange?: Record<string, boolean> | null;
  /** Node ID (decimal string) → online. */
  OnlineChange?: Record<string, boolean> | null;
  /** DNS config. */
  DNSConfig?: DNSConfig | null;
  /** Tailnet domain. */
  Domain?: string;
  /** opt.Bool. */
  CollectServices?: boolean | null;
  /** Legacy single filter (= PacketFilters["base"]). */
  PacketFilter?: FilterRule[] | null;
  /** Named filters; null value deletes a name; `"*": null` clears all first. */
  PacketFilters?: Record<string, FilterRule[] | null> | null;
  /** New or changed user profiles. */
  UserProfiles?: UserProfile[] | null;
  /** Health messages. */
  Health?: string[] | null;
  /**
   * Structured health messages by ID (capver 117), incremental like PacketFilters:
   * a null value deletes that ID, `"*": null` clears all first.
   */
  DisplayMessages?: Record<string, DisplayMessage | null> | null;
  /** Tailscale SSH policy. */
  SSHPolicy?: unknown;
  /** Server clock. */
  ControlTime?: string | null;
  /** Tailnet-lock info. */
  TKAInfo?: unknown;
  /** Audit log ID. */
  DomainDataPlaneAuditLogID?: string;
  /** Debug knobs. */
  Debug?: Debug | null;
  /** Dial plan. */
  ControlDialPlan?: unknown;
  /** Client version advice. */
  ClientVersion?: unknown;
  /** Deprecated auto-update default. */
  DefaultAutoUpdate?: boolean | null;
}

/** Reply to `GET /key?v=N` (Go `tailcfg.OverTLSPublicKeyResponse`). */
export interface OverTLSPublicKeyResponse {
  /** Pre-Noise key, zero for modern servers. */
  legacyPublicKey: string;
  /** The server's Noise static key (`mkey:`). */
  publicKey: string;
}

/** Early payload the server sends before HTTP/2 (Go `tailcfg.EarlyNoise`). */
export interface EarlyNoise {
  /** Per-connection challenge key (`chalpub:`). */
  nodeKeyChallenge: string;
}

/** The magic IP of the legacy `Node.DERP` string. */
export const DERP_MAGIC_IP = "127.3.3.40";

/** A structured health message from control (`tailcfg.DisplayMessage`, capver 117). */
export interface DisplayMessage {
  /** Short title. */
  Title: string;
  /** Longer explanation. */
  Text: string;
  /** "high", "medium" or "low". */
  Severity: string;
  /** Whether the problem affects connectivity. */
  ImpactsConnectivity?: boolean;
  /** Something the user can do about it. */
  PrimaryAction?: { URL: string; Label: string };
}

/** RFC 3339 form of Go's zero time. */
export const ZERO_TIME = "0001-01-01T00:00:00Z";
