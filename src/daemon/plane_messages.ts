/**
 * How a node and its data-plane Worker talk. The Worker blocks in poll(2) and its event loop
 * never runs once started, so the node's requests after "start" are counters in shared
 * memory (the control block) followed by a raise of the wake-up eventfd; the Worker answers
 * with `postMessage`, which needs no turn of its event loop.
 *
 * @module
 */
import type { DropCounters } from "../wireguard/drops.ts";
import type { DeviceStatus } from "./device_status.ts";
import type { PlaneSessions } from "./ts_plane_messages.ts";
import type { PlaneSpec } from "./wg_plane.ts";

/** Int32 slots of the control block. */
export const Control = {
  /** Set to 1 to stop the loop. */
  STOP: 0,
  /** Incremented per status request; a status reply carries the count it answers. */
  STATUS: 1,
  /** Slots in the block. */
  SLOTS: 2,
} as const;

/** Node → Worker, once. */
export interface StartPlane {
  /** Always "start". */
  type: "start";
  /** The plane to build. */
  spec: PlaneSpec;
  /** The eventfd the node raises after writing to the control block. */
  wakeFd: number;
  /** The control block: `Control.SLOTS` Int32s. */
  control: SharedArrayBuffer;
}

/** A peer's state that a sleeping plain WireGuard plane hands to the next one. */
export interface WgPeerCarry {
  /** The peer's static public key. */
  publicKey: Uint8Array;
  /** Where its packets were last sent (roamed to, or configured), or null. */
  endpoint: Uint8Array | null;
  /** Bytes received from it since the node came up. */
  rxBytes: number;
  /** Bytes sent to it since the node came up. */
  txBytes: number;
  /** With a persistent keepalive: how soon the next one is due, ms; else null. */
  keepaliveInMs: number | null;
}

/** What a plain WireGuard plane that fell asleep leaves for the next one. */
export interface WgPlaneState {
  /** Each peer's endpoint and counters. */
  peers: WgPeerCarry[];
  /** The device's sessions; their keys are wiped once taken (or once none is usable). */
  sessions: PlaneSessions;
  /** The device's drop counters so far. */
  drops: DropCounters;
}

/** A packet read while the plane slept, for the next one to handle first. */
export interface HeldPacket {
  /** The packet: an IP packet from the TUN, or a WireGuard datagram. */
  pkt: Uint8Array;
  /** A datagram's sender (sockaddr); absent for a TUN packet, to encrypt and send. */
  from?: Uint8Array;
}

/** Worker → node; `S` is the plane's status. */
export type FromPlane<S = DeviceStatus> =
  | { type: "started" }
  | { type: "asleep"; state: WgPlaneState; status: S }
  | { type: "log"; line: string }
  | { type: "status"; answers: number; status: S }
  | { type: "failed"; message: string }
  | { type: "stopped" };

/**
 * A Worker's reading of its control block when woken: `stop()` if asked, and `answer(count)`
 * once per wake that finds status requests not yet answered (`answered` carries the count
 * between wakes).
 */
export function readControl(
  ctl: Int32Array,
  answered: { count: number },
  stop: () => void,
  answer: (count: number) => void,
): void {
  if (Atomics.load(ctl, Control.STOP) === 1) stop();
  const asked = Atomics.load(ctl, Control.STATUS);
  if (asked !== answered.count) {
    answered.count = asked;
    answer(asked);
  }
}
