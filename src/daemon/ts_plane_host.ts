/**
 * A tailnet node's Worker plane across its sleeps. The Worker costs an isolate (~12 MB here)
 * that an idle node has no use for, so once its device is at rest — no handshake or keepalive
 * owed, no WireGuard byte for a while (`PlaneRest`) — the Worker reports its counters, flows
 * and sessions and ends. While it sleeps the node's main thread watches the TUN and the UDP
 * socket through the thread pool: disco and STUN go to magicsock as before, quad-100 queries
 * to MagicDNS, and the first WireGuard datagram, DERP packet or TUN packet for a peer starts a
 * Worker again, which gets the node's whole state (peers, paths, peer addresses, the filter and
 * its flows, the sessions) before the packets held meanwhile. Nothing is lost but the Worker's
 * start-up: the peer goes on with the same session, and no handshake is needed.
 *
 * The sessions' keys stay on this thread only while the plane sleeps: they are wiped once a new
 * Worker took them, and once none is usable any more (Reject-After-Time), whichever is first.
 * The cycle itself is `plane_sleep.ts`, shared with a plain WireGuard node's host; this is what a
 * tailnet node adds: the commands replayed into each Worker, DERP, magicsock's reads.
 *
 * @module
 */
import type { TunDevice } from "../../ffi/tun.ts";
import type { UdpSocket } from "../../ffi/udp.ts";
import { fromHex, toHex } from "../bytes/hex.ts";
import { addrKey, MAX_ADDRS_PER_PEER } from "../magicsock/addr_key.ts";
import type { MagicUdp } from "../magicsock/magicsock.ts";
import { ByteRing } from "../net/byte_ring.ts";
import { formatPrefix, type IpPrefix } from "../net/ip.ts";
import type { FilterRule } from "../netmap/tailcfg.ts";
import type { PacketReceiver } from "../wireguard/device.ts";
import { zeroDrops } from "../wireguard/drops.ts";
import { SleepCycle, type SleepCycleHost } from "./plane_sleep.ts";
import { SleepIo } from "./sleep_io.ts";
import { mergePlaneStatus } from "./ts_plane_status.ts";
import { RING_BYTES, type TsPlaneHandlers, TsPlaneLink } from "./ts_plane_link.ts";
import {
  type Hex,
  type PlaneCommand,
  type PlaneSessions,
  RecordKind,
  type TsPlaneSpec,
  type TsPlaneStatus,
} from "./ts_plane_messages.ts";

type Held = { kind: "packet"; key: Uint8Array; pkt: Uint8Array } | { kind: "tun"; pkt: Uint8Array };

/** What the host needs besides the plane's spec. */
export interface TsPlaneHostParts {
  /** The node's TUN (the plane's queue). */
  tun: TunDevice;
  /** magicsock's socket (the plane's). */
  sock: UdpSocket;
  /** One line per event. */
  log(line: string): void;
  /** The Worker's hand-ups (`asleep` is the host's). */
  handlers: Omit<TsPlaneHandlers, "asleep">;
  /** After each sleep: give back what the Worker left resident. */
  released?(): void;
}

/** The Worker plane, awake or asleep, as the node drives it. */
export class TsPlaneHost implements PacketReceiver {
  readonly #spec: TsPlaneSpec;
  readonly #parts: TsPlaneHostParts;
  readonly #ring = ByteRing.allocate(RING_BYTES);
  #cycle!: SleepCycle<TsPlaneLink, Held>;
  // The node's state as commands, replayed into each new Worker.
  readonly #peers = new Map<Hex, PlaneCommand>();
  readonly #paths = new Map<Hex, PlaneCommand>();
  /** Per peer, its proven source addresses (hex), oldest first, as the Worker bounds them. */
  readonly #addrs = new Map<Hex, Hex[]>();
  readonly #byAddr = new Map<number | string, Uint8Array>();
  #filter: PlaneCommand | null = null;
  #self: PlaneCommand | null = null;
  #flows: Int32Array | null = null;
  #base: TsPlaneStatus = { peers: [], drops: zeroDrops(), noPath: 0, filter: null };
  #io: SleepIo | null = null;

  private constructor(spec: TsPlaneSpec, parts: TsPlaneHostParts) {
    this.#spec = spec;
    this.#parts = parts;
  }

  /** Starts the plane awake; rejects with the Worker's reason if it cannot start. */
  static async start(spec: TsPlaneSpec, parts: TsPlaneHostParts): Promise<TsPlaneHost> {
    const host = new TsPlaneHost(spec, parts);
    host.#cycle = await SleepCycle.start(host.#cycleHost());
    return host;
  }

  /** Settles when the plane stopped for good: by {@linkcode stop}, or a Worker that failed. */
  get done(): Promise<void> {
    return this.#cycle.done;
  }

  /** Whether the Worker is asleep (or falling asleep, or waking). */
  get asleep(): boolean {
    return this.#cycle.asleep;
  }

  /** Packets dropped for want of room while the plane slept or woke. */
  get heldDrops(): number {
    return this.#cycle.heldDrops;
  }

  /** The engine's WireGuard port: a peer with its allowed IPs (a known key: new allowed IPs). */
  addPeer(c: { publicKey: Uint8Array; allowedIps?: IpPrefix[] }): void {
    const allowedIps = (c.allowedIps ?? []).map(formatPrefix);
    this.#command({ op: "add-peer", key: toHex(c.publicKey), allowedIps });
  }

  /** The engine's WireGuard port: drops the peer and its sessions. */
  removePeer(key: Uint8Array): boolean {
    this.#command({ op: "remove-peer", key: toHex(key) });
    return true;
  }

  /** magicsock's send path for a peer (its `onSendPath`). */
  setPath(nodeKey: Uint8Array, udp: Uint8Array | null, derp: boolean): void {
    this.#command({ op: "path", key: toHex(nodeKey), udp: udp && toHex(udp), derp });
  }

  /** The inbound filter's rules and local destinations, after each netmap. */
  setFilter(rules: FilterRule[] | null, localNets: readonly IpPrefix[]): void {
    this.#command({ op: "filter", rules, localNets: localNets.map(formatPrefix) });
  }

  /** The node's own addresses. */
  setSelf(addresses: string[]): void {
    this.#command({ op: "self", addresses });
  }

  /** magicsock's UDP socket: sends on the node's socket, address bookkeeping to the plane. */
  magicUdp(): MagicUdp & { readonly port: number } {
    const sock = this.#parts.sock;
    return {
      port: sock.port,
      send: (bufs, sizes, to, count, offset) => void sock.sendBatch(bufs, sizes, to, count, offset),
      sendOne: (pkt, to) => void sock.sendBatch([pkt], [pkt.length], [to], 1, 0),
      setPeerAddr: (addr, key) =>
        this.#command({ op: "peer-addr", key: toHex(key), addr: toHex(addr) }),
      forgetPeer: (key) => this.#command({ op: "forget-addrs", key: toHex(key) }),
      attach: () => {},
    };
  }

  /** WireGuard datagrams from DERP, each with its peer's node key as endpoint. */
  receivePackets(
    bufs: Uint8Array[],
    sizes: number[],
    endpoints: Uint8Array[],
    count: number,
  ): void {
    const awake = this.#cycle.awake;
    if (awake) return awake.receivePackets(bufs, sizes, endpoints, count);
    for (let i = 0; i < count; i++) {
      const key = endpoints[i];
      if (key.length === 32) {
        this.#cycle.hold({ kind: "packet", key, pkt: bufs[i].slice(0, sizes[i]) });
      }
    }
    this.#cycle.wake();
  }

  /** The device's counters since up, across sleeps (read in the Worker when awake). */
  async status(): Promise<TsPlaneStatus> {
    const awake = this.#cycle.awake;
    if (awake) {
      try {
        return this.#current(await awake.status());
      } catch {
        // It fell asleep meanwhile: its last counters are in the base now.
      }
    }
    return this.#current(null);
  }

  /** Stops the plane for good (the Worker's loop, or the watch). Idempotent. */
  stop(): Promise<void> {
    return this.#cycle.stop();
  }

  #current(live: TsPlaneStatus | null): TsPlaneStatus {
    const st = live ? mergePlaneStatus(this.#base, live) : this.#base;
    return { ...st, peers: st.peers.filter((p) => this.#peers.has(p.key)) };
  }

  #command(c: PlaneCommand): void {
    this.#remember(c);
    this.#cycle.awake?.command(c);
  }

  /** Keeps the command's effect for the next Worker. */
  #remember(c: PlaneCommand): void {
    switch (c.op) {
      case "add-peer":
        this.#peers.set(c.key, c);
        break;
      case "remove-peer":
        this.#peers.delete(c.key);
        this.#paths.delete(c.key);
        this.#forget(c.key);
        break;
      case "path":
        this.#paths.set(c.key, c);
        break;
      case "peer-addr": {
        const list = this.#addrs.get(c.key) ?? [];
        if (!list.includes(c.addr)) {
          list.push(c.addr);
          if (list.length > MAX_ADDRS_PER_PEER) {
            this.#byAddr.delete(addrKey(fromHex(list.shift()!)));
          }
        }
        this.#addrs.set(c.key, list);
        this.#byAddr.set(addrKey(fromHex(c.addr)), fromHex(c.key));
        break;
      }
      case "forget-addrs":
        this.#forget(c.key);
        break;
      case "filter":
        this.#filter = c;
        break;
      case "self":
        this.#self = c;
        break;
    }
  }

  #forget(key: Hex): void {
    for (const a of this.#addrs.get(key) ?? []) this.#byAddr.delete(addrKey(fromHex(a)));
    this.#addrs.delete(key);
  }

  #cycleHost(): SleepCycleHost<TsPlaneLink, Held> {
    const { tun, sock, handlers } = this.#parts;
    return {
      start: (sessions) => {
        const spec = { ...this.#spec, flows: this.#flows, sessions };
        return TsPlaneLink.start(spec, this.#parts.log, {
          ...handlers,
          asleep: (m) => this.#fellAsleep(m.status, m.flows, m.sessions),
        }, this.#ring);
      },
      adopt: (link, held) => this.#adopt(link, held),
      watchFds: () => [tun.fd, sock.fd],
      read: (hold) => {
        const io = this.#io ??= new SleepIo(this.#spec.mtu);
        io.readUdp(sock, (key, pkt) => hold({ kind: "packet", key, pkt }), this.#byAddr, handlers);
        io.readTun(tun, (pkt) => hold({ kind: "tun", pkt }), (q) => handlers.dns(q));
      },
      ended: (link, hold) => {
        void link.stop(); // drops commands still queued for a full ring: the next Worker replays
        // What the node wrote after the Worker's last read: packets are held again, commands are
        // in the state the next Worker gets.
        new ByteRing(this.#ring).read((r) => {
          if (r[0] === RecordKind.PACKET) {
            hold({ kind: "packet", key: r.slice(1, 33), pkt: r.slice(33) });
          } else if (r[0] === RecordKind.TUN) hold({ kind: "tun", pkt: r.slice(1) });
        });
      },
      log: this.#parts.log,
      released: this.#parts.released,
    };
  }

  /** A Worker is up: it takes the node's state, then what was held meanwhile. */
  #adopt(link: TsPlaneLink, held: readonly Held[]): void {
    for (const c of this.#peers.values()) link.command(c);
    for (const [key, addrs] of this.#addrs) {
      for (const addr of addrs) link.command({ op: "peer-addr", key, addr });
    }
    for (const c of this.#paths.values()) link.command(c);
    if (this.#filter) link.command(this.#filter);
    if (this.#self) link.command(this.#self);
    for (const h of held) {
      if (h.kind === "tun") link.sendTun(h.pkt);
      else link.receivePackets([h.pkt], [h.pkt.length], [h.key], 1);
    }
  }

  #fellAsleep(status: TsPlaneStatus, flows: Int32Array | null, sessions: PlaneSessions): void {
    if (!this.#cycle.fallingAsleep(sessions)) return;
    this.#base = mergePlaneStatus(this.#base, status);
    this.#flows = flows;
  }
}
