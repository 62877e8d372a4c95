/**
 * An inbound UDP forward of a userspace-networking node (`--forward
 * udp:PORT=HOST:PORT`): each tailnet source (address and port, and which of
 * the node's addresses it wrote to) is a flow with a host socket of its own
 * (./udp_flows.ts), so the target sees one client per source and its answers
 * find their way back, sent from the address the source wrote to.
 *
 * @module
 */
import { bytesEqual } from "../bytes/equal.ts";
import type { ForwardSpec } from "../config/userspace.ts";
import { formatForward } from "../config/userspace.ts";
import { formatIp, unmap } from "../net/ip.ts";
import type { UdpDatagram, UdpEndpoint, UdpTable } from "../netstack/udp_endpoints.ts";
import { formatListenAddr } from "../proxy/listen.ts";
import { ipOrNull } from "../proxy/socks5_codec.ts";
import type { ProxyDialer } from "../proxy/types.ts";
import { type ForwardStatus, sparseLog } from "./forward_tcp.ts";
import { UdpFlows, type UdpFlowsOptions, type UdpFlowSpec } from "./udp_flows.ts";

export { DEFAULT_UDP_FLOWS, DEFAULT_UDP_IDLE_MS } from "./udp_flows.ts";

/** Limits of one UDP forward. */
export type UdpForwardOptions = UdpFlowsOptions;

/**
 * Relays the datagrams to one UDP port of the stack.
 *
 * @example
 * ```ts ignore
 * const fwd = new UdpForward(ip.udp, parseForwardSpec("udp:53=127.0.0.1:5353"), hostDialer(), log);
 * fwd.close();
 * ```
 */
export class UdpForward {
  /** What is forwarded. */
  readonly spec: ForwardSpec;
  readonly #ep: UdpEndpoint;
  readonly #flows: UdpFlows;
  /** The target's address when it is an IP literal: answers must come from it. */
  readonly #targetIp: Uint8Array | null;
  readonly #loop: Promise<void>;

  /**
   * Binds `spec.port` on `udp` (every address of the node).
   *
   * @throws {Deno.errors.AddrInUse} if the port is bound already
   */
  constructor(
    udp: UdpTable,
    spec: ForwardSpec,
    dialer: ProxyDialer,
    log: (line: string) => void,
    opts: UdpForwardOptions = {},
  ) {
    this.spec = spec;
    const failLog = sparseLog(log);
    const ip = ipOrNull(spec.target.hostname);
    this.#targetIp = ip === null ? null : unmap(ip);
    this.#ep = udp.bind({ port: spec.port });
    this.#flows = new UdpFlows(dialer, (e) =>
      failLog(
        `forward ${formatForward(spec)}: no host socket: ${e instanceof Error ? e.message : e}`,
      ), opts);
    this.#loop = this.#receive();
  }

  /** Flows open now. */
  get flows(): number {
    return this.#flows.size;
  }

  /** The forward's line in `tun status`. */
  status(): ForwardStatus {
    return {
      kind: "udp-forward",
      listen: `:${this.spec.port}`,
      target: formatListenAddr(this.spec.target),
      flows: this.#flows.size,
      opened: this.#flows.opened,
      failed: this.#flows.failed,
      refused: this.#flows.refused,
    };
  }

  /** Closes the flows idle longer than the idle time (a timer calls this; tests may too). */
  sweep(): void {
    this.#flows.sweep();
  }

  /** Unbinds the port and closes every flow. */
  async close(): Promise<void> {
    this.#ep.close();
    this.#flows.close();
    await this.#loop;
  }

  async #receive(): Promise<void> {
    for (;;) {
      let d;
      try {
        d = await this.#ep.receive();
      } catch {
        return; // closed
      }
      const key = `${formatIp(d.src.ip)} ${d.src.port} ${formatIp(d.dst.ip)}`;
      this.#flows.send(key, d.payload, () => this.#flowSpec(d));
    }
  }

  #flowSpec(d: UdpDatagram): UdpFlowSpec {
    const { hostname, port } = this.spec.target;
    const { src, dst } = d;
    return {
      hostname,
      port,
      fromTarget: (h, p) => {
        if (p !== port) return false;
        if (this.#targetIp === null) return true; // a name: whatever it resolved to answers
        const ip = ipOrNull(h);
        return ip !== null && bytesEqual(unmap(ip), this.#targetIp);
      },
      reply: (data) => this.#ep.send(data, src, dst.ip),
    };
  }
}
