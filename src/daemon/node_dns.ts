/**
 * A tailnet node's DNS: MagicDNS answered in process at quad-100 (for packets the
 * TUN hands over), the same table for warren's own lookups (DERP and control
 * host names), and — with `--accept-dns` — /etc/resolv.conf pointed at quad-100,
 * kept in step with the netmap's search domains and put back on stop. Names outside the
 * tailnet go to control's resolvers, or — when control names none — to the name servers
 * resolv.conf had before warren replaced it, so accepting DNS never leaves the host
 * without a resolver (as tailscaled's direct resolv.conf manager does).
 *
 * @module
 */

import type { NetworkMap } from "../netmap/network_map.ts";
import { MagicDnsTable } from "../dns/magicdns.ts";
import { HostResolver } from "../dns/resolve.ts";
import { isQuad100Query, Quad100Responder } from "../dns/quad100.ts";
import { parseDnsMessage } from "../dns/message.ts";
import { parsePacket } from "../net/packet.ts";
import type { DNSResolver } from "../netmap/tailcfg.ts";
import {
  installResolvConf,
  readBaseNameservers,
  renderResolvConf,
  type ResolvConfOptions,
  restoreResolvConf,
} from "../dns/resolv_conf.ts";
import type { DnsForwarder } from "../dns/quad100.ts";
import { UdpDnsForwarder } from "./dns_forwarder.ts";

/** The address resolv.conf points at. */
const QUAD100_V4 = "100.100.100.100";

/** At most one "queries dropped" line this often. */
const DROP_LOG_INTERVAL_MS = 10_000;

/** Test seams of {@link NodeDns}. */
export interface NodeDnsOptions {
  /** Which resolv.conf to manage; default /etc/resolv.conf. */
  resolvConf?: ResolvConfOptions;
  /** Forwards queries for names outside the tailnet; default a {@link UdpDnsForwarder}. */
  forwarder?: { forward: DnsForwarder; readonly full: boolean; close(): void };
}

/**
 * The NodeDns of every node in this process. Several tailnets in one process (`tun up
 * --config`) share one quad-100 address, which the kernel routes to one TUN only; the node
 * that gets a query for a name in another's zone has that node answer it.
 */
const PROCESS_NODES = new Set<NodeDns>();

/** MagicDNS for one node. */
export class NodeDns {
  /** Resolves host names for warren itself: tailnet names first, then the system's. */
  readonly resolver: HostResolver = new HostResolver();
  readonly #forwarder: NonNullable<NodeDnsOptions["forwarder"]>;
  readonly #resolvConfOpts: ResolvConfOptions;
  #table = MagicDnsTable.fromNetmap(null, [], null);
  #responder: Quad100Responder;
  /** Where names go when control names no resolvers: the host's own, once known. */
  #base: DNSResolver[] = [];
  /** Queries dropped because the forwarder was full, and when that was last logged. */
  dropped = 0;
  #droppedLogged = 0;
  #dropLoggedAt = -Infinity;
  readonly #log: (line: string) => void;
  #resolvConf = false;
  #resolvConfText = "";
  #writes: Promise<void> = Promise.resolve();
  #closed = false;
  #domains: string[] = [];

  /** Creates the responder; nothing touches the host until {@link acceptDns}. */
  constructor(log: (line: string) => void, opts: NodeDnsOptions = {}) {
    this.#log = log;
    this.#forwarder = opts.forwarder ?? new UdpDnsForwarder();
    this.#resolvConfOpts = opts.resolvConf ?? {};
    this.#responder = this.#newResponder();
    PROCESS_NODES.add(this);
  }

  /** The host's name servers quad-100 falls back to (empty until {@link acceptDns}). */
  get baseResolvers(): readonly DNSResolver[] {
    return this.#base;
  }

  /** A tailnet name's addresses (short or full), or null when the name is not the tailnet's. */
  tailnetAddresses(name: string): Uint8Array[] | null {
    return this.#table?.resolveName(name) ?? null;
  }

  /** Takes the names, search domains and resolvers of a new netmap. */
  setNetmap(nm: NetworkMap): void {
    const table = MagicDnsTable.fromNetmap(nm.self, [...nm.peers.values()], nm.dns);
    this.#table = table;
    this.#responder.setTable(table);
    this.resolver.setTable(table);
    this.#domains = nm.dns?.Domains ?? [];
    // Control may change the search domains while we run.
    if (this.#resolvConf) this.#queueWrite();
  }

  /**
   * Answers one quad-100 query packet (IP/UDP, as read from the TUN); `reply` gets the
   * response packet. Never throws: a query that cannot be answered is logged and dropped.
   */
  answer(query: Uint8Array, reply: (packet: Uint8Array) => void): void {
    // As tailscaled (net/dns maxActiveQueries): beyond the cap a query is dropped, not
    // answered; the client retries, and a flood costs no memory.
    if (this.#forwarder.full) {
      this.dropped++;
      this.#logDrops();
      return;
    }
    this.#answererFor(query).#responder.handlePacket(query).then((resp) => {
      if (resp) reply(resp);
    }).catch((e) => this.#log(`MagicDNS: query dropped: ${e instanceof Error ? e.message : e}`));
  }

  /**
   * Points /etc/resolv.conf at quad-100 with the current search domains (the original is
   * saved, see resolv_conf.ts). Its name servers become quad-100's upstreams for names
   * control sends no resolvers for.
   *
   * @throws {Error} if the file cannot be written
   */
  async acceptDns(): Promise<void> {
    // Read before writing: afterwards the file names only quad-100.
    const base = await readBaseNameservers(this.#resolvConfOpts);
    this.#base = base.map((ns) => ({ Addr: ns }));
    this.#responder = this.#newResponder();
    this.#log(
      base.length
        ? `MagicDNS: without resolvers from control, other names go to ${base.join(", ")}`
        : "MagicDNS: resolv.conf named no name server; other names fail unless control sends resolvers",
    );
    await this.#write();
  }

  /**
   * Puts resolv.conf back and stops managing it, MagicDNS still answering at quad-100 for
   * warren (`tun set --accept-dns=false`); {@link acceptDns} takes it over again.
   */
  async releaseDns(): Promise<void> {
    await this.#writes;
    if (!this.#resolvConf) return;
    this.#resolvConf = false;
    this.#resolvConfText = "";
    await restoreResolvConf(this.#resolvConfOpts);
    this.#base = [];
    this.#responder = this.#newResponder();
  }

  /** Puts resolv.conf back if it was changed, after any write in flight. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    PROCESS_NODES.delete(this);
    this.#forwarder.close();
    await this.#writes;
    if (this.#resolvConf) await restoreResolvConf(this.#resolvConfOpts);
  }

  /**
   * Who answers `query`: this node, unless the name is outside its zones and inside another
   * node's of this process (another tailnet of the same `tun up --config`).
   */
  #answererFor(query: Uint8Array): NodeDns {
    if (PROCESS_NODES.size < 2) return this;
    const name = questionName(query);
    if (name === null || this.#table.zoneFor(name) !== null) return this;
    for (const other of PROCESS_NODES) {
      if (other !== this && other.#table.zoneFor(name) !== null) return other;
    }
    return this;
  }

  #newResponder(): Quad100Responder {
    return new Quad100Responder({
      table: this.#table,
      forward: this.#forwarder.forward,
      systemResolvers: this.#base,
    });
  }

  #logDrops(): void {
    const now = performance.now();
    if (now - this.#dropLoggedAt < DROP_LOG_INTERVAL_MS) return;
    this.#log(
      `MagicDNS: too many queries in flight; dropped ${
        this.dropped - this.#droppedLogged
      } (${this.dropped} in all)`,
    );
    this.#droppedLogged = this.dropped;
    this.#dropLoggedAt = now;
  }

  #queueWrite(): void {
    this.#writes = this.#writes.then(() => this.#write()).catch((e) =>
      this.#log(`resolv.conf: ${e instanceof Error ? e.message : e}`)
    );
  }

  async #write(): Promise<void> {
    const text = renderResolvConf([QUAD100_V4], this.#domains);
    if (text === this.#resolvConfText || this.#closed) return;
    this.#resolvConfText = text;
    try {
      await installResolvConf(text, this.#resolvConfOpts);
      this.#resolvConf = true;
    } catch (e) {
      this.#resolvConfText = "";
      throw e;
    }
  }
}

/** The first question's name of a quad-100 query packet (IP/UDP/DNS), or null. */
function questionName(packet: Uint8Array): string | null {
  try {
    const p = parsePacket(packet);
    if (!isQuad100Query(p)) return null;
    return parseDnsMessage(p.payload()).questions[0]?.name ?? null;
  } catch {
    return null;
  }
}
