/**
 * A plain WireGuard node's data plane — its device between a TUN queue and a UDP socket, and
 * the loop that drives them — built the same way on the main thread or in the data-plane
 * Worker (`plane_thread.ts`), from a spec that is plain data.
 *
 * In the Worker the plane may fall asleep (`wg_plane_host.ts`): once its device is at rest and
 * no byte has moved for the spec's quiet time, the loop ends and hands up what the next plane
 * needs to go on as if nothing happened — sessions, endpoints, counters — and that plane
 * starts from it, with the packets that woke it.
 *
 * @module
 */
import { TunDevice, type TunHandle } from "../../ffi/tun.ts";
import { type UdpHandle, UdpSocket } from "../../ffi/udp.ts";
import { toHex } from "../bytes/hex.ts";
import type { IpPrefix } from "../net/ip.ts";
import { Device } from "../wireguard/device.ts";
import type { PeerConfig } from "../wireguard/peer.ts";
import { addDrops } from "../wireguard/drops.ts";
import { wipeSavedSessions } from "../wireguard/session_state.ts";
import type { Timings } from "../wireguard/timings.ts";
import { TRANSPORT_HEADER_SIZE } from "../wireguard/transport.ts";
import {
  DataPlane,
  type LoopWaiter,
  sendBuffer,
  tunSink,
  udpBind,
  udpSource,
} from "./dataplane.ts";
import type { HeldPacket, WgPlaneState } from "./plane_messages.ts";
import { planeSessions, restGate } from "./plane_rest.ts";
import { type PlaneRest, sharedNow } from "./ts_plane_messages.ts";

/** Everything the data plane needs, as data that `postMessage` can carry. */
export interface PlaneSpec {
  /** The TUN queue. */
  tun: TunHandle;
  /** The bound UDP socket. */
  udp: UdpHandle;
  /** The interface's private key. */
  privateKey: Uint8Array;
  /** Inner MTU. */
  mtu: number;
  /** Shortened protocol timers, for tests. */
  timings?: Partial<Timings>;
  /** The peers, in config order. */
  peers: (PeerConfig & { allowedIps: IpPrefix[] })[];
  /** When the plane may sleep; absent: never (the main thread's plane never does). */
  rest?: PlaneRest;
  /** What the plane before this one left when it fell asleep. */
  resume?: WgPlaneState | null;
  /** Packets read while it slept, handled first. */
  held?: readonly HeldPacket[] | null;
}

/** A built data plane: the device and its loop, not yet running. */
export interface WgPlane {
  /** The WireGuard device. */
  device: Device;
  /** The loop; `run()` starts it. */
  loop: DataPlane;
}

/**
 * Builds the device with its peers and the loop over the spec's TUN queue and UDP socket
 * (adopted: the node that opened them closes them), waiting with `waiter`. With `spec.rest`,
 * the loop ends once the plane may sleep, after `asleep` got its state.
 */
export function buildWgPlane(
  spec: PlaneSpec,
  waiter: LoopWaiter,
  log: (line: string) => void,
  asleep?: (state: WgPlaneState) => void,
): WgPlane {
  const tun = TunDevice.adopt(spec.tun), udp = UdpSocket.adopt(spec.udp);
  const device = new Device({
    privateKey: spec.privateKey,
    bind: udpBind(udp),
    tun: tunSink(tun),
    mtu: spec.mtu,
    timings: spec.timings,
    log,
  });
  if (spec.resume) {
    // Sessions first, then the persistent keepalives, whose setting sends one at once: on the
    // kept session, not as a new handshake.
    for (const p of spec.peers) device.addPeer({ ...p, persistentKeepalive: 0 });
    resume(device, spec.resume);
    // (Without the configured endpoint, which would undo a roam the resume carried.)
    for (const p of spec.peers) {
      if (p.persistentKeepalive) device.addPeer({ ...p, endpoint: undefined });
    }
  } else {
    for (const p of spec.peers) device.addPeer(p);
  }
  if (spec.held) replayHeld(device, spec.held);
  const udpIn = [udpSource(udp, device, device.mtu)];
  let rest: (() => boolean) | undefined;
  if (spec.rest && asleep) {
    // Asleep, the host sends the persistent keepalives (wg_plane_host.ts).
    const mayRest = restGate(device, spec.rest, true);
    rest = () => {
      if (!mayRest()) return false;
      asleep(planeState(device));
      return true;
    };
  }
  const loop = new DataPlane(device, tun, udpIn, waiter, { rest });
  return { device, loop };
}

/** The previous plane's sessions, endpoints and counters, into this device. */
function resume(device: Device, state: WgPlaneState): void {
  const { sessions } = state;
  device.restoreSessions(sessions.peers, Math.max(0, sharedNow() - sessions.savedAt));
  wipeSavedSessions(sessions.peers);
  const byKey = new Map(state.peers.map((p) => [toHex(p.publicKey), p]));
  for (const peer of device.peers()) {
    const c = byKey.get(toHex(peer.publicKey));
    if (!c) continue;
    if (c.endpoint) device.setEndpoint(peer, c.endpoint);
    peer.rxBytes = c.rxBytes;
    peer.txBytes = c.txBytes;
  }
  addDrops(device.drops, state.drops);
}

/** What woke the plane: TUN packets are sent, datagrams received, in the order read. */
function replayHeld(device: Device, held: readonly HeldPacket[]): void {
  for (const { pkt, from } of held) {
    if (from) device.receivePackets([pkt], [pkt.length], [from], 1);
    else device.sendPackets([sendBuffer(pkt)], [pkt.length], TRANSPORT_HEADER_SIZE, 1);
  }
}

/** The device's state for the next plane (this one sends nothing after). */
function planeState(device: Device): WgPlaneState {
  return {
    peers: device.peers().map((p) => ({
      publicKey: p.publicKey.slice(),
      endpoint: p.endpoint ? p.endpoint.slice() : null,
      rxBytes: p.rxBytes,
      txBytes: p.txBytes,
      // The device's clock is this thread's performance.now() (systemClock).
      keepaliveInMs: p.persistentKeepaliveMs > 0
        ? Math.max(
          0,
          Math.min(
            p.persistentKeepaliveMs,
            p.timers.deadlines.persistentKeepalive - performance.now(),
          ),
        )
        : null,
    })),
    sessions: planeSessions(device),
    drops: { ...device.drops },
  };
}
