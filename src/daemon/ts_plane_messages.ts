/**
 * How a tailnet node and its data-plane Worker talk. The Worker owns the WireGuard device, the
 * TUN queue, the UDP socket's receive side and the packet filter; the node keeps control,
 * disco, DERP and MagicDNS. The Worker blocks in `poll(2)` and never turns its event loop, so
 * what the node sends it goes into a {@linkcode ByteRing} (commands as JSON, DERP's packets
 * as bytes) followed by a raise of the wake-up eventfd; the Worker answers with
 * `postMessage`, which needs no turn of its loop.
 *
 * @module
 */
import type { TunHandle } from "../../ffi/tun.ts";
import type { UdpHandle } from "../../ffi/udp.ts";
import type { FilterStats } from "../filter/filter.ts";
import type { FilterRule } from "../netmap/tailcfg.ts";
import type { DropCounters } from "../wireguard/device.ts";
import type { SavedPeer } from "../wireguard/session_state.ts";
import type { Timings } from "../wireguard/timings.ts";

/** Everything the tailnet data plane is built from, as data that `postMessage` carries. */
export interface TsPlaneSpec {
  /** The TUN queue. */
  tun: TunHandle;
  /** magicsock's bound UDP socket. */
  udp: UdpHandle;
  /** The node private key. */
  privateKey: Uint8Array;
  /** Inner MTU. */
  mtu: number;
  /** Shortened protocol timers, for tests. */
  timings?: Partial<Timings>;
  /** When the plane may sleep ({@linkcode PlaneRest}); absent: never. */
  rest?: PlaneRest;
  /** The filter's flows from the plane before this one (`FlowTable.entries`). */
  flows?: Int32Array | null;
  /** The sessions of the plane before this one, taken as each peer is added. */
  sessions?: PlaneSessions | null;
}

/** A sleeping plane's WireGuard sessions (`Device.saveSessions`), for the next Worker. */
export interface PlaneSessions {
  /** Per peer. */
  peers: SavedPeer[];
  /** When saved: `performance.timeOrigin + performance.now()`, comparable across threads. */
  savedAt: number;
  /** After this (same clock) no saved session is usable: their keys may be wiped. */
  keysUntil: number;
}

/** Now on the clock of {@linkcode PlaneSessions}' times, on any thread. */
export function sharedNow(): number {
  return performance.timeOrigin + performance.now();
}

/**
 * When the Worker gives its thread back: its device at rest (`Device.atRest`: no handshake or
 * keepalive owed) and no WireGuard byte moved for `quietMs`. Its sessions go to the node, and
 * the Worker the node starts for the next packet goes on with them.
 */
export interface PlaneRest {
  /** No packet in or out for this long, ms. */
  quietMs: number;
}

/** Node → Worker, once, by `postMessage`. */
export interface StartTsPlane {
  /** Always "start". */
  type: "start";
  /** The plane to build. */
  spec: TsPlaneSpec;
  /** The eventfd the node raises after writing to the ring or the control block. */
  wakeFd: number;
  /** The control block (`Control` of plane_messages.ts: stop, status requests). */
  control: SharedArrayBuffer;
  /** The ring of {@linkcode PlaneCommand}s and DERP packets. */
  ring: SharedArrayBuffer;
}

/** First byte of a ring record: what follows. */
export const RecordKind = {
  /** A {@linkcode PlaneCommand} as UTF-8 JSON. */
  COMMAND: 1,
  /**
   * A WireGuard datagram for the device: the sender's 32-byte node key, then the datagram
   * (from DERP, or read by the node from the UDP socket while the plane slept).
   */
  PACKET: 2,
  /** Part of a command too long for one record; the part of kind COMMAND ends it. */
  COMMAND_PART: 3,
  /** A packet the node read from the TUN while the plane slept, for WireGuard. */
  TUN: 4,
} as const;

/**
 * A command as ring records of at most `max` bytes each: a large tailnet's packet filter can be
 * longer than the ring, so it goes in parts the Worker joins ({@linkcode CommandJoiner}).
 */
export function commandRecords(c: PlaneCommand, max: number): Uint8Array[] {
  const json = new TextEncoder().encode(JSON.stringify(c));
  const room = max - 1;
  const out: Uint8Array[] = [];
  for (let at = 0; at === 0 || at < json.length; at += room) {
    const part = json.subarray(at, at + room);
    const rec = new Uint8Array(1 + part.length);
    rec[0] = at + room >= json.length ? RecordKind.COMMAND : RecordKind.COMMAND_PART;
    rec.set(part, 1);
    out.push(rec);
  }
  return out;
}

/** Joins {@linkcode commandRecords}' parts back into commands, on the Worker's side. */
export class CommandJoiner {
  #parts: Uint8Array[] = [];

  /** Takes a COMMAND or COMMAND_PART record; returns the command it completes, or null. */
  take(record: Uint8Array): PlaneCommand | null {
    const body = record.subarray(1);
    if (record[0] === RecordKind.COMMAND_PART) {
      this.#parts.push(body.slice()); // the ring lends its bytes only for the call
      return null;
    }
    let json = body;
    if (this.#parts.length > 0) {
      const parts = [...this.#parts.splice(0), body];
      json = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
      let at = 0;
      for (const p of parts) {
        json.set(p, at);
        at += p.length;
      }
    }
    return JSON.parse(new TextDecoder().decode(json));
  }
}

/** Node keys and sockaddrs travel as hex text in commands. */
export type Hex = string;

/** Node → Worker, through the ring. */
export type PlaneCommand =
  | { op: "add-peer"; key: Hex; allowedIps: string[] }
  | { op: "remove-peer"; key: Hex }
  /** Where the peer's packets go now: a sockaddr for UDP or null, and whether DERP too. */
  | { op: "path"; key: Hex; udp: Hex | null; derp: boolean }
  /** Datagrams from this sockaddr are the peer's (disco proved it). */
  | { op: "peer-addr"; key: Hex; addr: Hex }
  | { op: "forget-addrs"; key: Hex }
  | { op: "filter"; rules: FilterRule[] | null; localNets: string[] }
  /** The node's own addresses, so its underlay probes routed into the TUN are dropped. */
  | { op: "self"; addresses: string[] };

/** The device's part of a tailnet node's status, read in the Worker. */
export interface TsPlaneStatus {
  /** Per peer: node key in hex, counters and last handshake (wall clock, ms). */
  peers: { key: Hex; rxBytes: number; txBytes: number; lastHandshakeWall: number }[];
  /** The device's drop counters. */
  drops: DropCounters;
  /** Packets to a peer with no path yet. */
  noPath: number;
  /** The inbound filter's counters, null before the first filter. */
  filter: FilterStats | null;
}

/** Worker → node, by `postMessage`. */
export type FromTsPlane =
  | { type: "started" }
  | { type: "log"; line: string }
  | { type: "status"; answers: number; status: TsPlaneStatus }
  | { type: "failed"; message: string }
  | { type: "stopped" }
  /**
   * The plane is at rest and its loop ends ({@linkcode PlaneRest}): the last counters, flows
   * and sessions.
   */
  | { type: "asleep"; status: TsPlaneStatus; flows: Int32Array | null; sessions: PlaneSessions }
  /** WireGuard datagrams for DERP: `pkts[i]` to the peer with node key `keys[i]`. */
  | { type: "derp"; keys: Uint8Array[]; pkts: Uint8Array[] }
  /** WireGuard packets were sent to these peers (magicsock's activity, for disco). */
  | { type: "sent"; keys: Uint8Array[] }
  /** A disco message or STUN response that came in on the UDP socket from `from`. */
  | { type: "disco" | "stun"; pkt: Uint8Array; from: Uint8Array }
  /** A DNS query to quad-100 read from the TUN, for MagicDNS on the node. */
  | { type: "dns"; pkt: Uint8Array };
