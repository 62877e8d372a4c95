/**
 * A node built from a wg-quick config: TUN device, addresses, routes (and a
 * full tunnel's policy rules and socket mark), UDP socket, WireGuard device,
 * data-plane loop and LocalAPI — and the teardown that undoes all of it, on
 * stop and on any failed start.
 *
 * @module
 */
import { TunDevice } from "../../ffi/tun.ts";
import { UdpSocket } from "../../ffi/udp.ts";
import { installResolvConf, renderResolvConf, restoreResolvConf } from "../dns/resolv_conf.ts";
import { formatPrefix, type IpPrefix } from "../net/ip.ts";
import type { Timings } from "../wireguard/timings.ts";
import type { WgConfig } from "../wireguard/wg_quick.ts";
import { type LocalApiServer, serveLocalApi } from "./local_api.ts";
import { type PlaneMode, type PlaneRunner, startPlane } from "./plane_mode.ts";
import { planRouting } from "./policy_routing.ts";
import { describeRule, InstalledRouting, kernelTableInUse } from "./policy_routing_apply.ts";
import type { NodeStatus } from "./status.ts";

/** How to run a node from a config. */
export interface WgNodeOptions {
  /** TUN interface name. */
  tun: string;
  /** The network's name in a `tun up --config` file (shown in status). */
  network?: string;
  /** The parsed config. */
  config: WgConfig;
  /** Each peer's resolved endpoint (28-byte sockaddr), in config order. */
  endpoints: (Uint8Array | null)[];
  /** One line per notable event. */
  log: (line: string) => void;
  /** Shortened protocol timers, for tests. */
  timings?: Partial<Timings>;
  /** Where the data plane runs (default: `WARREN_DATAPLANE`, else a Worker). */
  planeMode?: PlaneMode;
  /** Called after the Worker plane fell asleep, to give back what it left resident. */
  afterPlaneSleep?: () => void;
}

/** UDP socket buffers big enough that a burst does not overflow them. */
const SOCKET_BUFFER = 8 << 20;
const DEFAULT_MTU = 1420;

/** A running node. */
export class WgNode {
  #tun: TunDevice;
  #network: string | undefined;
  #udp: UdpSocket;
  #routing: InstalledRouting;
  #plane: PlaneRunner;
  #api: LocalApiServer | null = null;
  #addresses: IpPrefix[];
  #fwmark: number;
  #log: (line: string) => void;
  #stopping: Promise<void> | null = null;
  #resolvConf = false;
  #state: NodeStatus["state"] = "Starting";
  /** Settles when the node has stopped and cleaned up. */
  readonly done: Promise<void>;
  #resolveDone!: () => void;

  private constructor(
    tun: TunDevice,
    udp: UdpSocket,
    routing: InstalledRouting,
    plane: PlaneRunner,
    addresses: IpPrefix[],
    fwmark: number,
    log: (line: string) => void,
  ) {
    this.#tun = tun;
    this.#udp = udp;
    this.#routing = routing;
    this.#plane = plane;
    this.#addresses = addresses;
    this.#fwmark = fwmark;
    this.#log = log;
    this.done = new Promise((r) => this.#resolveDone = r);
  }

  /** Creates everything, or removes whatever was created and rethrows. */
  static async start(opts: WgNodeOptions): Promise<WgNode> {
    const { config } = opts;
    const undo: (() => void | Promise<void>)[] = [];
    try {
      const tun = TunDevice.open(opts.tun);
      undo.push(() => tun.close());
      tun.setMtu(config.mtu ?? DEFAULT_MTU);
      for (const a of config.addresses) tun.addAddress(a);
      tun.up();
      const plan = planRouting({
        allowed: config.peers.flatMap((p) => p.allowedIps),
        addresses: config.addresses,
        table: config.table,
        fwmark: config.fwmark,
        tableInUse: kernelTableInUse(),
      });
      const routing = new InstalledRouting(tun.name, opts.log);
      undo.push(() => routing.removeAll());
      routing.install(plan);
      const udp = UdpSocket.bind(config.listenPort ?? 0, {
        rcvbuf: SOCKET_BUFFER,
        sndbuf: SOCKET_BUFFER,
      });
      undo.push(() => udp.close());
      // Before the device exists, so no datagram leaves unmarked: the full tunnel's rule sends
      // unmarked packets into the tunnel, this socket's own included.
      if (plan.fwmark !== 0) udp.setMark(plan.fwmark);
      const plane = await startPlane(
        {
          tun: tun.handle,
          udp: udp.handle,
          privateKey: config.privateKey,
          mtu: config.mtu ?? DEFAULT_MTU,
          timings: opts.timings,
          peers: config.peers.map((p, i) => ({
            publicKey: p.publicKey,
            presharedKey: p.presharedKey,
            allowedIps: p.allowedIps,
            endpoint: opts.endpoints[i],
            persistentKeepalive: p.persistentKeepalive,
          })),
        },
        opts.log,
        opts.planeMode,
        opts.afterPlaneSleep,
      );
      undo.push(() => plane.stop());
      const node = new WgNode(tun, udp, routing, plane, config.addresses, plan.fwmark, opts.log);
      node.#network = opts.network;
      node.#api = await serveLocalApi(tun.name, {
        status: () => node.status(),
        down: () => void node.stop(),
      });
      if (config.dns.servers.length > 0) {
        // wg-quick's DNS=: the host resolves through the tunnel's servers while it is up.
        undo.push(async () => void await restoreResolvConf());
        await installResolvConf(renderResolvConf(config.dns.servers, config.dns.search));
        node.#resolvConf = true;
        opts.log(`resolv.conf: ${config.dns.servers.join(", ")} (restored on stop)`);
      }
      node.#state = "Running";
      // A failed loop (logged by the plane) takes the node down with it.
      void plane.done.then(() => {
        if (node.#state === "Running") void node.stop();
      });
      return node;
    } catch (e) {
      for (const f of undo.reverse()) {
        try {
          await f();
        } catch {
          // keep undoing the rest
        }
      }
      throw e;
    }
  }

  /** The interface name. */
  get interfaceName(): string {
    return this.#tun.name;
  }

  /** Stops the loop and removes routes, interface, socket and LocalAPI. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      this.#state = "Stopped";
      await this.#plane.stop();
      try {
        this.#routing.removeAll();
      } catch (e) {
        // Still close the rest: the interface going takes its routes with it, not the rules.
        this.#log(`cannot remove routing: ${e instanceof Error ? e.message : e}`);
      }
      if (this.#resolvConf) {
        await restoreResolvConf().catch((e) =>
          this.#log(`cannot restore resolv.conf: ${e instanceof Error ? e.message : e}`)
        );
      }
      this.#tun.close();
      this.#udp.close();
      await this.#api?.close();
      this.#resolveDone();
    })();
    return this.#stopping;
  }

  /** A snapshot for the LocalAPI. */
  async status(): Promise<NodeStatus> {
    const dev = await this.#plane.status();
    return {
      state: this.#state,
      interface: this.#tun.name,
      ...(this.#network === undefined ? {} : { network: this.#network }),
      publicKey: dev.publicKey,
      listenPort: this.#udp.port,
      addresses: this.#addresses.map(formatPrefix),
      mtu: dev.mtu,
      routes: this.#routing.routes.map((r) => formatPrefix(r.prefix)),
      routeTables: this.#routing.routes.map((r) => ({
        prefix: formatPrefix(r.prefix),
        table: r.table,
      })),
      rules: this.#routing.rules.map((r) => ({ family: r.family, rule: describeRule(r) })),
      fwmark: this.#fwmark,
      dataPlane: this.#plane.mode,
      ...(this.#plane.asleep ? { dataPlaneAsleep: true as const } : {}),
      peers: dev.peers,
      drops: this.#plane.heldDrops === undefined
        ? dev.drops
        : { ...dev.drops, heldOverflow: this.#plane.heldDrops },
      pid: Deno.pid,
    };
  }
}
