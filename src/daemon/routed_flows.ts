/**
 * A subnet router or exit node in userspace-networking mode, as tailscaled's
 * netstack forwarder: flows from the tailnet to a routed address (an
 * advertised subnet, or for an exit node anything off the tailnet) end in
 * warren's stack and are re-dialled from the host. A TCP connection is
 * accepted only once the host's dial to the same address and port succeeded
 * (a refusal or timeout resets the client, as tailscaled's), then relayed
 * with half-close; UDP gets a host socket per flow (./udp_flows.ts); an echo
 * request is answered once the host's own `ping` to that address is, as
 * tailscaled's userPing on Linux (`ping -c 1 -W 3`, with `-n -q`: no name lookups).
 *
 * @module
 */
import { bytesEqual } from "../bytes/equal.ts";
import { deadline } from "../net/abortable.ts";
import { formatIp, unmap } from "../net/ip.ts";
import { buildUdpPacket, type ParsedPacket } from "../net/packet.ts";
import { buildEchoReply } from "../netstack/icmp_echo.ts";
import type { RoutedHandlers } from "../netstack/ip_input.ts";
import type { RoutedSyn, TcpStack } from "../netstack/tcp_stack.ts";
import type { TcpStream } from "../netstack/tcp_stream.ts";
import { DEFAULT_DIAL_TIMEOUT_MS } from "../proxy/constants.ts";
import { relay } from "../proxy/relay.ts";
import { ipOrNull } from "../proxy/socks5_codec.ts";
import type { ProxyConn, ProxyDialer } from "../proxy/types.ts";
import { sparseLog } from "./forward_tcp.ts";
import { UdpFlows, type UdpFlowsOptions } from "./udp_flows.ts";

/** The IP layer as the routed flows use it (an {@linkcode IpInput} fits). */
export interface RoutedIp {
  /** Where packets to routed addresses go. */
  setRoutedHandlers(h: RoutedHandlers): void;
  /** Emits one IP packet. */
  send(packet: Uint8Array): boolean;
}

/** Sends one echo request from the host; resolves whether a reply came. */
export type HostPing = (ip: string) => Promise<boolean>;

/** How to build {@linkcode RoutedFlows}. */
export interface RoutedFlowsOptions {
  /** How long a host dial may take before the client is reset; default 15 s. */
  dialTimeoutMs?: number;
  /** Limits of the UDP flows (default 1024 flows, 2 min idle, as a UDP forward's). */
  udp?: UdpFlowsOptions;
  /** The host's ping; default runs `ping -c 1 -W 3 IP`. */
  ping?: HostPing;
  /** Pings in flight at most; more echo requests are dropped (default 32). */
  maxPings?: number;
  /**
   * Whether `ip:port` is this node's own WireGuard socket. A peer that tries the router's LAN
   * address as a direct path sends it through the tunnel when it routes that LAN to us; a
   * re-dial would carry the tunnel inside itself, so such datagrams are dropped (`looped`).
   */
  isOwnSocket?: (ip: string, port: number) => boolean;
}

/** The routed flows' part of `tun status`. */
export interface RoutedFlowsStatus {
  /** TCP connections relayed now. */
  tcp: number;
  /** TCP connections waiting for the host's dial. */
  dialling: number;
  /** UDP flows with a host socket now. */
  udp: number;
  /** Flows (TCP and UDP) opened since the start. */
  opened: number;
  /** Flows the host could not reach (TCP dial refused or timed out, no UDP socket). */
  failed: number;
  /** New UDP flows dropped because the table was full. */
  refused: number;
  /** Echo requests answered after the host's ping was. */
  pings: number;
  /** UDP datagrams to this node's own WireGuard socket, dropped. */
  looped: number;
}

/** Runs `ping -c 1 -W 3 IP`, as tailscaled on Linux; false if it fails or cannot run. */
export async function hostPing(ip: string): Promise<boolean> {
  try {
    const out = await new Deno.Command("ping", {
      args: ["-c", "1", "-W", "3", "-n", "-q", ip],
      stdin: "null",
      stdout: "null",
      stderr: "null",
    }).output();
    return out.success;
  } catch {
    return false; // no ping binary, or not allowed to run it
  }
}

/**
 * The routed flows of one node's stack; it takes over the IP layer's routed
 * handlers and the TCP stack's routed SYNs until closed.
 *
 * @example
 * ```ts ignore
 * const routed = new RoutedFlows(ns.ip, tcp, hostDialer(), log);
 * ns.ip.setRoutes([parsePrefix("192.168.1.0/24")]);
 * await routed.close();
 * ```
 */
export class RoutedFlows {
  readonly #ip: RoutedIp;
  readonly #tcp: TcpStack;
  readonly #dialer: ProxyDialer;
  readonly #dialTimeoutMs: number;
  readonly #udp: UdpFlows;
  readonly #ping: HostPing;
  readonly #maxPings: number;
  readonly #isOwnSocket: (ip: string, port: number) => boolean;
  readonly #failLog: (line: string) => void;
  readonly #stop = new AbortController();
  readonly #active = new Set<{ stream: TcpStream; upstream: ProxyConn }>();
  readonly #relays = new Set<Promise<void>>();
  #dialling = 0;
  #opened = 0;
  #failed = 0;
  #pinging = 0;
  #pings = 0;
  #looped = 0;

  /** Serves routed packets of `ip` and `tcp`, dialling with `dialer` (the host). */
  constructor(
    ip: RoutedIp,
    tcp: TcpStack,
    dialer: ProxyDialer,
    log: (line: string) => void,
    opts: RoutedFlowsOptions = {},
  ) {
    this.#ip = ip;
    this.#tcp = tcp;
    this.#dialer = dialer;
    this.#dialTimeoutMs = opts.dialTimeoutMs ?? DEFAULT_DIAL_TIMEOUT_MS;
    this.#ping = opts.ping ?? hostPing;
    this.#maxPings = opts.maxPings ?? 32;
    this.#isOwnSocket = opts.isOwnSocket ?? (() => false);
    this.#failLog = sparseLog(log);
    this.#udp = new UdpFlows(
      dialer,
      (e) => this.#failLog(`routed udp: no host socket: ${e instanceof Error ? e.message : e}`),
      opts.udp,
    );
    tcp.setRoutedHandler((req) => this.#track(this.#serveTcp(req)));
    ip.setRoutedHandlers({
      tcp: (p) => tcp.inputRouted(p),
      udp: (p) => this.#udpIn(p),
      echo: (p) => this.#echo(p),
    });
  }

  /** What `tun status` shows. */
  status(): RoutedFlowsStatus {
    return {
      tcp: this.#active.size,
      dialling: this.#dialling,
      udp: this.#udp.size,
      opened: this.#opened + this.#udp.opened,
      failed: this.#failed + this.#udp.failed,
      refused: this.#udp.refused,
      pings: this.#pings,
      looped: this.#looped,
    };
  }

  /** Flows open now (TCP relayed or dialling, UDP). */
  get flows(): number {
    return this.#active.size + this.#dialling + this.#udp.size;
  }

  /** Stops taking routed packets and ends every flow; resolves once all have. */
  async close(): Promise<void> {
    this.#stop.abort();
    this.#ip.setRoutedHandlers({});
    this.#tcp.setRoutedHandler(null);
    this.#udp.close();
    for (const f of this.#active) {
      f.stream.close();
      f.upstream.close();
    }
    await Promise.all([...this.#relays]);
  }

  #track(p: Promise<void>): void {
    this.#relays.add(p);
    p.finally(() => this.#relays.delete(p));
  }

  async #serveTcp(req: RoutedSyn): Promise<void> {
    this.#opened++;
    this.#dialling++;
    let upstream: ProxyConn;
    try {
      using d = deadline(this.#dialTimeoutMs, this.#stop.signal);
      upstream = await this.#dialer.dialTcp(req.local.hostname, req.local.port, d.signal);
    } catch (e) {
      this.#failed++;
      this.#failLog(
        `routed tcp ${req.remote.hostname} -> ${req.local.hostname}:${req.local.port}: ` +
          (e instanceof Error ? e.message : String(e)),
      );
      req.refuse();
      return;
    } finally {
      this.#dialling--;
    }
    const stream = this.#stop.signal.aborted ? null : req.accept();
    if (stream === null) {
      req.refuse();
      upstream.close();
      return;
    }
    const flow = { stream, upstream };
    this.#active.add(flow);
    try {
      await relay(stream, upstream);
    } finally {
      this.#active.delete(flow);
    }
  }

  #udpIn(p: ParsedPacket): void {
    if (p.laterFragment) return; // reassembled before this; a stray one has no ports
    const src = p.srcIp(), dst = p.dstIp();
    const { srcPort, dstPort } = p;
    const host = formatIp(dst);
    if (this.#isOwnSocket(host, dstPort)) {
      this.#looped++;
      return;
    }
    const key = `${formatIp(src)} ${srcPort} ${host} ${dstPort}`;
    this.#udp.send(key, p.buf.slice(p.payloadOff, p.length), () => ({
      hostname: host,
      port: dstPort,
      fromTarget: (h, port) => {
        const ip = port === dstPort ? ipOrNull(h) : null;
        return ip !== null && bytesEqual(unmap(ip), dst);
      },
      // The answer comes from the routed address, as if it had answered over the tailnet.
      reply: (data) => {
        if (this.#stop.signal.aborted) throw new Error("routed flows closed");
        this.#ip.send(
          buildUdpPacket({ src: dst, dst: src, srcPort: dstPort, dstPort: srcPort, payload: data }),
        );
      },
    }));
  }

  #echo(p: ParsedPacket): void {
    if (this.#pinging >= this.#maxPings) return;
    const reply = buildEchoReply(p);
    this.#pinging++;
    this.#ping(formatIp(p.dstIp())).then((ok) => {
      if (ok && !this.#stop.signal.aborted) {
        this.#pings++;
        this.#ip.send(reply);
      }
    }).finally(() => this.#pinging--);
  }
}
