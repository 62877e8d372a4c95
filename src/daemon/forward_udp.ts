/**
 * An inbound UDP forward of a userspace-networking node (`--forward
 * udp:PORT=HOST:PORT`): each tailnet source (address and port, and which of
 * the node's addresses it wrote to) gets a host socket of its own, so the
 * target sees one client per source and its answers find their way back,
 * sent from the address the source wrote to. Flows end after an idle time
 * and are bounded in number; past the bound a new source's datagrams are
 * dropped and counted, as a full conntrack table would.
 *
 * @module
 */
import { bytesEqual } from "../bytes/equal.ts";
import type { ForwardSpec } from "../config/userspace.ts";
import { formatForward } from "../config/userspace.ts";
import { formatIp, unmap } from "../net/ip.ts";
import type { Endpoint } from "../netstack/types.ts";
import type { UdpEndpoint, UdpTable } from "../netstack/udp_endpoints.ts";
import { formatListenAddr } from "../proxy/listen.ts";
import { ipOrNull } from "../proxy/socks5_codec.ts";
import type { ProxyDatagramSocket, ProxyDialer } from "../proxy/types.ts";
import { type ForwardStatus, sparseLog } from "./forward_tcp.ts";

/** Limits of one UDP forward. */
export interface UdpForwardOptions {
  /** Flows (sources with a host socket) at once; default 1024. */
  maxFlows?: number;
  /** A flow with no datagram either way this long is closed; default 2 min, as tailscaled's. */
  idleMs?: number;
  /** Time in ms (tests pass a fake); default `performance.now`. */
  now?: () => number;
}

/** Default {@linkcode UdpForwardOptions.maxFlows}. */
export const DEFAULT_UDP_FLOWS = 1024;
/** Default {@linkcode UdpForwardOptions.idleMs}. */
export const DEFAULT_UDP_IDLE_MS = 120_000;

interface Flow {
  readonly src: Endpoint;
  readonly dst: Uint8Array;
  readonly sock: Promise<ProxyDatagramSocket>;
  /** Sends in order, each after the one before (and after the socket opened). */
  sending: Promise<unknown>;
  last: number;
  closed: boolean;
}

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
  readonly #dialer: ProxyDialer;
  readonly #flows = new Map<string, Flow>();
  readonly #max: number;
  readonly #idleMs: number;
  readonly #now: () => number;
  readonly #failLog: (line: string) => void;
  /** The target's address when it is an IP literal: answers must come from it. */
  readonly #targetIp: Uint8Array | null;
  readonly #timer: ReturnType<typeof setInterval>;
  readonly #loop: Promise<void>;
  #opened = 0;
  #failed = 0;
  #refused = 0;

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
    this.#dialer = dialer;
    this.#max = opts.maxFlows ?? DEFAULT_UDP_FLOWS;
    this.#idleMs = opts.idleMs ?? DEFAULT_UDP_IDLE_MS;
    this.#now = opts.now ?? (() => performance.now());
    this.#failLog = sparseLog(log);
    const ip = ipOrNull(spec.target.hostname);
    this.#targetIp = ip === null ? null : unmap(ip);
    this.#ep = udp.bind({ port: spec.port });
    this.#timer = setInterval(() => this.sweep(), Math.min(10_000, this.#idleMs / 2));
    Deno.unrefTimer(this.#timer);
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
      opened: this.#opened,
      failed: this.#failed,
      refused: this.#refused,
    };
  }

  /** Closes the flows idle longer than the idle time (a timer calls this; tests may too). */
  sweep(): void {
    const now = this.#now();
    for (const [key, f] of this.#flows) {
      if (now - f.last >= this.#idleMs) this.#end(key, f);
    }
  }

  /** Unbinds the port and closes every flow. */
  async close(): Promise<void> {
    clearInterval(this.#timer);
    this.#ep.close();
    for (const [key, f] of this.#flows) this.#end(key, f);
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
      let f = this.#flows.get(key);
      if (f === undefined) {
        if (this.#flows.size >= this.#max) {
          this.#refused++;
          continue;
        }
        f = this.#open(key, d.src, d.dst.ip);
      }
      f.last = this.#now();
      const flow = f;
      const { hostname, port } = this.spec.target;
      flow.sending = flow.sending
        .then(() => flow.sock)
        .then((s) => flow.closed ? undefined : s.send(d.payload, hostname, port))
        .catch(() => {}); // a refused send is a lost datagram, as UDP's
    }
  }

  #open(key: string, src: Endpoint, dst: Uint8Array): Flow {
    this.#opened++;
    const sock = this.#dialer.openUdp();
    const f: Flow = {
      src,
      dst,
      sock,
      sending: Promise.resolve(),
      last: this.#now(),
      closed: false,
    };
    this.#flows.set(key, f);
    sock.then((s) => this.#answers(f, s), (e) => {
      this.#failed++;
      this.#failLog(
        `forward ${formatForward(this.spec)}: no host socket: ${
          e instanceof Error ? e.message : e
        }`,
      );
      this.#end(key, f);
    });
    return f;
  }

  /** Sends the target's answers back to the flow's source until the flow ends. */
  async #answers(f: Flow, s: ProxyDatagramSocket): Promise<void> {
    if (f.closed) return s.close();
    for (let d = await s.receive(); d !== null; d = await s.receive()) {
      if (!this.#fromTarget(d.hostname, d.port)) continue;
      f.last = this.#now();
      try {
        this.#ep.send(d.data, f.src, f.dst);
      } catch {
        return; // the forward closed
      }
    }
  }

  #fromTarget(hostname: string, port: number): boolean {
    if (port !== this.spec.target.port) return false;
    if (this.#targetIp === null) return true; // a name: whatever it resolved to answers
    const ip = ipOrNull(hostname);
    return ip !== null && bytesEqual(unmap(ip), this.#targetIp);
  }

  #end(key: string, f: Flow): void {
    if (f.closed) return;
    f.closed = true;
    this.#flows.delete(key);
    f.sock.then((s) => s.close(), () => {});
  }
}
