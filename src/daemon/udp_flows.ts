/**
 * UDP flows of a userspace-networking node relayed from host sockets: each
 * flow (a tailnet source and where it wrote to) gets a host socket of its
 * own, so the far side sees one client per source and its answers find
 * their way back. Flows end after an idle time and are bounded in number;
 * past the bound a new flow's datagrams are dropped and counted, as a full
 * conntrack table would. The inbound UDP forward and the routed flows of a
 * subnet router or exit node both run on it.
 *
 * @module
 */
import type { ProxyDatagramSocket, ProxyDialer } from "../proxy/types.ts";

/** Limits of a flow table. */
export interface UdpFlowsOptions {
  /** Flows (sources with a host socket) at once; default 1024. */
  maxFlows?: number;
  /** A flow with no datagram either way this long is closed; default 2 min, as tailscaled's. */
  idleMs?: number;
  /** Time in ms (tests pass a fake); default `performance.now`. */
  now?: () => number;
}

/** Default {@linkcode UdpFlowsOptions.maxFlows}. */
export const DEFAULT_UDP_FLOWS = 1024;
/** Default {@linkcode UdpFlowsOptions.idleMs}. */
export const DEFAULT_UDP_IDLE_MS = 120_000;

/** What a new flow relays: where its datagrams go and where answers return. */
export interface UdpFlowSpec {
  /** Where the host socket sends (a name is resolved by the socket). */
  hostname: string;
  /** The destination port. */
  port: number;
  /** Whether a datagram the host socket received is an answer of this flow's destination. */
  fromTarget(hostname: string, port: number): boolean;
  /** Sends an answer back to the flow's tailnet source; throws once that side is gone. */
  reply(data: Uint8Array): void;
}

interface Flow {
  readonly spec: UdpFlowSpec;
  readonly sock: Promise<ProxyDatagramSocket>;
  /** Sends in order, each after the one before (and after the socket opened). */
  sending: Promise<unknown>;
  last: number;
  closed: boolean;
}

/**
 * The flows of one relay.
 *
 * @example
 * ```ts ignore
 * const flows = new UdpFlows(hostDialer(), (e) => log(`no host socket: ${e}`));
 * flows.send("100.64.0.1 5000 10.0.0.9 53", query, () => spec);
 * await flows.close();
 * ```
 */
export class UdpFlows {
  readonly #dialer: ProxyDialer;
  readonly #onFail: (e: unknown) => void;
  readonly #flows = new Map<string, Flow>();
  readonly #max: number;
  readonly #idleMs: number;
  readonly #now: () => number;
  readonly #timer: ReturnType<typeof setInterval>;
  /** Flows opened since the start. */
  opened = 0;
  /** Flows whose host socket could not open. */
  failed = 0;
  /** Datagrams of new flows dropped because the table was full. */
  refused = 0;

  /** A table whose host sockets `dialer` opens; `onFail` hears why one could not. */
  constructor(dialer: ProxyDialer, onFail: (e: unknown) => void, opts: UdpFlowsOptions = {}) {
    this.#dialer = dialer;
    this.#onFail = onFail;
    this.#max = opts.maxFlows ?? DEFAULT_UDP_FLOWS;
    this.#idleMs = opts.idleMs ?? DEFAULT_UDP_IDLE_MS;
    this.#now = opts.now ?? (() => performance.now());
    this.#timer = setInterval(() => this.sweep(), Math.min(10_000, this.#idleMs / 2));
    Deno.unrefTimer(this.#timer);
  }

  /** Flows open now. */
  get size(): number {
    return this.#flows.size;
  }

  /**
   * Sends `payload` on the flow `key`, opening it with `open()` if it is new;
   * false (counted) if it is new and the table is full.
   */
  send(key: string, payload: Uint8Array, open: () => UdpFlowSpec): boolean {
    let f = this.#flows.get(key);
    if (f === undefined) {
      if (this.#flows.size >= this.#max) {
        this.refused++;
        return false;
      }
      f = this.#open(key, open());
    }
    f.last = this.#now();
    const flow = f;
    flow.sending = flow.sending
      .then(() => flow.sock)
      .then((s) => flow.closed ? undefined : s.send(payload, flow.spec.hostname, flow.spec.port))
      .catch(() => {}); // a refused send is a lost datagram, as UDP's
    return true;
  }

  /** Closes the flows idle longer than the idle time (a timer calls this; tests may too). */
  sweep(): void {
    const now = this.#now();
    for (const [key, f] of this.#flows) {
      if (now - f.last >= this.#idleMs) this.#end(key, f);
    }
  }

  /** Closes every flow and stops the sweep timer. */
  close(): void {
    clearInterval(this.#timer);
    for (const [key, f] of this.#flows) this.#end(key, f);
  }

  #open(key: string, spec: UdpFlowSpec): Flow {
    this.opened++;
    const sock = this.#dialer.openUdp();
    const f: Flow = { spec, sock, sending: Promise.resolve(), last: this.#now(), closed: false };
    this.#flows.set(key, f);
    sock.then((s) => this.#answers(f, s), (e) => {
      this.failed++;
      this.#onFail(e);
      this.#end(key, f);
    });
    return f;
  }

  /** Sends the destination's answers back to the flow's source until the flow ends. */
  async #answers(f: Flow, s: ProxyDatagramSocket): Promise<void> {
    if (f.closed) return s.close();
    for (let d = await s.receive(); d !== null; d = await s.receive()) {
      if (!f.spec.fromTarget(d.hostname, d.port)) continue;
      f.last = this.#now();
      try {
        f.spec.reply(d.data);
      } catch {
        return; // the tailnet side closed
      }
    }
  }

  #end(key: string, f: Flow): void {
    if (f.closed) return;
    f.closed = true;
    this.#flows.delete(key);
    f.sock.then((s) => s.close(), () => {});
  }
}
