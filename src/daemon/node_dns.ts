/**
 * A tailnet node's DNS: MagicDNS answered in process at quad-100 (for packets the
 * TUN hands over), the same table for warren's own lookups (DERP and control
 * host names), and — with `--accept-dns` — /etc/resolv.conf pointed at quad-100,
 * kept in step with the netmap's search domains and put back on stop.
 *
 * @module
 */

import type { NetworkMap } from "../netmap/network_map.ts";
import { MagicDnsTable } from "../dns/magicdns.ts";
import { HostResolver } from "../dns/resolve.ts";
import { Quad100Responder } from "../dns/quad100.ts";
import { installResolvConf, renderResolvConf, restoreResolvConf } from "../dns/resolv_conf.ts";
import { udpDnsForwarder } from "./dns_forwarder.ts";

/** The address resolv.conf points at. */
const QUAD100_V4 = "100.100.100.100";

/** MagicDNS for one node. */
export class NodeDns {
  /** Resolves host names for warren itself: tailnet names first, then the system's. */
  readonly resolver: HostResolver = new HostResolver();
  readonly #responder = new Quad100Responder({
    table: MagicDnsTable.fromNetmap(null, [], null),
    forward: udpDnsForwarder(),
  });
  readonly #log: (line: string) => void;
  #resolvConf = false;
  #resolvConfText = "";
  #writes: Promise<void> = Promise.resolve();
  #closed = false;
  #domains: string[] = [];

  /** Creates the responder; nothing touches the host until {@link acceptDns}. */
  constructor(log: (line: string) => void) {
    this.#log = log;
  }

  /** Takes the names, search domains and resolvers of a new netmap. */
  setNetmap(nm: NetworkMap): void {
    const table = MagicDnsTable.fromNetmap(nm.self, [...nm.peers.values()], nm.dns);
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
    this.#responder.handlePacket(query).then((resp) => {
      if (resp) reply(resp);
    }).catch((e) => this.#log(`MagicDNS: query dropped: ${e instanceof Error ? e.message : e}`));
  }

  /**
   * Points /etc/resolv.conf at quad-100 with the current search domains (the original is
   * saved, see resolv_conf.ts).
   *
   * @throws {Error} if the file cannot be written
   */
  async acceptDns(): Promise<void> {
    await this.#write();
  }

  /** Puts resolv.conf back if it was changed, after any write in flight. Idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return;
    this.#closed = true;
    await this.#writes;
    if (this.#resolvConf) await restoreResolvConf();
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
      await installResolvConf(text);
      this.#resolvConf = true;
    } catch (e) {
      this.#resolvConfText = "";
      throw e;
    }
  }
}
