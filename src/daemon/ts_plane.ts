/**
 * A tailnet node's data plane as it runs in its Worker: the WireGuard device between the TUN
 * queue and magicsock's UDP socket, the inbound packet filter, and a Bind that sends each
 * peer's packets where the node's magicsock last said (a verified direct address, DERP, or
 * both). Everything that needs the node — disco and STUN datagrams, packets for DERP, quad-100
 * queries, notes of which peers are active — goes up by `postMessage`; the node's commands and
 * DERP's packets come down as ring records ({@linkcode TsPlane.handle}).
 *
 * @module
 */
import { TunDevice } from "../../ffi/tun.ts";
import { UdpSocket } from "../../ffi/udp.ts";
import { fromHex, toHex } from "../bytes/hex.ts";
import { PacketFilter } from "../filter/filter.ts";
import { FlowTable } from "../filter/flow_table.ts";
import { parsePrefix } from "../net/ip.ts";
import { UdpConn } from "../magicsock/udp_conn.ts";
import { type Bind, Device, type SavedPeer } from "../wireguard/device.ts";
import { wipeSavedSessions } from "../wireguard/session_state.ts";
import { TRANSPORT_HEADER_SIZE } from "../wireguard/transport.ts";
import { DataPlane, type LoopWaiter, sendBuffer } from "./dataplane.ts";
import { filteredSink } from "./filtered_sink.ts";
import { planeSessions, restGate } from "./plane_rest.ts";
import { tailnetOutbound } from "./tailnet_outbound.ts";
import {
  CommandJoiner,
  type FromTsPlane,
  type PlaneCommand,
  RecordKind,
  sharedNow,
  type TsPlaneSpec,
  type TsPlaneStatus,
} from "./ts_plane_messages.ts";

/** Least time between two activity notes for a peer on a trusted direct path, ms. */
const NOTE_TRUSTED_MS = 250;
/** The same while the path is in doubt: each note may start disco pings, so sooner. */
const NOTE_UNTRUSTED_MS = 50;

/** Where one peer's packets go. */
interface Route {
  /** The node key, as the node named it. */
  readonly key: Uint8Array;
  /** Direct sockaddr, or null. */
  udp: Uint8Array | null;
  /** Whether DERP gets each packet too. */
  derp: boolean;
  /** When the node was last told this peer is active (performance.now()). */
  noted: number;
  /** The send batch this peer was last seen in. */
  stamp: number;
}

/** The Worker's data plane: build it, run `loop`, feed it ring records. */
export class TsPlane {
  /** The WireGuard device. */
  readonly device: Device;
  /** The loop; `run()` starts it. */
  readonly loop: DataPlane;
  readonly #udp: UdpConn;
  readonly #post: (m: FromTsPlane) => void;
  readonly #routes = new Map<string, Route>();
  #byEndpoint = new WeakMap<Uint8Array, Route>();
  readonly #joiner = new CommandJoiner();
  #filter: PacketFilter | null = null;
  /** The previous plane's flows, until the first filter takes them. */
  #flows: FlowTable | null = null;
  #self: string[] = [];
  /** The previous plane's sessions by node key (hex), each taken when its peer is added. */
  readonly #saved = new Map<string, SavedPeer>();
  readonly #savedAt: number;
  /** Whether the plane may sleep now (null: it never does). */
  readonly #mayRest: (() => boolean) | null;
  readonly #outbound: (buf: Uint8Array, off: number, len: number) => boolean;
  #stamp = 0;
  #noPath = 0;
  // Per-batch output, reused.
  readonly #uBufs: Uint8Array[] = [];
  readonly #uSizes: number[] = [];
  readonly #uAddrs: Uint8Array[] = [];

  /** Builds the plane on the spec's TUN queue and UDP socket (adopted: the node closes them). */
  constructor(spec: TsPlaneSpec, waiter: LoopWaiter, post: (m: FromTsPlane) => void) {
    this.#post = post;
    if (spec.flows && spec.flows.length > 0) (this.#flows = new FlowTable()).restore(spec.flows);
    for (const p of spec.sessions?.peers ?? []) this.#saved.set(toHex(p.publicKey), p);
    this.#savedAt = spec.sessions?.savedAt ?? 0;
    const tun = TunDevice.adopt(spec.tun);
    this.#udp = new UdpConn(UdpSocket.adopt(spec.udp), {
      stun: (pkt, from) => post({ type: "stun", pkt, from }),
      disco: (pkt, from) => post({ type: "disco", pkt, from }),
    }, spec.mtu);
    const bind: Bind = { send: (b, s, e, n, o) => this.#send(b, s, e, n, o) };
    this.device = new Device({
      privateKey: spec.privateKey,
      bind,
      tun: filteredSink(tun, () => this.#filter),
      mtu: spec.mtu,
      timings: spec.timings,
      log: (line) => post({ type: "log", line }),
    });
    this.#udp.attach(this.device);
    this.#mayRest = spec.rest ? restGate(this.device, spec.rest) : null;
    const outbound = this.#outbound = tailnetOutbound({
      dns: (pkt) => post({ type: "dns", pkt }),
      kernelTun: true,
      port: () => this.#udp.port,
      self: () => this.#self,
      filter: () => this.#filter,
    });
    this.loop = new DataPlane(this.device, tun, [this.#udp], waiter, {
      outbound,
      rest: () => this.#atRest(),
    });
  }

  /** Applies one ring record from the node. */
  handle(record: Uint8Array): void {
    if (record[0] === RecordKind.PACKET) {
      const hex = toHex(record.subarray(1, 33));
      const data = record.slice(33);
      const key = this.#routes.get(hex)?.key ?? fromHex(hex);
      this.device.receivePackets([data], [data.length], [key], 1);
    } else if (record[0] === RecordKind.TUN) {
      const len = record.length - 1, off = TRANSPORT_HEADER_SIZE;
      const buf = sendBuffer(record.subarray(1));
      if (!this.#outbound(buf, off, len)) this.device.sendPackets([buf], [len], off, 1);
    } else if (record[0] === RecordKind.COMMAND || record[0] === RecordKind.COMMAND_PART) {
      const c = this.#joiner.take(record);
      if (c) this.#command(c);
    }
  }

  /** The device's counters for the node's status. */
  status(): TsPlaneStatus {
    return {
      peers: this.device.peers().map((p) => ({
        key: toHex(p.publicKey),
        rxBytes: p.rxBytes,
        txBytes: p.txBytes,
        lastHandshakeWall: p.lastHandshakeWall,
      })),
      drops: { ...this.device.drops },
      noPath: this.#noPath,
      filter: this.#filter?.stats() ?? null,
    };
  }

  #command(c: PlaneCommand): void {
    switch (c.op) {
      case "add-peer": {
        const key = this.#route(c.key).key;
        this.device.addPeer({
          publicKey: key,
          endpoint: key,
          allowedIps: c.allowedIps.map((p) => parsePrefix(p)),
        });
        const saved = this.#saved.get(c.key);
        if (saved) {
          this.#saved.delete(c.key);
          this.device.restoreSessions([saved], sharedNow() - this.#savedAt);
          wipeSavedSessions([saved]); // the device's ciphers hold their own copies
        }
        break;
      }
      case "remove-peer": {
        const r = this.#routes.get(c.key);
        if (r) this.#udp.forgetPeer(r.key);
        this.device.removePeer(fromHex(c.key));
        this.#routes.delete(c.key);
        this.#byEndpoint = new WeakMap();
        break;
      }
      case "path": {
        const r = this.#route(c.key);
        r.udp = c.udp === null ? null : fromHex(c.udp);
        r.derp = c.derp;
        break;
      }
      case "peer-addr":
        this.#udp.setPeerAddr(fromHex(c.addr), this.#route(c.key).key);
        break;
      case "forget-addrs": {
        const r = this.#routes.get(c.key);
        if (r) this.#udp.forgetPeer(r.key);
        break;
      }
      case "filter":
        // The node replays its peers before its filter: a session still saved is a peer's that
        // was removed while the plane slept.
        wipeSavedSessions([...this.#saved.values()]);
        this.#saved.clear();
        this.#filter = new PacketFilter(c.rules, {
          localNets: c.localNets.map((p) => parsePrefix(p)),
          flows: this.#filter?.flows ?? this.#flows ?? undefined,
        });
        this.#flows = null;
        break;
      case "self":
        this.#self = c.addresses;
        break;
    }
  }

  /**
   * The loop's question after each turn: true (once) when the device is at rest and no
   * WireGuard byte moved for the quiet time; the node then hears the last counters, flows and
   * sessions.
   */
  #atRest(): boolean {
    if (this.#mayRest === null || !this.#mayRest()) return false;
    const flows = (this.#filter?.flows ?? this.#flows)?.entries() ?? null;
    this.#post({
      type: "asleep",
      status: this.status(),
      flows,
      sessions: planeSessions(this.device),
    });
    return true;
  }

  /** The peer's route, made (DERP only) on first mention. */
  #route(hex: string): Route {
    let r = this.#routes.get(hex);
    if (!r) {
      r = { key: fromHex(hex), udp: null, derp: true, noted: -Infinity, stamp: 0 };
      this.#routes.set(hex, r);
    }
    return r;
  }

  #lookup(endpoint: Uint8Array): Route | undefined {
    let r = this.#byEndpoint.get(endpoint);
    if (r === undefined) {
      r = this.#routes.get(toHex(endpoint));
      if (r !== undefined) this.#byEndpoint.set(endpoint, r);
    }
    return r;
  }

  #send(bufs: Uint8Array[], sizes: number[], eps: Uint8Array[], count: number, offset: number) {
    const stamp = ++this.#stamp;
    const now = performance.now();
    let u = 0;
    let derpKeys: Uint8Array[] | null = null, derpPkts: Uint8Array[] | null = null;
    let active: Uint8Array[] | null = null;
    for (let i = 0; i < count; i++) {
      const r = this.#lookup(eps[i]);
      if (r === undefined) {
        this.#noPath++;
        continue;
      }
      if (r.stamp !== stamp) {
        r.stamp = stamp;
        if (now - r.noted >= (r.derp ? NOTE_UNTRUSTED_MS : NOTE_TRUSTED_MS)) {
          r.noted = now;
          (active ??= []).push(r.key);
        }
      }
      if (r.udp !== null) {
        this.#uBufs[u] = bufs[i];
        this.#uSizes[u] = sizes[i];
        this.#uAddrs[u] = r.udp;
        u++;
      }
      if (r.derp) {
        (derpKeys ??= []).push(r.key);
        (derpPkts ??= []).push(bufs[i].slice(offset, offset + sizes[i]));
      }
    }
    if (u > 0) this.#udp.send(this.#uBufs, this.#uSizes, this.#uAddrs, u, offset);
    if (derpKeys) this.#post({ type: "derp", keys: derpKeys, pkts: derpPkts! });
    if (active) this.#post({ type: "sent", keys: active });
  }
}
