/**
 * The engine: commits a {@link TailnetPlan} to the data plane — TUN
 * addresses, WireGuard peers, magicsock's peers and DERP map, routes, the
 * inbound packet filter and MagicDNS — as one step per netmap. The planner
 * has already left out everything that could make a step throw, so a commit
 * never stops half-way on bad input; what the kernel refuses (a route, an
 * address) is logged once and retried on the next commit, while the rest of
 * the plan is applied. Unchanged peers keep their sessions.
 *
 * @module
 */
import { PacketFilter } from "../filter/filter.ts";
import { formatNodePublic } from "../key/node_key.ts";
import { formatPrefix, type IpPrefix, parsePrefix } from "../net/ip.ts";
import type { NetworkMap } from "../netmap/network_map.ts";
import type { MagicPeer } from "../magicsock/magicsock.ts";
import type { DERPMap, FilterRule } from "../netmap/tailcfg.ts";
import type { PeerConfig } from "../wireguard/peer.ts";
import { EMPTY_PLAN, type TailnetPlan } from "./tailnet_plan.ts";

/** What the engine drives: the node's TUN, routes, WireGuard, magicsock and MagicDNS. */
export interface EnginePorts {
  /** The TUN interface. */
  tun: {
    readonly name: string;
    addAddress(p: IpPrefix): void;
    removeAddress(p: IpPrefix): void;
  };
  /** The route table warren owns. */
  routes: { add(p: IpPrefix, ifname: string): void; remove(p: IpPrefix, ifname: string): void };
  /** The WireGuard device. */
  device: {
    addPeer(c: PeerConfig & { allowedIps?: IpPrefix[] }): unknown;
    removePeer(key: Uint8Array): boolean;
  };
  /** magicsock. */
  magic: { setDerpMap(m: DERPMap): void; setPeers(p: MagicPeer[]): void };
  /** MagicDNS (quad-100 and warren's own resolver). */
  dns: { setNetmap(nm: NetworkMap): void };
  /** One line per notable event. */
  log(line: string): void;
  /** Told each new filter's rules and local destinations (a data plane in a Worker builds its own). */
  onFilter?(rules: FilterRule[] | null, localNets: IpPrefix[]): void;
}

/** Applies plans; holds what is committed. */
export class TailnetEngine {
  readonly #ports: EnginePorts;
  /** Extra local destinations for the filter and routes (quad-100). */
  #fixedLocal: readonly IpPrefix[];
  #plan: TailnetPlan = EMPTY_PLAN;
  #filter: PacketFilter | null = null;
  /** `--shields-up`: the filter gets no rules, so only replies to this node's own traffic pass. */
  #shieldsUp = false;
  /** Addresses and routes the kernel took, as text: the next commit diffs against these. */
  readonly #addresses = new Set<string>();
  readonly #routes = new Set<string>();
  /** Failures and skips already logged, so a repeating netmap does not repeat them. */
  #reported = new Set<string>();

  /** An engine over `ports`; `fixedLocal` are destinations the filter always treats as ours. */
  constructor(ports: EnginePorts, fixedLocal: readonly IpPrefix[] = []) {
    this.#ports = ports;
    this.#fixedLocal = fixedLocal;
  }

  /** Replaces the extra local destinations (the subnet router's, after `tun set`); next commit uses them. */
  setFixedLocal(fixedLocal: readonly IpPrefix[]): void {
    this.#fixedLocal = fixedLocal;
  }

  /** Turns shields-up on or off for the next commit (tailscaled's NewShieldsUpFilter). */
  setShieldsUp(on: boolean): void {
    this.#shieldsUp = on;
  }

  /** The plan last committed. */
  get plan(): TailnetPlan {
    return this.#plan;
  }

  /** The inbound packet filter (null before the first commit). */
  get filter(): PacketFilter | null {
    return this.#filter;
  }

  /** Routes installed now, as text. */
  get routes(): string[] {
    return [...this.#routes].sort();
  }

  /**
   * Commits `plan`, computed from `nm`. Steps that the kernel refuses are
   * logged and left for the next commit; nothing here throws on their account.
   */
  apply(plan: TailnetPlan, nm: NetworkMap): void {
    const { tun, routes, device, magic, dns } = this.#ports;
    const before = this.#plan;
    const reported = new Set<string>();
    const report = (line: string) => {
      reported.add(line);
      if (!this.#reported.has(line)) this.#ports.log(line);
    };
    for (const s of plan.skipped) report(`peer ${s.name} skipped: ${s.reason}`);
    for (const d of plan.dropped) report(`route ${d}`);

    // Add our new addresses before taking old ones off, so a renumbered node is never bare.
    const wanted = new Set(plan.addresses.map(formatPrefix));
    for (const a of wanted) {
      if (this.#addresses.has(a)) continue;
      if (this.#try(report, `address ${a}`, () => tun.addAddress(parsePrefix(a)))) {
        this.#addresses.add(a);
      }
    }
    for (const a of [...this.#addresses]) {
      if (wanted.has(a)) continue;
      this.#try(report, `address ${a}`, () => tun.removeAddress(parsePrefix(a)));
      this.#addresses.delete(a);
    }

    if (plan.derpMap) magic.setDerpMap(plan.derpMap);
    magic.setPeers(plan.peers.map((p) => ({
      nodeKey: p.nodeKey,
      homeDerp: p.homeDerp,
      discoKey: p.discoKey,
      endpoints: p.endpoints,
    })));
    const keep = new Set(plan.peers.map((p) => formatNodePublic(p.nodeKey)));
    for (const p of before.peers) {
      if (keep.has(formatNodePublic(p.nodeKey))) continue;
      device.removePeer(p.nodeKey);
      this.#ports.log(`peer ${p.name} removed`);
    }
    const known = new Set(before.peers.map((p) => formatNodePublic(p.nodeKey)));
    for (const p of plan.peers) {
      // addPeer on a known key only updates allowed IPs: sessions survive.
      this.#try(report, `peer ${p.name}`, () => {
        device.addPeer({ publicKey: p.nodeKey, endpoint: p.nodeKey, allowedIps: p.allowedIps });
        if (!known.has(formatNodePublic(p.nodeKey))) this.#ports.log(`peer ${p.name} added`);
      });
    }

    const wantRoutes = new Set(plan.routes);
    for (const r of [...this.#routes]) {
      if (wantRoutes.has(r)) continue;
      this.#try(report, `route ${r}`, () => routes.remove(parsePrefix(r), tun.name));
      this.#routes.delete(r);
    }
    for (const r of plan.routes) {
      if (this.#routes.has(r)) continue;
      if (this.#try(report, `route ${r}`, () => routes.add(parsePrefix(r), tun.name))) {
        this.#routes.add(r);
      }
    }

    // Approved subnets are ours to deliver (the kernel forwards them); an exit route is
    // not taken whole: the subnet router passes it in fixedLocal without the host's LANs.
    const approved = plan.selfRoutes.filter((p) => p.bits !== 0);
    const rules = this.#shieldsUp ? [] : plan.packetFilter ?? [];
    const localNets = [...plan.addresses, ...approved, ...this.#fixedLocal];
    this.#filter = new PacketFilter(rules, { localNets, flows: this.#filter?.flows });
    this.#ports.onFilter?.(rules, localNets);
    for (const p of this.#filter.problems) report(`packet filter: ${p}`);
    dns.setNetmap(plannedView(nm, plan));
    this.#plan = plan;
    this.#reported = reported;
  }

  #try(report: (line: string) => void, what: string, f: () => void): boolean {
    try {
      f();
      return true;
    } catch (e) {
      report(`${what}: ${e instanceof Error ? e.message : e}`);
      return false;
    }
  }
}

/** The netmap as planned: MagicDNS serves the peers the data plane has, no others. */
function plannedView(nm: NetworkMap, plan: TailnetPlan): NetworkMap {
  const ids = new Set(plan.peers.map((p) => p.id));
  if (ids.size === nm.peers.size) return nm;
  return { ...nm, peers: new Map([...nm.peers].filter(([id]) => ids.has(id))) };
}
