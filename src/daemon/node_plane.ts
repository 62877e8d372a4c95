/**
 * Where a tailnet node's data plane runs. With a kernel TUN it runs in a Worker of its own
 * (`ts_plane.ts`, the default): the WireGuard device, the TUN queue, the UDP socket's
 * receive side and the packet filter on a thread blocked in `poll(2)`, so a packet wakes it
 * straight from the kernel and the crypto takes the second core, while magicsock's disco and
 * DERP, control and MagicDNS stay on the main thread. In userspace-networking mode (the TCP
 * stack lives on the main thread), with `WARREN_DATAPLANE=pool`, or where the Worker cannot
 * start, it runs on the main thread as one loop waiting through Deno's thread pool.
 *
 * Either way the node drives the same {@linkcode NodePlane}: magicsock, the engine's
 * WireGuard port, the filter and status counters.
 *
 * @module
 */
import type { TunDevice } from "../../ffi/tun.ts";
import type { UdpSocket } from "../../ffi/udp.ts";
import { toHex } from "../bytes/hex.ts";
import { publicKeyFrom } from "../crypto/x25519.ts";
import type { DiscoTunables } from "../disco/tunables.ts";
import type { FilterStats, PacketFilter } from "../filter/filter.ts";
import { Magicsock, type MagicsockOptions, type MagicUdp } from "../magicsock/magicsock.ts";
import type { IpPrefix } from "../net/ip.ts";
import type { FilterRule } from "../netmap/tailcfg.ts";
import { type DropCounters, zeroDrops } from "../wireguard/drops.ts";
import type { Timings } from "../wireguard/timings.ts";
import type { EnginePorts } from "./engine.ts";
import type { NodeLink } from "./node_link.ts";
import { type PlaneMode, planeModeDefault } from "./plane_mode.ts";
import { TsPlaneHost } from "./ts_plane_host.ts";
import { restDefault } from "./plane_rest.ts";
import type { PlaneRest, TsPlaneStatus } from "./ts_plane_messages.ts";

const NO_DROPS: DropCounters = Object.freeze(zeroDrops());

/** The device's counters as status reads them, wherever the device is. */
export interface DeviceView {
  /** The node key. */
  readonly publicKey: Uint8Array;
  /** Drop counters. */
  readonly drops: DropCounters;
  /** A peer's counters and last handshake (wall clock, ms). */
  peer(key: Uint8Array):
    | { readonly lastHandshakeWall: number; readonly rxBytes: number; readonly txBytes: number }
    | undefined;
}

/** What the plane is built from. */
export interface NodePlaneParts {
  /** The TUN or the userspace stack. */
  link: NodeLink;
  /** magicsock's bound socket (the node closes it). */
  sock: UdpSocket;
  /** Node private key. */
  nodePrivate: Uint8Array;
  /** This run's disco private key. */
  discoPrivate: Uint8Array;
  /** Inner MTU. */
  mtu: number;
  /** Use plain HTTP for DERP. */
  plainDerp: boolean;
  /** Disco timing. */
  tunables?: Partial<DiscoTunables>;
  /** WireGuard timing, for tests. */
  timings?: Partial<Timings>;
  /** Resolves DERP host names. */
  resolveHost: MagicsockOptions["resolveHost"];
  /** A STUN response arrived. */
  stun(pkt: Uint8Array, from: Uint8Array): void;
  /** A quad-100 query was read from the TUN; answer it into `link.device`. */
  dns(query: Uint8Array): void;
  /** The engine's current filter (the main-thread plane filters with it). */
  filter(): PacketFilter | null;
  /** One line per event. */
  log(line: string): void;
  /**
   * When a Worker plane sleeps (`ts_plane_host.ts`): absent, `restDefault()`; null,
   * never (`WARREN_PLANE_SLEEP=0`).
   */
  rest?: PlaneRest | null;
  /** Called after the Worker plane fell asleep, to give back what it left resident. */
  released?(): void;
}

/** A running data plane, as the node drives it. */
export interface NodePlane {
  /** Where it runs. */
  readonly mode: PlaneMode;
  /** Whether its Worker sleeps now (the node's idle state; absent on the main thread). */
  readonly asleep?: boolean;
  /** Packets dropped past the held queue while the Worker slept or woke (absent on the main thread). */
  readonly heldDrops?: number;
  /** magicsock's UDP socket. */
  readonly udp: MagicUdp & { readonly port: number };
  /** magicsock, on the main thread either way. */
  readonly magic: Magicsock;
  /** The engine's WireGuard port. */
  readonly device: EnginePorts["device"];
  /** The engine's new filters (a Worker builds its own from them). */
  onFilter(rules: FilterRule[] | null, localNets: IpPrefix[]): void;
  /** The node's own addresses, for the underlay check. */
  setSelf(addresses: string[]): void;
  /** The device's counters as last read ({@linkcode refresh} reads them again). */
  view(): DeviceView;
  /** The filter's counters as last read. */
  filterStats(): FilterStats | null;
  /** Packets dropped for want of a path to their peer. */
  noPath(): number;
  /** Reads the counters afresh where the device is. */
  refresh(): Promise<void>;
  /** Stops the loop and closes the device (not the fds). */
  stop(): Promise<void>;
}

/** Builds and starts the plane; `onFail` hears a loop that stopped on an error. */
export async function startNodePlane(
  parts: NodePlaneParts,
  onFail: (message: string) => void,
  mode: PlaneMode = planeModeDefault(),
): Promise<NodePlane> {
  if (mode === "worker" && parts.link.mode === "tun") {
    try {
      return await workerPlane(parts, onFail);
    } catch (e) {
      // A binary compiled without the Worker's module (no --include) still runs, slower to wake.
      parts.log(`${e instanceof Error ? e.message : e}; running it on the main thread`);
    }
  }
  // Imported when chosen: a node whose plane runs in the Worker never loads the device here.
  return (await import("./node_plane_local.ts")).localPlane(parts, onFail);
}

/** magicsock for the node, on `udp`. */
export function nodeMagicsock(
  parts: NodePlaneParts,
  udp: MagicUdp,
  extra: Partial<MagicsockOptions> = {},
): Magicsock {
  return new Magicsock({
    privateKey: parts.nodePrivate,
    plainHttp: parts.plainDerp,
    log: parts.log,
    udp,
    discoPrivate: parts.discoPrivate,
    tunables: parts.tunables,
    resolveHost: parts.resolveHost,
    ...extra,
  });
}

async function workerPlane(parts: NodePlaneParts, onFail: (m: string) => void): Promise<NodePlane> {
  let magic: Magicsock | null = null;
  const host = await TsPlaneHost.start(
    {
      tun: (parts.link.device as TunDevice).handle,
      udp: parts.sock.handle,
      privateKey: parts.nodePrivate,
      mtu: parts.mtu,
      timings: parts.timings,
      rest: (parts.rest === undefined ? restDefault() : parts.rest) ?? undefined,
    },
    {
      tun: parts.link.device as TunDevice,
      sock: parts.sock,
      log: parts.log,
      handlers: {
        derp: (key, pkt) => magic?.sendDerp(key, pkt),
        sent: (key) => magic?.noteSend(key),
        disco: (pkt, from) => magic?.receiveUdpDisco(pkt, from),
        stun: parts.stun,
        dns: parts.dns,
      },
      released: parts.released,
    },
  );
  let stopping = false;
  host.done.then(() => stopping || onFail("its Worker stopped"));
  const udp = host.magicUdp();
  const m = magic = nodeMagicsock(parts, udp, {
    onSendPath: (key, to, derp) => host.setPath(key, to, derp),
  });
  m.attach(host);
  const publicKey = publicKeyFrom(parts.nodePrivate);
  let last: TsPlaneStatus | null = null;
  let byKey = new Map<string, TsPlaneStatus["peers"][number]>();
  return {
    mode: "worker",
    get asleep() {
      return host.asleep;
    },
    get heldDrops() {
      return host.heldDrops;
    },
    udp,
    magic: m,
    device: host,
    onFilter: (rules, localNets) => host.setFilter(rules, localNets),
    setSelf: (addresses) => host.setSelf(addresses),
    view: () => ({
      publicKey,
      drops: last?.drops ?? NO_DROPS,
      peer: (key) => byKey.get(toHex(key)),
    }),
    filterStats: () => last?.filter ?? null,
    noPath: () => m.dropped + (last?.noPath ?? 0),
    refresh: async () => {
      last = await host.status();
      byKey = new Map(last.peers.map((p) => [p.key, p]));
    },
    stop: () => {
      stopping = true;
      return host.stop();
    },
  };
}
