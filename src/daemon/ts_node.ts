/**
 * A tailnet node: `warren tun up --auth-key`. Logs in to the coordination
 * server, waits for the first netmap, then builds the data plane from it —
 * TUN with the node's addresses and a route per peer prefix (or, in
 * userspace-networking mode, warren's own IP stack holding the addresses),
 * WireGuard keyed with the node key, magicsock over DERP, MagicDNS at
 * quad-100 and the inbound packet filter — and keeps it in step with every
 * map update. The data plane never waits on control: with control down it
 * runs on the last netmap.
 *
 * @module
 */
import { UdpSocket } from "../../ffi/udp.ts";
import { buildHostinfo } from "../control/hostinfo.ts";
import { ControlSession, type SessionState } from "../control/session.ts";
import { generatePrivateKey, publicKeyFrom } from "../crypto/x25519.ts";
import { NodeDns } from "./node_dns.ts";
import { KeyState } from "../key/state.ts";
import { HostCache } from "../net/host_cache.ts";
import { StunProber } from "../magicsock/stun_prober.ts";
import { formatIp, formatPrefix, parsePrefix } from "../net/ip.ts";
import type { NetworkMap } from "../netmap/network_map.ts";
import type { Hostinfo } from "../netmap/tailcfg.ts";
import {
  type LocalApiHandlers,
  type LocalApiServer,
  serveLocalApi,
  serveLocalApiAt,
} from "./local_api.ts";
import type { NodeStatus } from "./status.ts";
import { buildTailnetStatus } from "./tailnet_status.ts";
import { discoPingResponse, pingPeer } from "./peer_ping.ts";
import { type NetworkWatch, watchNetwork } from "./netmon.ts";
import { EMPTY_PLAN, TailnetPlanner } from "./tailnet_plan.ts";
import { TailnetEngine } from "./engine.ts";
import { removeStaleRouterTable, startSubnetRouter, type SubnetRouter } from "./subnet_router.ts";
import { type ExitNodeControl, exitNodeControl, type ExitNodePrefs } from "./exit_node.ts";
import { BYPASS_MARK, setBypassMark } from "../net/bypass_dial.ts";
import type { TsNodeOptions } from "./ts_node_options.ts";
import { optionsWithPrefs, prefsFromOptions, PrefsStore } from "./prefs.ts";
import { advertisesExitNode, type ExitNodeChoice, LivePrefs } from "./live_prefs.ts";
import { PrefsError } from "../localapi/prefs.ts";
import { nodeLivePorts } from "./node_live_ports.ts";
import { NodePaths } from "./node_paths.ts";
import { type Netstack, type NodeLink, openTunLink, USERSPACE_NETWORKING } from "./node_link.ts";
import { type NodePlane, startNodePlane } from "./node_plane.ts";

/** Tailscale's default TUN MTU (DefaultTUNMTU). */
export const TAILNET_MTU = 1280;
/** How long `tun up` keeps trying an unreachable coordination server before giving up. */
export const LOGIN_TIMEOUT_MS = 30_000;
/** quad-100, MagicDNS's resolver address, routed into the TUN. */
const QUAD100 = ["100.100.100.100/32", "fd7a:115c:a1e0::53/128"].map((q) => parsePrefix(q));

export type { TsNodeOptions } from "./ts_node_options.ts";

/** A running tailnet node. */
export class TsNode {
  readonly #opts: TsNodeOptions;
  readonly #session: ControlSession;
  readonly #disco = generatePrivateKey();
  #hostinfo: Hostinfo;
  #link: NodeLink | null = null;
  #netmon: NetworkWatch | null = null;
  #sock: UdpSocket | null = null;
  #prober: StunProber | null = null;
  #plane: NodePlane | null = null;
  #api: LocalApiServer | null = null;
  #socketApi: LocalApiServer | null = null;
  readonly #planner: TailnetPlanner;
  #engine: TailnetEngine | null = null;
  #router: SubnetRouter | null = null;
  readonly #exit: ExitNodeControl;
  #paths: NodePaths | null = null;
  #derpMap: NetworkMap["derpMap"] = null;
  /** Names of STUN and DERP servers, resolved through MagicDNS first and cached. */
  readonly #hosts = new HostCache({ resolve: (h) => this.#resolveHost(h) });
  #netmap: NetworkMap | null = null;
  readonly #dns: NodeDns;
  #state: SessionState | "NoState" = "NoState";
  #stopping: Promise<void> | null = null;
  #firstMap!: (nm: NetworkMap) => void;
  #timers: ReturnType<typeof setInterval>[] = [];
  #loggedIn = false;
  #lastError: Error | null = null;
  readonly #prefs: PrefsStore;
  #live: LivePrefs | null = null;
  /** Settles when the node has stopped and cleaned up. */
  readonly done: Promise<void>;
  #resolveDone!: () => void;

  private constructor(opts: TsNodeOptions, state: KeyState, prefs: PrefsStore) {
    this.#opts = opts;
    this.#prefs = prefs;
    this.done = new Promise((r) => this.#resolveDone = r);
    this.#dns = new NodeDns(opts.log);
    this.#planner = new TailnetPlanner({ acceptRoutes: opts.acceptRoutes });
    this.#exit = exitNodeControl(opts, () => advertisesExitNode(prefs.current.AdvertiseRoutes));
    // As tailscaled: RoutableIPs only when something is offered, sent at register and after.
    const routable = (opts.advertiseRoutes ?? []).map(formatPrefix);
    this.#hostinfo = buildHostinfo({
      backendLogID: state.backendLogID,
      hostname: opts.hostname,
      extra: {
        ...(routable.length > 0 ? { RoutableIPs: routable } : {}),
        ...(prefs.current.ShieldsUp ? { ShieldsUp: true } : {}),
      },
    });
    this.#session = new ControlSession({
      controlUrl: opts.controlUrl,
      state,
      hostinfo: this.#hostinfo,
      discoKey: publicKeyFrom(this.#disco),
      authKey: opts.authKey,
      ephemeral: opts.ephemeral,
      forceReauth: opts.forceReauth,
      onNetmap: (nm) => this.#onNetmap(nm),
      onState: (s) => {
        this.#state = s;
        opts.log(`control: ${s}`);
      },
      onAuthURL: opts.onAuthUrl,
      discoPing: (ip) => {
        const nm = this.#netmap, magic = this.#plane?.magic;
        if (!nm || !magic) return Promise.reject(new Error("the data plane is not up yet"));
        return discoPingResponse(nm, ip, (k) => magic.ping(k));
      },
      log: opts.log,
      onError: (e) => {
        // Before the first login, failures are kept for the one line start() reports.
        if (this.#loggedIn) opts.log(e.message);
        else this.#lastError = e;
      },
    });
  }

  /** Logs in, builds the data plane from the first netmap, and serves the LocalAPI. */
  static async start(opts: TsNodeOptions): Promise<TsNode> {
    const state = await KeyState.open(opts.stateDir);
    const prefs = await PrefsStore.open(state, opts.givenPrefs ?? prefsFromOptions(opts));
    const node = new TsNode(optionsWithPrefs(opts, prefs.current), state, prefs);
    // As tailscaled's netns: warren's own sockets skip an exit node's routes (exit_routing.ts).
    if (!opts.userspace) setBypassMark(BYPASS_MARK);
    const first = new Promise<NetworkMap>((r) => node.#firstMap = r);
    try {
      await node.#login(opts.loginTimeoutMs ?? LOGIN_TIMEOUT_MS);
      const nm = await first;
      await node.#build(state.nodeKey, nm);
      return node;
    } catch (e) {
      await node.#teardown();
      throw e;
    }
  }

  /**
   * Logs in. A server that stays unreachable (or keeps failing) for `timeoutMs`
   * fails the start with its last error; waiting for interactive approval
   * does not count against the deadline.
   */
  async #login(timeoutMs: number): Promise<void> {
    let timer: ReturnType<typeof setInterval> | undefined;
    const deadline = Date.now() + timeoutMs;
    const gaveUp = new Promise<never>((_, reject) => {
      timer = setInterval(() => {
        if (this.#state === "NeedsLogin" || Date.now() < deadline) return;
        reject(
          this.#lastError ??
            new Error(`control: no answer from ${this.#opts.controlUrl} in ${timeoutMs / 1000} s`),
        );
      }, 250);
    });
    try {
      await Promise.race([this.#session.start(), gaveUp]);
      this.#loggedIn = true;
    } finally {
      clearInterval(timer);
    }
  }

  /** The interface name, or "userspace-networking". */
  get interfaceName(): string {
    return this.#link?.name ?? (this.#opts.userspace ? USERSPACE_NETWORKING : this.#opts.tun);
  }

  /** The userspace stack (userspace mode, once up): TCP and the proxies plug in here. */
  get netstack(): Netstack | null {
    return this.#link?.netstack ?? null;
  }

  /** Whether an exit node is chosen (the userspace proxies then send everything through it). */
  exitNodeActive(): boolean {
    return this.#exit.active;
  }

  /** MagicDNS in process (for the proxies): a tailnet name's first address, or null. */
  resolveTailnet(name: string): string | null {
    const ip = this.#dns.tailnetAddresses(name)?.[0];
    return ip ? formatIp(ip) : null;
  }

  /** Stops everything and removes the interface and every route. Idempotent. */
  stop(): Promise<void> {
    this.#stopping ??= this.#teardown().then(() => this.#resolveDone());
    return this.#stopping;
  }

  async #build(nodePrivate: Uint8Array, nm: NetworkMap): Promise<void> {
    const opts = this.#opts;
    const link = this.#link = opts.userspace
      ? (await import("./netstack_link.ts")).openNetstackLink(TAILNET_MTU, opts.log)
      : openTunLink(opts.tun, TAILNET_MTU, QUAD100);
    const sock = this.#sock = UdpSocket.bind(opts.port);
    if (link.mode === "tun") sock.setMark(BYPASS_MARK);
    const prober = this.#prober = new StunProber((p, to) => plane.udp.sendOne(p, to));
    const plane: NodePlane = this.#plane = await startNodePlane({
      link,
      sock,
      nodePrivate,
      discoPrivate: this.#disco,
      mtu: TAILNET_MTU,
      plainDerp: opts.plainDerp,
      tunables: opts.tunables,
      timings: opts.timings,
      resolveHost: (host) => this.#resolveHost(host),
      stun: (p) => prober.handle(p),
      dns: (query) =>
        this.#dns.answer(query, (resp) => link.device.writeBatch([resp], [resp.length], 0, 1)),
      filter: () => this.#engine?.filter ?? null,
      log: opts.log,
      rest: opts.planeRest,
      released: opts.afterPlaneSleep,
    }, (message) => {
      opts.log(`data plane failed: ${message}`);
      void this.stop();
    });
    const magic = plane.magic;
    const router = this.#router = startSubnetRouter({
      advertised: opts.advertiseRoutes ?? [],
      snat: opts.snatSubnetRoutes ?? true,
      tun: link.name,
      kernel: link.mode === "tun",
      netstack: link.netstack?.ip,
      log: opts.log,
    });
    if (!router && link.mode === "tun") removeStaleRouterTable(link.name, opts.log);
    this.#engine = new TailnetEngine({
      tun: link,
      routes: link.routes,
      device: plane.device,
      magic,
      dns: this.#dns,
      log: opts.log,
      onFilter: (rules, localNets) => plane.onFilter(rules, localNets),
    }, [...QUAD100, ...(router?.localNets() ?? [])]);
    const live = this.#live = new LivePrefs(
      this.#prefs,
      nodeLivePorts({
        link,
        snat: opts.snatSubnetRoutes ?? true,
        fixedLocal: QUAD100,
        planner: this.#planner,
        engine: () => this.#engine,
        router: { get: () => this.#router, set: (r) => this.#router = r },
        dns: this.#dns,
        session: this.#session,
        pushHostinfo: (patch) => this.#pushHostinfo(patch),
        replan: () => this.#netmap && this.#apply(this.#netmap),
        corpDns: () => this.#prefs.current.CorpDNS,
        setExitNode: (c) => this.#liveExitNode(c),
        exitNodeActive: () => this.#exit.active,
        log: opts.log,
      }),
    );
    this.#engine.setShieldsUp(live.prefs.ShieldsUp);
    this.#apply(nm);
    this.#timers.push(
      setInterval(() => magic.sweep(), 10_000),
      setInterval(() => void this.#paths?.discover(), 30_000),
    );
    this.#netmon = watchNetwork({
      ignoreIfindex: link.ifindex,
      onChange: () => this.#linkChanged(),
      log: opts.log,
    });
    let tailscaleApi: Promise<(req: Request) => Promise<Response>> | undefined;
    const api: LocalApiHandlers = {
      status: () => this.freshStatus(),
      down: () => void this.stop(),
      ping: (peer) => this.#ping(peer),
      netcheck: () => this.#paths?.report() ?? Promise.reject(new Error("not running")),
      // Loaded with the first request: most nodes never meet the stock `tailscale` CLI.
      tailscale: async (req) => {
        tailscaleApi ??= Promise.all([
          import("../localapi/handler.ts"),
          import("./ts_localapi.ts"),
        ]).then(([{ localApiHandler }, { tsLocalApiNode }]) =>
          localApiHandler(tsLocalApiNode({
            netmap: () => this.#netmap,
            status: () => this.status(),
            endpoints: () => this.#paths?.endpoints ?? [],
            ping: (key) => magic.ping(key),
            options: opts,
            live,
            tun: link.mode === "tun",
            exitNode: () => this.#exit.status(),
          }))
        );
        await plane.refresh();
        return (await tailscaleApi)(req);
      },
    };
    // Userspace networks share no interface name: a config file's each get a socket of their own.
    const socketName = link.mode === "tun" || opts.network === undefined
      ? link.name
      : `${link.name}-${opts.network}`;
    if (opts.localApi !== false) this.#api = await serveLocalApi(socketName, api);
    if (opts.socket) this.#socketApi = await serveLocalApiAt(opts.socket, api);
    // As tailscaled's userspace mode (no OS DNS configurator): MagicDNS serves warren itself only.
    if (opts.acceptDns && link.mode === "tun") await this.#dns.acceptDns();
    this.#paths = new NodePaths({
      magic,
      udp: plane.udp,
      prober,
      hosts: this.#hosts,
      netmap: () => this.#netmap,
      plainDerp: opts.plainDerp,
      netInfo: () => this.#hostinfo.NetInfo,
      pushHostinfo: (patch) => this.#pushHostinfo(patch),
      setEndpoints: (addrs, types) => this.#session.setEndpoints(addrs, types),
      stopping: () => this.#stopping !== null,
      watched: this.#netmon !== null,
      log: opts.log,
    });
  }

  #onNetmap(nm: NetworkMap): void {
    this.#netmap = nm;
    if (!nm.self) return;
    if (this.#link === null) {
      this.#firstMap(nm);
      return;
    }
    this.#apply(nm);
  }

  /** Plans the netmap whole, then commits it; unchanged peers keep their sessions. */
  #apply(nm: NetworkMap): void {
    const planned = this.#planner.planNetmap(nm, this.#exit.resolve(nm));
    // Stopped (`tailscale down`): no peers, addresses or routes until it runs again.
    const plan = planned && this.#live?.running === false
      ? { ...EMPTY_PLAN, derpMap: planned.derpMap }
      : planned;
    if (!plan || !this.#engine) return;
    try {
      this.#engine.apply(plan, nm);
    } catch (e) {
      // The planner leaves out what could fail; reaching this is a bug, not bad input.
      this.#opts.log(`netmap update failed: ${e instanceof Error ? e.message : e}`);
    }
    this.#exit.commit();
    this.#plane?.setSelf(nm.self?.Addresses ?? []);
    // A new DERP map, or a home region it no longer has: measure again now, not in 20 s.
    const derp = this.#plane!.magic.derp;
    const newMap = nm.derpMap !== this.#derpMap;
    this.#derpMap = nm.derpMap;
    if (newMap || derp.home === 0 || !derp.regions.includes(derp.home)) this.#paths?.remeasure();
  }

  /** A link or address changed: rediscover endpoints, re-measure DERP, re-verify every path. */
  #linkChanged(): void {
    this.#exit.commit(); // the LAN that --exit-node-allow-lan-access keeps direct may differ
    this.#plane?.magic.resetPaths();
    void this.#paths?.linkChanged();
    this.#paths?.remeasure();
  }

  /** Replaces Hostinfo fields and tells control; a failure waits for the next map request. */
  async #pushHostinfo(patch: Partial<Hostinfo>): Promise<void> {
    this.#hostinfo = { ...this.#hostinfo, ...patch };
    await this.#session.setHostinfo(this.#hostinfo).catch((e) =>
      this.#opts.log(`control: reporting Hostinfo failed: ${e.message}`)
    );
  }

  /** warren's own lookups go through MagicDNS first (a DERP server may have a tailnet name). */
  async #resolveHost(host: string): Promise<string | null> {
    const [ip] = await this.#dns.resolver.resolve(host);
    return ip ? formatIp(ip) : null;
  }

  async #teardown(): Promise<void> {
    const log = this.#opts.log;
    const step = async (what: string, f: () => unknown) => {
      try {
        await f();
      } catch (e) {
        log(`teardown: ${what}: ${e instanceof Error ? e.message : e}`);
      }
    };
    this.#state = "Stopped";
    for (const t of this.#timers) clearInterval(t);
    this.#paths?.stop();
    await step("network monitor", () => this.#netmon?.close());
    this.#prober?.close();
    await step("control", () => this.#session.close());
    if (this.#plane) await step("data plane", () => this.#plane!.stop());
    await step("resolv.conf", () => this.#dns.close());
    await step("derp", () => this.#plane?.magic.close());
    await step("udp", () => this.#sock?.close());
    await step("nftables", () => this.#router?.close());
    await step("exit node routing", () => this.#exit.close());
    await step(
      this.#link?.mode === "tun" ? "routes and tun" : "netstack",
      () => this.#link?.close(),
    );
    await step("local api", () => this.#api?.close());
    await step("--socket", () => this.#socketApi?.close());
  }

  /**
   * Changes the exit node at runtime (`tun set --exit-node`): `{ exitNode: "" }` stops using
   * one. Re-plans the current netmap at once; sessions are kept.
   *
   * @throws {TypeError} with tailscale's message for a refused choice (nothing changes then)
   */
  setExitNode(prefs: Partial<ExitNodePrefs>): void {
    this.#exit.set(prefs);
    if (this.#netmap) this.#apply(this.#netmap);
  }

  /** `tun set --exit-node` / PATCH prefs: the chosen peer's StableID, as its Tailscale IP. */
  #liveExitNode(c: ExitNodeChoice): Promise<void> {
    let exitNode = "";
    if (c.id !== "") {
      const peer = [...(this.#netmap?.peers.values() ?? [])].find((p) => p.StableID === c.id);
      const ip = peer?.Addresses?.[0]?.split("/")[0];
      if (!ip) return Promise.reject(new PrefsError(`no node found in netmap with ID ${c.id}`));
      exitNode = ip;
    }
    try {
      this.setExitNode({ exitNode, allowLanAccess: c.allowLanAccess });
    } catch (e) {
      return Promise.reject(new PrefsError(e instanceof Error ? e.message : String(e)));
    }
    return Promise.resolve();
  }

  /** Disco ping to a peer named by MagicDNS name, short name or address. */
  #ping(target: string): Promise<unknown> {
    const nm = this.#netmap, magic = this.#plane?.magic;
    if (!nm || !magic) return Promise.reject(new Error("not running"));
    return pingPeer(nm, target, (k) => magic.ping(k));
  }

  /**
   * A snapshot, with the WireGuard counters as last read from the data plane: in its Worker
   * they are read by {@linkcode freshStatus} (the LocalAPI's), on the main thread always now.
   */
  status(): NodeStatus {
    const plane = this.#plane;
    return buildTailnetStatus({
      state: this.#live?.prefs.LoggedOut
        ? "NeedsLogin"
        : this.#state === "Running" && this.#link
        ? "Running"
        : mapState(this.#state),
      interface: this.interfaceName,
      network: this.#opts.network,
      mode: this.#link?.mode ?? (this.#opts.userspace ? USERSPACE_NETWORKING : "tun"),
      dataPlane: plane?.mode,
      ...(plane?.asleep ? { dataPlaneAsleep: true } : {}),
      netstack: this.#link?.counters() ?? null,
      controlUrl: this.#opts.controlUrl,
      mtu: TAILNET_MTU,
      netmap: this.#netmap,
      plan: this.#engine?.plan ?? EMPTY_PLAN,
      device: plane?.view() ?? null,
      magic: plane?.magic ?? null,
      listenPort: plane?.udp.port ?? 0,
      routes: this.#link?.installedRoutes() ?? [],
      homeLatencyMs: this.#paths?.homeLatencyMs ?? null,
      filterStats: plane?.filterStats() ?? null,
      noPath: plane?.noPath() ?? 0,
      heldOverflow: plane?.heldDrops,
      subnetRouter: this.#router?.status(this.#netmap?.self),
      exitNode: this.#exit.status(),
    });
  }

  /** {@linkcode status} with the data plane's counters read now. */
  async freshStatus(): Promise<NodeStatus> {
    await this.#plane?.refresh().catch(() => {});
    return this.status();
  }
}

function mapState(s: SessionState | "NoState"): NodeStatus["state"] {
  return s === "Running" ? "Starting" : s;
}
