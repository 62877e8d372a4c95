/**
 * The node's DERP connections: one to the home region (marked preferred,
 * so peers reach us there), and on-demand ones to the regions peers live in,
 * closed again after a minute without traffic, as magicsock does.
 *
 * @module
 */
import type { DerpClient, DerpMessage } from "../derp/client.ts";
import { DerpLink } from "../derp/link.ts";
import type { DERPMap } from "../netmap/tailcfg.ts";
import { type DerpTarget, derpTargets } from "./derp_region.ts";

/** Close a non-home link after this long without sending (tailscaled: derpInactiveCleanupTime). */
export const DERP_IDLE_MS = 60_000;

/** At most one "write queue full" line per region this often; the count says how many. */
export const DERP_DROP_LOG_INTERVAL_MS = 10_000;

/** Options for {@link DerpLinks}. */
export interface DerpLinksOptions {
  /** Node private key: the DERP identity. */
  privateKey: Uint8Array;
  /** Dial DERP over plain HTTP (TS_DEBUG_USE_DERP_HTTP=1 / --derp-http). */
  plainHttp: boolean;
  /** A packet arrived from `src` over region `region`. */
  onPacket: (region: number, src: Uint8Array, data: Uint8Array) => void;
  /** A peer left the region's server (PeerGone). */
  onPeerGone?: (region: number, key: Uint8Array, reason: number) => void;
  /** One line per event. */
  log: (line: string) => void;
  /** Idle timeout for non-home links. */
  idleMs?: number;
  /** Resolves DERP host names (warren's own resolver); the system resolver otherwise. */
  resolveHost?: (host: string) => Promise<string | null>;
  /** Monotonic clock. */
  now?: () => number;
}

interface Entry {
  link: DerpLink;
  target: DerpTarget;
  lastUsed: number;
  /** link.dropped when the last drop was logged, and when. */
  droppedLogged: number;
  dropLoggedAt: number;
  /** When a frame last came from the server, null if none yet. */
  lastHeard: number | null;
}

/** DERP links by region. */
export class DerpLinks {
  readonly #opts: DerpLinksOptions;
  readonly #links = new Map<number, Entry>();
  #targets = new Map<number, DerpTarget>();
  #home = 0;
  #now: () => number;

  /** Creates the manager; nothing is dialled until a map and a home are set. */
  constructor(opts: DerpLinksOptions) {
    this.#opts = opts;
    this.#now = opts.now ?? (() => performance.now());
  }

  /** The home region, 0 if none. */
  get home(): number {
    return this.#home;
  }

  /** Region IDs the map offers. */
  get regions(): number[] {
    return [...this.#targets.keys()];
  }

  /**
   * When a frame last arrived from region `region`'s server (clock of `now`), null if
   * none or no link: netcheck's sign that a home without a STUN answer still works.
   */
  lastHeard(region: number): number | null {
    return this.#links.get(region)?.lastHeard ?? null;
  }

  /** The dial target of a region. */
  target(region: number): DerpTarget | undefined {
    return this.#targets.get(region);
  }

  /** Adopts a new DERP map: links to vanished or changed regions are closed. */
  setMap(map: DERPMap): void {
    this.#targets = derpTargets(map, this.#opts.plainHttp);
    for (const [region, e] of this.#links) {
      const t = this.#targets.get(region);
      if (!t || JSON.stringify(t) !== JSON.stringify(e.target)) this.#drop(region);
    }
    if (this.#home !== 0 && !this.#targets.has(this.#home)) this.#home = 0;
  }

  /** Makes `region` home: connected and preferred; the old home becomes an ordinary link. */
  setHome(region: number): void {
    if (region === this.#home) return;
    this.#links.get(this.#home)?.link.setPreferred(false);
    this.#home = region;
    const e = this.#ensure(region);
    e?.link.setPreferred(true);
  }

  /** Sends `packet` to `dst` through region `region`'s server; false if it can't be sent now. */
  send(region: number, dst: Uint8Array, packet: Uint8Array): boolean {
    const e = this.#links.get(region) ?? this.#ensure(region);
    if (!e) return false;
    const now = e.lastUsed = this.#now();
    const ok = e.link.send(dst, packet);
    const dropped = e.link.dropped;
    if (dropped !== e.droppedLogged && now - e.dropLoggedAt >= DERP_DROP_LOG_INTERVAL_MS) {
      this.#opts.log(
        `derp-${region}: write queue full; dropped ${
          dropped - e.droppedLogged
        } packets (${dropped} in all)`,
      );
      e.droppedLogged = dropped;
      e.dropLoggedAt = now;
    }
    return ok;
  }

  /** Closes non-home links idle for longer than the timeout. */
  sweep(): void {
    const idle = this.#opts.idleMs ?? DERP_IDLE_MS;
    const now = this.#now();
    for (const [region, e] of this.#links) {
      if (region !== this.#home && now - e.lastUsed > idle) {
        this.#opts.log(`derp-${region}: closing idle connection`);
        this.#drop(region);
      }
    }
  }

  /** Connection state per open link; `dropped` counts packets a full write queue shed. */
  status(): { region: number; connected: boolean; home: boolean; dropped: number }[] {
    return [...this.#links].map(([region, e]) => ({
      region,
      connected: e.link.connected,
      home: region === this.#home,
      dropped: e.link.dropped,
    }));
  }

  /** Closes every link. */
  async close(): Promise<void> {
    const all = [...this.#links.values()];
    this.#links.clear();
    await Promise.all(all.map((e) => e.link.close()));
  }

  #ensure(region: number): Entry | null {
    const existing = this.#links.get(region);
    if (existing) return existing;
    const target = this.#targets.get(region);
    if (!target) return null;
    const { log, onPacket, onPeerGone, privateKey } = this.#opts;
    const link = new DerpLink({
      url: target.url,
      dialHost: target.dialHost,
      certName: target.certName,
      insecureForTests: target.insecureForTests,
      alternates: target.alternates,
      resolveHost: this.#opts.resolveHost,
      privateKey,
      preferred: region === this.#home,
      logf: (line) => log(`derp-${region}: ${line}`),
      onMessage: (msg: DerpMessage, _c: DerpClient) => {
        e.lastHeard = this.#now();
        if (msg.type === "packet") onPacket(region, msg.src, msg.data);
        else if (msg.type === "peerGone") onPeerGone?.(region, msg.key, msg.reason);
      },
    });
    const e: Entry = {
      link,
      target,
      lastUsed: this.#now(),
      droppedLogged: 0,
      dropLoggedAt: -Infinity,
      lastHeard: null,
    };
    this.#links.set(region, e);
    link.start();
    return e;
  }

  #drop(region: number): void {
    const e = this.#links.get(region);
    if (!e) return;
    this.#links.delete(region);
    void e.link.close();
  }
}
