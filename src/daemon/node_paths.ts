/**
 * How a tailnet node finds its ways out: endpoint discovery (STUN through the node's own
 * socket plus local addresses, reported to control when they change) and the DERP home
 * (netcheck's latency rounds, the home moved only when clearly better, reported as
 * `NetInfo.PreferredDERP`), and the on-demand netcheck report `tun netcheck` shows.
 *
 * @module
 */
import { discoverEndpoints, type Endpoint, localEndpoints } from "../magicsock/endpoints.ts";
import { type MeasureOptions, measureRegions, type RegionLatency } from "../magicsock/derp_home.ts";
import type { Magicsock } from "../magicsock/magicsock.ts";
import { NetcheckLoop } from "../magicsock/netcheck_loop.ts";
import type { StunProber } from "../magicsock/stun_prober.ts";
import type { HostCache } from "../net/host_cache.ts";
import { Rerunner } from "../net/rerunner.ts";
import type { NetworkMap } from "../netmap/network_map.ts";
import type { Hostinfo } from "../netmap/tailcfg.ts";

/** What the discovery works with: the node's parts, and how it tells control. */
export interface NodePathsParts {
  /** The node's magicsock (its DERP links). */
  magic: Magicsock;
  /** The node's UDP socket. */
  udp: { readonly port: number };
  /** STUN over that socket. */
  prober: StunProber;
  /** Resolves STUN and DERP host names (MagicDNS first), cached. */
  hosts: HostCache;
  /** The current netmap. */
  netmap(): NetworkMap | null;
  /** DERP over plain HTTP. */
  plainDerp: boolean;
  /** The NetInfo last sent to control. */
  netInfo(): Hostinfo["NetInfo"];
  /** Sends control a Hostinfo with these fields replaced. */
  pushHostinfo(patch: Partial<Hostinfo>): Promise<void>;
  /** Reports the node's endpoints to control. */
  setEndpoints(addrs: string[], types: number[]): Promise<void>;
  /** Whether the node is stopping (nothing more is reported then). */
  stopping(): boolean;
  /**
   * Whether a network monitor calls {@link NodePaths.linkChanged} on every link or address
   * change: then the host's addresses are read once and again only after a change.
   */
  watched?: boolean;
  /** One line per notable event. */
  log(line: string): void;
}

/** Endpoint discovery and the DERP home of a running node. */
export class NodePaths {
  readonly #p: NodePathsParts;
  readonly #discoverer: Rerunner;
  readonly #netcheck: NetcheckLoop;
  /** The endpoints last reported to control. */
  endpoints: string[] = [];
  /** The home region's last measured latency, null before one. */
  homeLatencyMs: number | null = null;
  /**
   * The host's own endpoints, kept between rounds while a monitor watches for changes: reading
   * them (`Deno.networkInterfaces()`) every 30 s brought ~1 MB of the runtime's code back into
   * an idle node's memory, for an answer that only a change the monitor reports can alter.
   */
  #local: { port: number; endpoints: Endpoint[] } | null = null;

  /** Starts the netcheck loop (DERP latency every 20–26 s and on demand) and a discovery. */
  constructor(parts: NodePathsParts) {
    this.#p = parts;
    this.#discoverer = new Rerunner(
      () => this.#discoverOnce(),
      (e) => parts.log(`endpoint discovery failed: ${e instanceof Error ? e.message : e}`),
    );
    const magic = parts.magic;
    this.#netcheck = new NetcheckLoop({
      measure: () => {
        const map = parts.netmap()?.derpMap;
        return map
          ? measureRegions(map, parts.plainDerp, this.#measureOptions())
          : Promise.resolve([]);
      },
      home: () => magic.derp.home,
      scores: () => parts.netmap()?.derpMap?.HomeParams?.RegionScore,
      lastHeard: (region) => magic.derp.lastHeard(region),
      setHome: (region, measured) => this.#setHome(region, measured),
      onReport: (r) => {
        const home = r.regions.find((m) => m.regionId === magic.derp.home);
        if (home) this.homeLatencyMs = home.latencyMs;
        // Nothing answered (UDP blocked, say): any region beats none, so take the lowest.
        if (r.preferred === 0 && magic.derp.home === 0 && !parts.stopping()) {
          const lowest = magic.derp.regions.sort((x, y) => x - y)[0];
          if (lowest) void this.#setHome(lowest, r.regions);
        }
      },
      log: parts.log,
    });
    this.#netcheck.start();
    void this.discover();
  }

  /** The host's links or addresses changed: read them again, and discover now. */
  linkChanged(): Promise<void> {
    this.#local = null;
    return this.discover();
  }

  /** Endpoint discovery, one round at a time (see {@link Rerunner}). */
  discover(): Promise<void> {
    return this.#discoverer.request();
  }

  /** Measures DERP regions again now (a new DERP map, a link change). */
  remeasure(): void {
    void this.#netcheck.request();
  }

  /** A netcheck report from this node's own socket and DERP map. */
  async report(): Promise<unknown> {
    const nm = this.#p.netmap();
    if (!nm?.derpMap) throw new Error("no DERP map yet");
    const [d, regions] = await Promise.all([
      discoverEndpoints(this.#p.prober, nm.derpMap, this.#p.udp.port, { hosts: this.#p.hosts }),
      measureRegions(nm.derpMap, this.#p.plainDerp, this.#measureOptions()),
    ]);
    return {
      udp: d.udp,
      endpoints: d.endpoints,
      mappingVariesByDestIp: d.mappingVariesByDestIp,
      regions,
      preferredDerp: this.#p.magic.derp.home,
    };
  }

  #localEndpoints(port: number): Endpoint[] {
    if (!this.#p.watched) return localEndpoints(port);
    if (this.#local?.port !== port) this.#local = { port, endpoints: localEndpoints(port) };
    return this.#local.endpoints;
  }

  /** Stops discovery and the netcheck loop. */
  stop(): void {
    this.#discoverer.stop();
    this.#netcheck.stop();
  }

  /** DERP latency probes: STUN from the node's own socket, marked past an exit node. */
  #measureOptions(): MeasureOptions {
    const prober = this.#p.prober;
    return { hosts: this.#p.hosts, stun: (ip, port, t) => prober.rtt(ip, port, t) };
  }

  /** Makes `home` the home region and tells control (NetInfo.PreferredDERP and latencies). */
  async #setHome(home: number, measured: RegionLatency[]): Promise<void> {
    if (this.#p.stopping()) return;
    this.homeLatencyMs = measured.find((m) => m.regionId === home)?.latencyMs ?? null;
    this.#p.magic.derp.setHome(home);
    this.#p.log(
      `home DERP: region ${home}` +
        (this.homeLatencyMs !== null ? ` (${this.homeLatencyMs.toFixed(1)} ms)` : ""),
    );
    const latency: Record<string, number> = {};
    for (const m of measured) {
      if (m.latencyMs !== null) latency[`${m.regionId}-v4`] = m.latencyMs / 1000;
    }
    await this.#p.pushHostinfo({
      NetInfo: { ...this.#p.netInfo(), PreferredDERP: home, DERPLatency: latency },
    });
  }

  /** One discovery round: STUN through our socket plus local addresses; tells control on change. */
  async #discoverOnce(): Promise<void> {
    const p = this.#p, nm = p.netmap();
    if (!nm?.derpMap || p.stopping()) return;
    const d = await discoverEndpoints(p.prober, nm.derpMap, p.udp.port, {
      hosts: p.hosts,
      local: (port) => this.#localEndpoints(port),
    });
    const addrs = d.endpoints.map((e) => e.addr);
    if (addrs.join(",") === this.endpoints.join(",") || p.stopping()) return;
    this.endpoints = addrs;
    p.magic.setLocalEndpoints(addrs);
    p.log(`endpoints: ${addrs.join(" ") || "(none)"}`);
    await p.setEndpoints(addrs, d.endpoints.map((e) => e.type)).catch((e) =>
      p.log(`control: reporting endpoints failed: ${e.message}`)
    );
  }
}
