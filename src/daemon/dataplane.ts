/**
 * The data-plane loop: waits until the packet device (the kernel TUN or the
 * netstack) or a datagram source is readable, then drains them in batches
 * through the WireGuard device, and runs the device's timers. Everything between two waits is synchronous, so
 * a burst of traffic costs one thread-pool round trip per batch, not per
 * packet.
 *
 * @module
 */
import type { UdpSocket } from "../../ffi/udp.ts";
import { allocPacketBuffers } from "../crypto/wasm/arena.ts";
import { BATCH, type DatagramSource } from "../net/batch.ts";
import type { PacketDevice } from "../net/packet_device.ts";
import type { Bind, Device, PacketReceiver, TunSink } from "../wireguard/device.ts";
import { TRANSPORT_HEADER_SIZE, TRANSPORT_OVERHEAD } from "../wireguard/transport.ts";

/** Drain rounds between two waits, so timers and the LocalAPI still get turns under load. */
const ROUNDS_PER_WAIT = 32;
/**
 * The loop's longest wait when no device timer is due. A stop wakes the waiter, and whatever
 * hands the device packets outside the loop (a tailnet's DERP) calls {@link DataPlane.wake}
 * for the timers they may arm, so this only bounds how long a loop that missed its wake takes
 * to notice. Idle wake-ups are an idle node's only work: at 1 s they brought 1.2–1.8 MB more of
 * the deno binary's text back between 10 and 70 s after up (a `--wg-config` node: idle RSS
 * 40.7 / 41.2 against 40.1 / 39.3 MB at 70 s, `WARREN_DATAPLANE=worker deno task bench:memory
 * --only wg --later 60`, 2026-12-02).
 */
const MAX_WAIT_MS = 10_000;

/**
 * How the loop waits for readiness: a `Poller` on the main thread (a thread-pool hop
 * per wait, the event loop free meanwhile) or a `BlockingPoller` in a Worker of its own.
 */
export interface LoopWaiter {
  /**
   * Resolves when one of `fds` is readable, the timeout passes or {@link wake} is called: one
   * flag per fd, true for those readable.
   */
  wait(fds: number[], timeoutMs: number): Promise<readonly boolean[]>;
  /**
   * The same wait returning the flags itself, for a waiter that blocks its thread anyway (a
   * Worker's): the loop then takes no promise turn per wake-up, which cost ~10 µs of each
   * wake-up of a thread that had been idle for a few ms (its caches cold).
   */
  waitSync?(fds: number[], timeoutMs: number): readonly boolean[];
  /** Makes a pending wait (or the next) return. */
  wake(): void;
}

/** Packet hooks around the device, for the tailnet features. */
export interface PacketHooks {
  /**
   * Sees each packet read from the packet device before WireGuard; returns true when it
   * consumed the packet (e.g. a query to the quad-100 DNS responder).
   */
  outbound?(buf: Uint8Array, offset: number, len: number): boolean;
  /**
   * Asked after each turn's timers: true ends the loop as a stop would (a tailnet's Worker
   * plane at rest gives its thread back).
   */
  rest?(): boolean;
}

/** A Bind that sends through a UDP socket, retrying briefly when its buffer is full. */
export function udpBind(udp: UdpSocket): Bind {
  return {
    send(bufs, sizes, eps, count, offset) {
      let sent = udp.sendBatch(bufs, sizes, eps, count, offset);
      for (let tries = 0; sent < count && tries < 64; tries++) {
        sent += udp.sendBatch(
          bufs.slice(sent),
          sizes.slice(sent),
          eps.slice(sent),
          count - sent,
          offset,
        );
      }
    },
  };
}

/** A source that hands every datagram of a UDP socket to `receiver`. */
export function udpSource(udp: UdpSocket, receiver: PacketReceiver, mtu: number): DatagramSource {
  const size = Math.max(2048, TRANSPORT_HEADER_SIZE + mtu + TRANSPORT_OVERHEAD + 128);
  // Buffers in the WebAssembly arena: the AEAD seals and opens them without copying.
  const bufs = allocPacketBuffers(BATCH, size);
  const sizes = new Array<number>(BATCH).fill(0);
  const addrs = Array.from({ length: BATCH }, () => new Uint8Array(28));
  return {
    fd: udp.fd,
    get pending() {
      return udp.pending;
    },
    drain() {
      const m = udp.recvBatch(bufs, sizes, addrs, 0);
      if (m > 0) receiver.receivePackets(bufs, sizes, addrs, m);
      return m;
    },
  };
}

/**
 * `pkt` copied to {@linkcode TRANSPORT_HEADER_SIZE} in a buffer with room for WireGuard's header,
 * padding and tag around it, as the loop's buffers have: a packet read outside the loop (while the
 * plane slept) that `Device.sendPackets` seals in place.
 */
export function sendBuffer(pkt: Uint8Array): Uint8Array {
  const buf = new Uint8Array(TRANSPORT_HEADER_SIZE + pkt.length + 16 + TRANSPORT_OVERHEAD);
  buf.set(pkt, TRANSPORT_HEADER_SIZE);
  return buf;
}

/** A TunSink that writes to a packet device. */
export function tunSink(tun: PacketDevice): TunSink {
  return { write: (bufs, sizes, offset, count) => void tun.writeBatch(bufs, sizes, offset, count) };
}

/** Runs a device between a packet device (TUN or netstack) and datagram sources until stopped. */
export class DataPlane {
  #device: Device;
  #tun: PacketDevice;
  #sources: DatagramSource[];
  #poller: LoopWaiter;
  #hooks: PacketHooks;
  #stopped = false;
  #done: Promise<void> | null = null;

  /**
   * Binds the pieces; `run()` starts the loop. Each wait ends at the device's next timer
   * deadline or after `MAX_WAIT_MS` (10 s), whichever is sooner.
   */
  constructor(
    device: Device,
    tun: PacketDevice,
    sources: DatagramSource[],
    poller: LoopWaiter,
    hooks: PacketHooks = {},
  ) {
    this.#device = device;
    this.#tun = tun;
    this.#sources = sources;
    this.#poller = poller;
    this.#hooks = hooks;
  }

  /** Starts the loop; the promise settles when it stops. */
  run(): Promise<void> {
    this.#done ??= this.#loop();
    return this.#done;
  }

  /**
   * Makes the loop take a turn now: for packets given to the device outside it (from DERP),
   * which may have armed a timer sooner than the loop's wait.
   */
  wake(): void {
    this.#poller.wake();
  }

  /** Asks the loop to stop and waits for it. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#poller.wake();
    await this.#done;
  }

  async #loop(): Promise<void> {
    const dev = this.#device, tun = this.#tun, sources = this.#sources, poller = this.#poller;
    // A blocking waiter's loop never awaits below: this lets run() return to its caller first.
    if (poller.waitSync) await null;
    const outbound = this.#hooks.outbound;
    const size = TRANSPORT_HEADER_SIZE + dev.mtu + TRANSPORT_OVERHEAD + 64;
    const bufs = allocPacketBuffers(BATCH, size);
    const sizes = new Array<number>(BATCH).fill(0);
    const fds = [tun.fd, ...sources.map((s) => s.fd)];
    const more = new Array<boolean>(fds.length).fill(false);
    const off = TRANSPORT_HEADER_SIZE;
    while (!this.#stopped) {
      // Part of a TUN super packet or of a UDP GRO message still waiting to be split (or packets
      // the netstack queued since the last read) is work even if no fd is readable.
      const wait = tun.pending || anyPending(sources)
        ? 0
        : Math.max(0, Math.min(MAX_WAIT_MS, dev.nextDeadline() - performance.now()));
      const ready = poller.waitSync
        ? poller.waitSync(fds, Math.ceil(wait))
        : await poller.wait(fds, Math.ceil(wait));
      // Read what poll said is readable, then again only what filled its batch (or left parts
      // pending): a read that finds nothing costs a syscall, and poll reports new arrivals anyway.
      for (let i = 0; i < fds.length; i++) more[i] = ready[i] === true;
      for (let round = 0; round < ROUNDS_PER_WAIT && !this.#stopped; round++) {
        let work = 0;
        for (let i = 0; i < sources.length; i++) {
          const s = sources[i];
          if (!more[i + 1] && !s.pending) continue;
          const m = s.drain();
          work += m;
          more[i + 1] = m >= BATCH;
        }
        if (more[0] || tun.pending) {
          let n = tun.readBatch(bufs, sizes, off);
          work += n;
          more[0] = n >= BATCH;
          if (n > 0 && outbound) n = compact(bufs, sizes, off, n, outbound);
          if (n > 0) dev.sendPackets(bufs, sizes, off, n);
        }
        if (work === 0) break;
      }
      dev.tick();
      if (this.#hooks.rest?.()) break;
    }
  }
}

function anyPending(sources: DatagramSource[]): boolean {
  for (const s of sources) if (s.pending) return true;
  return false;
}

/** Drops the packets `consumed` takes from the batch, keeping order; returns the new count. */
function compact(
  bufs: Uint8Array[],
  sizes: number[],
  off: number,
  n: number,
  consumed: (buf: Uint8Array, offset: number, len: number) => boolean,
): number {
  let kept = 0;
  for (let i = 0; i < n; i++) {
    if (consumed(bufs[i], off, sizes[i])) continue;
    if (kept !== i) {
      // Swap so every slot keeps a buffer of its own for the next read.
      const b = bufs[kept];
      bufs[kept] = bufs[i];
      bufs[i] = b;
      sizes[kept] = sizes[i];
    }
    kept++;
  }
  return kept;
}
