/**
 * A plain WireGuard node's data plane — its device between a TUN queue and a UDP socket, and
 * the loop that drives them — built the same way on the main thread or in the data-plane
 * Worker (`plane_thread.ts`), from a spec that is plain data.
 *
 * @module
 */
import { TunDevice, type TunHandle } from "../../ffi/tun.ts";
import { type UdpHandle, UdpSocket } from "../../ffi/udp.ts";
import type { IpPrefix } from "../net/ip.ts";
import { Device } from "../wireguard/device.ts";
import type { PeerConfig } from "../wireguard/peer.ts";
import type { Timings } from "../wireguard/timings.ts";
import { DataPlane, type LoopWaiter, tunSink, udpBind, udpSource } from "./dataplane.ts";

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
 * (adopted: the node that opened them closes them), waiting with `waiter`.
 */
export function buildWgPlane(
  spec: PlaneSpec,
  waiter: LoopWaiter,
  log: (line: string) => void,
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
  for (const p of spec.peers) device.addPeer(p);
  const udpIn = [udpSource(udp, device, device.mtu)];
  const loop = new DataPlane(device, tun, udpIn, waiter);
  return { device, loop };
}
