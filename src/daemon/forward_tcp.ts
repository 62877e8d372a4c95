/**
 * An inbound TCP forward of a userspace-networking node (`--forward
 * tcp:PORT=HOST:PORT`): connections from the tailnet to the node's port end
 * in warren's TCP, and each is relayed byte for byte, half-close included,
 * to a connection the host dials to the target. A target that cannot be
 * reached resets the tailnet side, as a closed port would.
 *
 * @module
 */
import type { ForwardSpec } from "../config/userspace.ts";
import { formatForward } from "../config/userspace.ts";
import { deadline } from "../net/abortable.ts";
import type { TcpStack } from "../netstack/tcp_stack.ts";
import type { TcpStream } from "../netstack/tcp_stream.ts";
import { DEFAULT_DIAL_TIMEOUT_MS } from "../proxy/constants.ts";
import { formatListenAddr } from "../proxy/listen.ts";
import { relay } from "../proxy/relay.ts";
import type { ProxyConn, ProxyDialer } from "../proxy/types.ts";

/** One forward's line in `tun status`. */
export interface ForwardStatus {
  /** Which transport. */
  kind: "tcp-forward" | "udp-forward";
  /** Where it listens: the port on every tailnet address of the node, as `:80`. */
  listen: string;
  /** Where the host side goes, `host:port`. */
  target: string;
  /** Flows open now: relayed connections, or UDP flows with a host socket. */
  flows: number;
  /** Flows opened since the start. */
  opened: number;
  /** Flows that could not reach the target (the dial, or the host socket, failed). */
  failed: number;
  /** Flows refused because the limit was reached (UDP; TCP's limit is the stack's table). */
  refused: number;
}

/** Logs a repeated failure once, then every `every`-th time, so a flood cannot flood the log. */
export function sparseLog(log: (line: string) => void, every = 100): (line: string) => void {
  let n = 0;
  return (line) => {
    if (n++ % every === 0) log(n > 1 ? `${line} (${n} so far)` : line);
  };
}

/**
 * Relays the connections to one TCP port of the stack.
 *
 * @example
 * ```ts ignore
 * const fwd = new TcpForward(tcp, parseForwardSpec("tcp:80=127.0.0.1:8080"), hostDialer(), log);
 * await fwd.close();
 * ```
 */
export class TcpForward {
  /** What is forwarded. */
  readonly spec: ForwardSpec;
  readonly #listener: ReturnType<TcpStack["listen"]>;
  readonly #dialer: ProxyDialer;
  readonly #dialTimeoutMs: number;
  readonly #failLog: (line: string) => void;
  readonly #stop = new AbortController();
  readonly #active = new Set<{ stream: TcpStream; upstream: ProxyConn | null }>();
  readonly #relays = new Set<Promise<void>>();
  readonly #loop: Promise<void>;
  #opened = 0;
  #failed = 0;

  /**
   * Listens on `spec.port` of `tcp` (every address of the node).
   *
   * @throws {Error} if the port already listens on the stack
   */
  constructor(
    tcp: TcpStack,
    spec: ForwardSpec,
    dialer: ProxyDialer,
    log: (line: string) => void,
    dialTimeoutMs = DEFAULT_DIAL_TIMEOUT_MS,
  ) {
    this.spec = spec;
    this.#dialer = dialer;
    this.#dialTimeoutMs = dialTimeoutMs;
    this.#failLog = sparseLog(log);
    this.#listener = tcp.listen(spec.port);
    this.#loop = this.#accept();
  }

  /** Connections relayed now. */
  get flows(): number {
    return this.#active.size;
  }

  /** The forward's line in `tun status`. */
  status(): ForwardStatus {
    return {
      kind: "tcp-forward",
      listen: `:${this.spec.port}`,
      target: formatListenAddr(this.spec.target),
      flows: this.#active.size,
      opened: this.#opened,
      failed: this.#failed,
      refused: 0,
    };
  }

  /** Stops listening and tears every relayed connection down; resolves once all have ended. */
  async close(): Promise<void> {
    this.#stop.abort();
    for (const f of this.#active) {
      f.stream.close();
      f.upstream?.close();
    }
    await Promise.all([...this.#relays]);
    // Only now: the stack sends an accepted connection's segments through its listener, so
    // closing the listener first would leave the FINs above unsent.
    this.#listener.close();
    await this.#loop;
  }

  async #accept(): Promise<void> {
    for await (const s of this.#listener) {
      if (this.#stop.signal.aborted) {
        s.conn.abort();
        s.close();
        continue;
      }
      const p = this.#serve(s);
      this.#relays.add(p);
      p.finally(() => this.#relays.delete(p));
    }
  }

  async #serve(stream: TcpStream): Promise<void> {
    const flow: { stream: TcpStream; upstream: ProxyConn | null } = { stream, upstream: null };
    this.#active.add(flow);
    this.#opened++;
    const { hostname, port } = this.spec.target;
    try {
      using d = deadline(this.#dialTimeoutMs, this.#stop.signal);
      try {
        flow.upstream = await this.#dialer.dialTcp(hostname, port, d.signal);
      } catch (e) {
        this.#failed++;
        this.#failLog(
          `forward ${formatForward(this.spec)}: ${stream.remoteAddr.hostname}: ` +
            (e instanceof Error ? e.message : String(e)),
        );
        // Nothing listens behind the port: a reset, as the host's own closed port would send.
        stream.conn.abort();
        stream.close();
        return;
      }
      if (this.#stop.signal.aborted) {
        flow.upstream.close();
        stream.close();
        return;
      }
      await relay(stream, flow.upstream);
    } finally {
      this.#active.delete(flow);
    }
  }
}
