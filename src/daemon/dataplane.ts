/**
 * The data-plane loop: waits until the TUN or the UDP socket is readable,
 * then drains both in batches through the WireGuard device, and runs the
 * device's timers. Everything between two waits is synchronous, so a burst
 * of traffic costs one thread-pool round trip per batch, not per packet.
 *
 * @module
 */
import type { Poller } from "../../ffi/poll.ts";
import type { TunDevice } from "../../ffi/tun.ts";
import type { UdpSocket } from "../../ffi/udp.ts";
import type { Bind, Device, TunSink } from "../wireguard/device.ts";
import { TRANSPORT_HEADER_SIZE, TRANSPORT_OVERHEAD } from "../wireguard/transport.ts";

/** Packets per recvmmsg/sendmmsg and per TUN drain. */
export const BATCH = 64;
/** Drain rounds between two waits, so timers and the LocalAPI still get turns under load. */
const ROUNDS_PER_WAIT = 32;
/** Longest wait, so a stop request is noticed even without a wake. */
const MAX_WAIT_MS = 1000;

/** A Bind that sends through a UDP socket, retrying briefly when its buffer is full. */
export function udpBind(udp: UdpSocket): Bind {
  return {
    send(bufs, sizes, eps, count, offset) {
      let sent = 0;
      for (let tries = 0; sent < count && tries < 64; tries++) {
        if (sent === 0) sent = udp.sendBatch(bufs, sizes, eps, count, offset);
        else {
          sent += udp.sendBatch(
            bufs.slice(sent),
            sizes.slice(sent),
            eps.slice(sent),
            count - sent,
            offset,
          );
        }
      }
    },
  };
}

/** A TunSink that writes to a TUN device. */
export function tunSink(tun: TunDevice): TunSink {
  return { write: (bufs, sizes, offset, count) => void tun.writeBatch(bufs, sizes, offset, count) };
}

/** Runs a device between a TUN and a UDP socket until stopped. */
export class DataPlane {
  #device: Device;
  #tun: TunDevice;
  #udp: UdpSocket;
  #poller: Poller;
  #stopped = false;
  #done: Promise<void> | null = null;

  /** Binds the pieces; `run()` starts the loop. */
  constructor(device: Device, tun: TunDevice, udp: UdpSocket, poller: Poller) {
    this.#device = device;
    this.#tun = tun;
    this.#udp = udp;
    this.#poller = poller;
  }

  /** Starts the loop; the promise settles when it stops. */
  run(): Promise<void> {
    this.#done ??= this.#loop();
    return this.#done;
  }

  /** Asks the loop to stop and waits for it. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#poller.wake();
    await this.#done;
  }

  async #loop(): Promise<void> {
    const dev = this.#device, tun = this.#tun, udp = this.#udp;
    const tunSize = TRANSPORT_HEADER_SIZE + dev.mtu + TRANSPORT_OVERHEAD + 64;
    const udpSize = Math.max(2048, tunSize + 64);
    const tunBufs = Array.from({ length: BATCH }, () => new Uint8Array(tunSize));
    const tunSizes = new Array<number>(BATCH).fill(0);
    const udpBufs = Array.from({ length: BATCH }, () => new Uint8Array(udpSize));
    const udpSizes = new Array<number>(BATCH).fill(0);
    const udpAddrs = Array.from({ length: BATCH }, () => new Uint8Array(28));
    const fds = [tun.fd, udp.fd];
    while (!this.#stopped) {
      const wait = Math.max(0, Math.min(MAX_WAIT_MS, dev.nextDeadline() - performance.now()));
      await this.#poller.wait(fds, Math.ceil(wait));
      for (let round = 0; round < ROUNDS_PER_WAIT && !this.#stopped; round++) {
        const m = udp.recvBatch(udpBufs, udpSizes, udpAddrs, 0);
        if (m > 0) dev.receivePackets(udpBufs, udpSizes, udpAddrs, m);
        const n = tun.readBatch(tunBufs, tunSizes, TRANSPORT_HEADER_SIZE);
        if (n > 0) dev.sendPackets(tunBufs, tunSizes, TRANSPORT_HEADER_SIZE, n);
        if (m === 0 && n === 0) break;
      }
      dev.tick();
    }
  }
}
