/**
 * A node built from a wg-quick config: TUN device, addresses, routes (and a
 * full tunnel's policy rules and socket mark), UDP socket, WireGuard device,
 * data-plane loop and LocalAPI — and the teardown that undoes all of it, on
 * stop and on any failed start.
 *
 * @module
 */
import { Poller } from "../../ffi/poll.ts";
import { TunDevice } from "../../ffi/tun.ts";
import { endpointToString, UdpSocket } from "../../ffi/udp.ts";
import { installResolvConf, renderResolvConf, restoreResolvConf } from "../dns/resolv_conf.ts";
import { formatWgKey } from "../key/wg_key.ts";
import { formatPrefix, type IpPrefix } from "../net/ip.ts";
import { Device } from "../wireguard/device.ts";
import type { Timings } from "../wireguard/timings.ts";
import type { WgConfig } from "../wireguard/wg_quick.ts";
import { DataPlane, tunSink, udpBind, udpSource } from "./dataplane.ts";
import { type LocalApiServer, serveLocalApi } from "./local_api.ts";
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
}

/** UDP socket buffers big enough that a burst does not overflow them. */
const SOCKET_BUFFER = 8 << 20;
const DEFAULT_MTU = 1420;

/** A running node. */
export class WgNode {
  #tun: TunDevice;
  #network: string | undefined;
  #udp: UdpSocket;
  #poller: Poller;
  #routing: InstalledRouting;
  #device: Device;
  #plane: DataPlane;
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
    poller: Poller,
    routing: InstalledRouting,
    device: Device,
    addresses: IpPrefix[],
    fwmark: number,
    log: (line: string) => void,
  ) {
    this.#tun = tun;
    this.#udp = udp;
    this.#poller = poller;
    this.#routing = routing;
    this.#device = device;
    this.#addresses = addresses;
    this.#fwmark = fwmark;
    this.#log = log;
    this.#plane = new DataPlane(device, tun, [udpSource(udp, device, device.mtu)], poller);
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
      const poller = new Poller();
      undo.push(() => poller.close());
      const device = new Device({
        privateKey: config.privateKey,
        bind: udpBind(udp),
        tun: tunSink(tun),
        mtu: config.mtu ?? DEFAULT_MTU,
        timings: opts.timings,
        log: opts.log,
      });
      const node = new WgNode(
        tun,
        udp,
        poller,
        routing,
        device,
        config.addresses,
        plan.fwmark,
        opts.log,
      );
      node.#network = opts.network;
      config.peers.forEach((p, i) =>
        device.addPeer({
          publicKey: p.publicKey,
          presharedKey: p.presharedKey,
          allowedIps: p.allowedIps,
          endpoint: opts.endpoints[i],
          persistentKeepalive: p.persistentKeepalive,
        })
      );
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
      node.#plane.run().catch((e) => {
        opts.log(`data plane failed: ${e instanceof Error ? e.message : e}`);
        void node.stop();
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
      this.#device.close();
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
      this.#poller.close();
      await this.#api?.close();
      this.#resolveDone();
    })();
    return this.#stopping;
  }

  /** A snapshot for the LocalAPI. */
  status(): NodeStatus {
    const dev = this.#device;
    return {
      state: this.#state,
      interface: this.#tun.name,
      ...(this.#network === undefined ? {} : { network: this.#network }),
      publicKey: formatWgKey(dev.publicKey),
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
      peers: dev.peers().map((p) => ({
        publicKey: formatWgKey(p.publicKey),
        endpoint: p.endpoint ? endpointToString(p.endpoint) : null,
        allowedIps: dev.allowedIpsOf(p).map(formatPrefix),
        latestHandshake: Math.floor(p.lastHandshakeWall / 1000),
        rxBytes: p.rxBytes,
        txBytes: p.txBytes,
        persistentKeepalive: p.persistentKeepaliveMs / 1000,
        presharedKey: p.presharedKey !== null,
      })),
      drops: { ...dev.drops },
      pid: Deno.pid,
    };
  }
}
